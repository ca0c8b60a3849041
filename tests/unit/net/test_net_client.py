"""SafeHttpClient against real loopback servers: pinning, redirects re-checked per hop, size cap, timeout."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pressroom.core.errors import PayloadTooLarge, PressroomError, UrlForbidden
from pressroom.net.client import FetchResult, SafeHttpClient
from pressroom.net.gate import IPAddress, NetworkGate


class Recorder(ThreadingHTTPServer):
    """Loopback server: records requests; paths pick the behaviour (see _Handler)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[dict[str, Any]] = []
        self.redirects: dict[str, str] = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: Recorder
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.hits.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        path = self.path.split("?")[0]
        if path in self.server.redirects:
            status = 303 if path.endswith("/see-other") else 302
            return self._send(status, b"", {"Location": self.server.redirects[path]})
        if path == "/big":
            return self._send(200, b"x" * 5000)
        if path == "/big-chunked":
            return self._chunked(b"y" * 1000, 5)
        if path == "/slow":
            time.sleep(2)
        self._send(200, f"{self.command} {path} host={self.headers.get('Host')}".encode())

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunked(self, chunk: bytes, count: int) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(count):
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve() -> Iterator[Recorder]:
    server = Recorder()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def allowed() -> Iterator[Recorder]:
    """Stands for a public host: its host:port is in allow_private."""
    yield from _serve()


@pytest.fixture
def internal() -> Iterator[Recorder]:
    """Stands for an internal service: must never be reached."""
    yield from _serve()


def fetch(gate: NetworkGate, url: str, **kwargs: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with SafeHttpClient(gate, timeout_s=kwargs.pop("timeout_s", 5.0)) as client:
            return await client.fetch(url, purpose=kwargs.pop("purpose", "download"), **kwargs)

    return asyncio.run(run())


def gate_for(*servers: Recorder, **kwargs: Any) -> NetworkGate:
    return NetworkGate(allow_private=[f"127.0.0.1:{s.port}" for s in servers], **kwargs)


def test_fetch_allowed(allowed: Recorder) -> None:
    result = fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/hello?x=1")
    assert result.status == 200
    assert result.body == f"GET /hello host=127.0.0.1:{allowed.port}".encode()
    assert result.final_url == f"http://127.0.0.1:{allowed.port}/hello?x=1"
    assert allowed.hits[0]["path"] == "/hello?x=1"


def test_private_target_refused_without_a_connection(internal: Recorder) -> None:
    with pytest.raises(UrlForbidden):
        fetch(NetworkGate(), f"http://127.0.0.1:{internal.port}/")
    assert internal.hits == []


def test_redirect_to_a_port_not_allowed_is_refused(allowed: Recorder, internal: Recorder) -> None:
    allowed.redirects["/go"] = f"http://127.0.0.1:{internal.port}/secret"
    with pytest.raises(UrlForbidden) as info:
        fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/go")
    assert f":{internal.port}/secret" in info.value.details["url"]
    assert internal.hits == []
    assert len(allowed.hits) == 1


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/", "gopher://x/"],
)
def test_redirect_to_forbidden_targets(allowed: Recorder, location: str) -> None:
    allowed.redirects["/go"] = location
    with pytest.raises(UrlForbidden):
        fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/go")


def test_redirects_between_allowed_hosts(allowed: Recorder, internal: Recorder) -> None:
    allowed.redirects["/a"] = "/b"  # relative
    allowed.redirects["/b"] = f"http://127.0.0.1:{internal.port}/c"
    result = fetch(gate_for(allowed, internal), f"http://127.0.0.1:{allowed.port}/a")
    assert result.status == 200 and result.final_url == f"http://127.0.0.1:{internal.port}/c"
    assert [h["path"] for h in allowed.hits] == ["/a", "/b"]


def test_redirect_not_followed_when_asked(allowed: Recorder) -> None:
    allowed.redirects["/go"] = "file:///etc/passwd"
    result = fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/go", follow_redirects=False)
    assert result.status == 302 and result.headers["location"] == "file:///etc/passwd"


def test_too_many_redirects(allowed: Recorder) -> None:
    allowed.redirects["/loop"] = "/loop"
    with pytest.raises(PressroomError) as info:
        fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/loop")
    assert info.value.code == "URL_FETCH_FAILED" and info.value.status == 422
    assert len(allowed.hits) == 6  # the first request and 5 redirects


def test_post_then_303_becomes_get_and_drops_credentials(allowed: Recorder, internal: Recorder) -> None:
    allowed.redirects["/see-other"] = f"http://127.0.0.1:{internal.port}/done"
    result = fetch(
        gate_for(allowed, internal),
        f"http://127.0.0.1:{allowed.port}/see-other",
        method="POST",
        content=b'{"a": 1}',
        headers={"Authorization": "Bearer secret", "Content-Type": "application/json"},
    )
    assert result.body.startswith(b"GET /done")
    assert allowed.hits[0]["body"] == b'{"a": 1}'
    assert "Authorization" not in internal.hits[0]["headers"]


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_size_cap(allowed: Recorder, path: str) -> None:
    with pytest.raises(PayloadTooLarge) as info:
        fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}{path}", max_bytes=2000)
    assert info.value.status == 413


def test_under_the_cap(allowed: Recorder) -> None:
    assert len(fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/big", max_bytes=5000).body) == 5000


def test_timeout(allowed: Recorder) -> None:
    started = time.perf_counter()
    with pytest.raises(PressroomError) as info:
        fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/slow", timeout_s=0.5)
    assert info.value.details["reason"] == "timed out"
    assert time.perf_counter() - started < 1.5


def test_connection_is_pinned_to_the_checked_address(allowed: Recorder) -> None:
    """DNS rebinding: the resolver answers a public-then-private pair of lookups; we resolve once and
    connect to what was checked, sending the original name as Host."""
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [ipaddress.ip_address("127.0.0.1" if len(calls) == 1 else "10.0.0.1")]

    gate = NetworkGate(allow_private=[f"pinned.test:{allowed.port}"], resolver=rebinding)
    result = fetch(gate, f"http://pinned.test:{allowed.port}/x")
    assert result.body == f"GET /x host=pinned.test:{allowed.port}".encode()
    assert calls == ["pinned.test"]


def test_environment_proxies_are_ignored(allowed: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.255.255.1:3128")
    assert fetch(gate_for(allowed), f"http://127.0.0.1:{allowed.port}/", timeout_s=2).status == 200


def test_from_settings() -> None:
    from pressroom.config import NetSettings

    client = SafeHttpClient.from_settings(NetSettings(download_max_bytes=123, timeout_s=3))
    assert client.max_bytes == 123 and client.timeout_s == 3 and client.max_redirects == 5
    asyncio.run(client.aclose())
