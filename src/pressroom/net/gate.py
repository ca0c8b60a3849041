"""The network gate: the one place that decides whether Pressroom may reach a URL.

Renders (every sub-request a page makes), URL downloads and webhook deliveries all ask this gate first.
It refuses non-http(s) schemes, credentials in URLs, odd IPv4 spellings that hide loopback, and any host
for which *one* resolved address is loopback, private, link-local (cloud metadata), CGNAT, multicast,
unspecified or otherwise not globally routable. The caller then connects to the addresses the gate
returned (see :mod:`pressroom.net.client`), so DNS cannot change its answer between check and connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pressroom.core.errors import UrlForbidden

Purpose = Literal["render", "download", "webhook"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

PURPOSES: frozenset[str] = frozenset({"render", "download", "webhook"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Checked in order; the first match names the refusal. Anything not listed that Python does not call
# globally routable is refused too (see _address_reason).
_BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("169.254.169.254/32", "cloud metadata address"),
        ("0.0.0.0/8", "unspecified address"),
        ("127.0.0.0/8", "loopback address"),
        ("10.0.0.0/8", "private address"),
        ("172.16.0.0/12", "private address"),
        ("192.168.0.0/16", "private address"),
        ("100.64.0.0/10", "carrier-grade NAT address"),
        ("169.254.0.0/16", "link-local address"),
        ("224.0.0.0/4", "multicast address"),
        ("240.0.0.0/4", "reserved address"),
        ("192.0.0.0/24", "reserved address"),
        ("192.0.2.0/24", "documentation address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("192.88.99.0/24", "reserved address"),
    )
)
_BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("fc00::/7", "private address (ULA)"),
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),
        ("ff00::/8", "multicast address"),
        ("64:ff9b:1::/48", "reserved address"),
        ("100::/64", "reserved address"),
        ("2001:db8::/32", "documentation address"),
        ("::/8", "reserved address"),  # includes the deprecated IPv4-compatible ::a.b.c.d
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# Characters a browser strips or reinterprets (\ is / in WHATWG URLs): refuse rather than guess.
_SUSPICIOUS = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class Target:
    """A URL the gate accepted, with the addresses the caller must connect to."""

    url: str
    scheme: str
    host: str  # normalized: lowercase IDNA name, dotted IPv4, or compressed IPv6 (no brackets)
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def refuse(url: str, reason: str) -> UrlForbidden:
    return UrlForbidden(f"URL refused ({reason}): {url[:200]}", details={"url": url[:2000], "reason": reason})


def address_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be reached, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if embedded is not None:
            reason = address_reason(embedded)
            return f"{reason} (IPv4 inside IPv6)" if reason else None
        table: Iterable[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = _BLOCKED_V6
    else:
        table = _BLOCKED_V4
    for network, reason in table:
        if ip in network:
            return reason
    return None if ip.is_global else "non-public address"


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one tunnels to (mapped, NAT64, 6to4, Teredo), whose rules then apply."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client address is the one traffic ends up at
    return None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """WHATWG/inet_aton IPv4 parsing: 2130706433, 0x7f.1, 017700000001, 127.1 are all 127.0.0.1.

    Returns None when ``host`` is not meant as an IPv4 address (its last label is not a number);
    raises ValueError when it looks like one but is invalid, since a browser would reject it too.
    """
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if not _is_number(labels[-1]):
        return None
    if len(labels) > 4:
        raise ValueError("too many IPv4 parts")
    numbers = [_ipv4_number(label) for label in labels]
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError("IPv4 part out of range")
    value = last
    for index, number in enumerate(head):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _is_number(label: str) -> bool:
    if label[:2].lower() == "0x":
        return all(c in "0123456789abcdefABCDEF" for c in label[2:])
    return label != "" and label.isascii() and label.isdigit()


def _ipv4_number(label: str) -> int:
    if label == "":
        raise ValueError("empty IPv4 part")
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)  # raises ValueError on 8/9, like inet_aton
    return int(label, 10)


def normalize_host(host: str) -> str | IPAddress:
    """The canonical host: an IP address object for literals, else a lowercase ASCII (IDNA) name."""
    if host.startswith("[") and host.endswith("]"):
        literal = host[1:-1]
        if "%" in literal:
            raise ValueError("IPv6 zone identifiers are not allowed")
        return ipaddress.IPv6Address(literal)
    host = host.lower()
    ipv4 = parse_ipv4(host)
    if ipv4 is not None:
        return ipv4
    name = host.rstrip(".")
    if not name.isascii():
        name = name.encode("idna").decode("ascii")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError("invalid host name")
    return name


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every A and AAAA record of ``host`` (the OS resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, IPAddress] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        seen.setdefault(address, ipaddress.ip_address(address))
    return list(seen.values())


class NetworkGate:
    """Decides whether a URL may be fetched for a purpose, and returns the addresses to connect to."""

    def __init__(
        self,
        *,
        render_public_hosts: Iterable[str] = (),
        allow_private: Iterable[str] = (),
        resolver: Resolver | None = None,
        resolve_timeout_s: float = 5.0,
    ) -> None:
        self.render_public_hosts = tuple(h.strip().lower().rstrip(".") for h in render_public_hosts)
        self.allow_private = frozenset(_normalize_host_port(entry) for entry in allow_private)
        self._resolve = resolver or system_resolver
        self._resolve_timeout_s = resolve_timeout_s

    @classmethod
    def from_settings(cls, net: object, *, resolver: Resolver | None = None) -> NetworkGate:
        """Build from a NetSettings-like object (``render_public_hosts``, ``allow_private``)."""
        return cls(
            render_public_hosts=getattr(net, "render_public_hosts", ()),
            allow_private=getattr(net, "allow_private", ()),
            resolver=resolver,
        )

    async def check(self, url: str, purpose: Purpose) -> list[IPAddress]:
        """The addresses ``url`` may be fetched from; raises UrlForbidden otherwise."""
        return list((await self.target(url, purpose)).addresses)

    async def target(self, url: str, purpose: Purpose) -> Target:
        scheme, host, port = self.parse(url, purpose)
        if isinstance(host, str):
            addresses = await self._resolve_all(url, host, port)
            host_text = host
        else:
            addresses = [host]
            host_text = str(host)
        if f"{host_text}:{port}" not in self.allow_private:
            verb = "resolves to" if isinstance(host, str) else "is"
            for address in addresses:
                reason = address_reason(address)
                if reason is not None:
                    raise refuse(url, f"{host_text} {verb} a {reason}")
        return Target(url, scheme, host_text, port, tuple(addresses))

    def parse(self, url: str, purpose: Purpose) -> tuple[str, str | IPAddress, int]:
        """Static checks (no DNS): scheme, userinfo, host syntax, port and the render host allow-list."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        if _SUSPICIOUS.search(url):
            raise refuse(url, "whitespace, control character or backslash in URL")
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            raise refuse(url, "malformed URL") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise refuse(url, f"scheme {scheme or '(none)'!r} is not allowed")
        netloc = parts.netloc
        if "@" in netloc:
            raise refuse(url, "credentials in URL")
        host_part, port = _split_port(url, netloc, scheme)
        try:
            host = normalize_host(host_part)
        except ValueError as exc:
            raise refuse(url, f"invalid host: {exc}") from None
        if purpose == "render" and not self._render_host_allowed(str(host)):
            raise refuse(url, f"host {host} is not in render_public_hosts")
        return scheme, host, port

    def _render_host_allowed(self, host: str) -> bool:
        for pattern in self.render_public_hosts:
            if pattern == "*" or pattern == host:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False

    async def _resolve_all(self, url: str, host: str, port: int) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self._resolve_timeout_s):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError, UnicodeError):
            raise refuse(url, f"host {host} does not resolve") from None
        if not addresses:
            raise refuse(url, f"host {host} does not resolve")
        return addresses


def _split_port(url: str, netloc: str, scheme: str) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise refuse(url, "invalid IPv6 literal")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
    else:
        host, _, port_text = netloc.partition(":")
        rest = f":{port_text}" if _ else ""
    if not host:
        raise refuse(url, "no host")
    if rest in ("", ":"):
        return host, DEFAULT_PORTS[scheme]
    if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
        raise refuse(url, "invalid port")
    return host, int(rest[1:])


def _normalize_host_port(entry: str) -> str:
    """'LocalHost:8080' / '[::1]:80' -> the form Target uses ('localhost:8080', '::1:80')."""
    host, _, port = entry.strip().rpartition(":")
    normalized = normalize_host(host)
    return f"{normalized}:{int(port)}"
