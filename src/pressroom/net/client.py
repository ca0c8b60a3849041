"""A safe HTTP client for URL downloads, webhook deliveries and a render's network requests.

Every hop (the first URL and each redirect) goes through :class:`NetworkGate`; the connection is made
to the IP address the gate validated - the URL's host is rewritten to that IP and the original name is
sent as the Host header and as the TLS SNI name (certificates are still verified against the name) -
so a DNS answer that changes between check and connect (DNS rebinding) cannot redirect us inward.
Bodies are streamed with a byte cap, and the whole exchange has one deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from pressroom.core.errors import PayloadTooLarge, PressroomError, UrlFetchFailed
from pressroom.net.decoding import BoundedDecoder, UnsupportedEncoding
from pressroom.net.gate import NetworkGate, Purpose, Target

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers we own on every hop; a caller's values would defeat pinning or framing.
_OWNED_REQUEST_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Credentials must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
FETCH_FAILED = "URL_FETCH_FAILED"


@dataclass(frozen=True)
class FetchResult:
    status: int
    headers: httpx.Headers
    body: bytes
    final_url: str


def fetch_failed(url: str, reason: str) -> PressroomError:
    return UrlFetchFailed(f"Could not fetch {url[:200]}: {reason}", details={"url": url, "reason": reason})


class SafeHttpClient:
    """httpx with redirects followed by hand (each hop re-checked) and connections pinned to checked IPs."""

    def __init__(
        self,
        gate: NetworkGate,
        *,
        timeout_s: float = 15.0,
        max_bytes: int = 50 * 1024 * 1024,
        max_redirects: int = 5,
        user_agent: str = "Pressroom",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.gate = gate
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._user_agent = user_agent
        # trust_env=False: an HTTP(S)_PROXY from the environment would connect by name and undo pinning.
        # No keep-alive: a pooled connection is keyed by IP, and must not carry another host's TLS session.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            transport=transport,
        )

    @classmethod
    def from_settings(cls, net: object, gate: NetworkGate | None = None) -> SafeHttpClient:
        return cls(
            gate or NetworkGate.from_settings(net),
            timeout_s=float(getattr(net, "timeout_s", 15.0)),
            max_bytes=int(getattr(net, "download_max_bytes", 50 * 1024 * 1024)),
            max_redirects=int(getattr(net, "max_redirects", 5)),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> SafeHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(
        self,
        url: str,
        *,
        purpose: Purpose,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        max_bytes: int | None = None,
        follow_redirects: bool = True,
        timeout_s: float | None = None,
    ) -> FetchResult:
        """Fetch ``url``; raises UrlForbidden, PayloadTooLarge or Unprocessable(URL_FETCH_FAILED)."""
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s):
                return await self._follow(
                    url, purpose, method.upper(), dict(headers or {}), content, max_bytes, follow_redirects
                )
        except TimeoutError:
            raise fetch_failed(url, "timed out") from None

    async def _follow(
        self,
        url: str,
        purpose: Purpose,
        method: str,
        headers: dict[str, str],
        content: bytes | None,
        max_bytes: int | None,
        follow_redirects: bool,
    ) -> FetchResult:
        cap = self.max_bytes if max_bytes is None else max_bytes
        for _hop in range(self.max_redirects + 1):
            target = await self.gate.target(url, purpose)
            result = await self._send(target, method, headers, content, cap)
            location = result.headers.get("location")
            if not follow_redirects or result.status not in REDIRECT_STATUSES or not location:
                return result
            next_url = urljoin(url, location)
            method, content = _redirect_method(result.status, method, content)
            if _origin(next_url) != _origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            url = next_url
        raise fetch_failed(url, f"more than {self.max_redirects} redirects")

    async def _send(
        self, target: Target, method: str, headers: dict[str, str], content: bytes | None, cap: int
    ) -> FetchResult:
        last_error: Exception | None = None
        for address in target.addresses:  # all were validated; try the next one if a connect fails
            request = self._pinned_request(target, str(address), method, headers, content)
            try:
                return await self._exchange(request, target.url, cap)
            except httpx.ConnectError as exc:
                last_error = exc
            except httpx.HTTPError as exc:
                raise fetch_failed(target.url, type(exc).__name__) from None
        raise fetch_failed(target.url, f"cannot connect ({last_error})")

    def _pinned_request(
        self, target: Target, ip: str, method: str, headers: dict[str, str], content: bytes | None
    ) -> httpx.Request:
        parts = urlsplit(target.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        literal = f"[{ip}]" if ":" in ip else ip
        url = httpx.URL(f"{target.scheme}://{literal}:{target.port}{path}")
        sent = {k: v for k, v in headers.items() if k.lower() not in _OWNED_REQUEST_HEADERS}
        sent.setdefault("User-Agent", self._user_agent)
        sent["Host"] = target.host_header
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        return self._client.build_request(method, url, headers=sent, content=content, extensions=extensions)

    async def _exchange(self, request: httpx.Request, url: str, cap: int) -> FetchResult:
        response = await self._client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _too_large(url, cap)
            try:  # decoded here, under the cap (httpx would inflate each received chunk whole)
                decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
                body = bytearray()
                async for raw in response.aiter_raw():
                    for piece in decoder.feed(raw):
                        body += piece
                        if len(body) > cap:
                            raise _too_large(url, cap)
            except UnsupportedEncoding as exc:
                raise fetch_failed(url, f"unsupported Content-Encoding ({exc})") from None
        finally:
            await response.aclose()
        return FetchResult(response.status_code, response.headers, bytes(body), url)


def _too_large(url: str, cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Response from {url[:200]} exceeds {cap} bytes", details={"url": url, "max_bytes": cap})


def _redirect_method(status: int, method: str, content: bytes | None) -> tuple[str, bytes | None]:
    """Browser semantics: 303 (and 301/302 after POST) turn into a body-less GET; 307/308 replay."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET", None
    return method, content


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
