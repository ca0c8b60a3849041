"""Shared fixtures of the engine suites: one engine loop, a warm Chromium and a WeasyPrint pool for the
session, and loopback "canary" servers that count every connection a render might make."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pressroom.aio import LoopThread
from pressroom.config import NetSettings, default_chromium_path
from pressroom.net.gate import NetworkGate
from pressroom.rendering.chromium import ChromiumRenderer
from pressroom.rendering.weasyprint import WeasyPrintRenderer

CHROMIUM = default_chromium_path()
CANARY_TEXT = "CANARY-SECRET-CONTENT"


Route = tuple[int, dict[str, str], bytes]


class Canary(ThreadingHTTPServer):
    """A loopback HTTP server that counts connections and records request lines; answers CANARY_TEXT,
    or what ``routes`` (path -> status, headers, body) says for a path."""

    daemon_threads = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        family: socket.AddressFamily = socket.AF_INET,
        routes: dict[str, Route] | None = None,
    ) -> None:
        self.address_family = family
        super().__init__((host, 0), _CanaryHandler)
        self.routes = routes or {}
        self.connections = 0
        self.hits: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True


class _CanaryHandler(BaseHTTPRequestHandler):
    server: Canary

    def _answer(self) -> None:
        self.server.hits.append(f"{self.command} {self.path}")
        default: Route = (200, {}, CANARY_TEXT.encode())
        status, headers, body = self.server.routes.get(self.path.split("?")[0], default)
        self.send_response(status)
        for name, value in {"Content-Type": "text/css", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(server: Canary) -> Iterator[Canary]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def canary() -> Iterator[Canary]:
    yield from serve(Canary())


@pytest.fixture(scope="session")
def canary6() -> Iterator[Canary | None]:
    """The same on [::1] (None when the machine has no IPv6 loopback)."""
    try:
        server = Canary("::1", socket.AF_INET6)
    except OSError:
        yield None
        return
    yield from serve(server)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread("test-engines")
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def chromium(loop_thread: LoopThread) -> Iterator[ChromiumRenderer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    renderer = ChromiumRenderer(executable_path=CHROMIUM, concurrency=2, queue_size=8, gate=NetworkGate())
    loop_thread.run(renderer.start(), 60)
    yield renderer
    loop_thread.run(renderer.close(), 60)


@pytest.fixture(scope="session")
def weasy(loop_thread: LoopThread) -> Iterator[WeasyPrintRenderer]:
    renderer = WeasyPrintRenderer(workers=2, queue_size=4, net=NetSettings())
    loop_thread.run(renderer.start(), 120)
    yield renderer
    loop_thread.run(renderer.close(), 60)
