"""Encoded response bodies are decoded under the byte cap (issue #12, item 3): a 5 KB response sent as
``Content-Encoding: deflate, deflate`` inflates to 2 GiB, and httpx decoded each received chunk whole (one
2 GiB chunk, 4 GB peak RSS) before the cap was compared. The fetch runs in a forked child allowed 64 MiB of
address space beyond its own: refused with 413, never a MemoryError."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest

from pressroom.core.errors import PayloadTooLarge, UrlFetchFailed
from tests.bomb_support import MIB, outcome_within_memory, zlib_spaces
from tests.unit.net.test_net_client import fetch, gate_for

BODIES: dict[str, tuple[str, bytes]] = {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        encoding, body = BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    BODIES.update(
        {
            "/deflate-deflate": ("deflate, deflate", zlib.compress(zlib_spaces(2048), 9)),
            "/gzip": ("gzip", gzip.compress(b" " * (64 * MIB), 9)),
            "/br": ("br", brotli.compress(b" " * (64 * MIB), quality=5)),
            "/plain-gzip": ("gzip", gzip.compress(b"hello " * 1000)),
            "/plain-br": ("br", brotli.compress(b"hello " * 1000)),
            "/identity": ("identity", b"as is"),
            "/unknown": ("compress", b"\x1f\x9d..."),
            "/corrupt": ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20),
        }
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: Any, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.mark.parametrize("path", ["/deflate-deflate", "/gzip", "/br"])
def test_encoded_bombs_stop_at_the_cap_within_64_mib(server: Any, path: str) -> None:
    gate = gate_for(type("S", (), {"port": server.server_address[1]})())
    with pytest.raises(PayloadTooLarge):
        fetch(gate, _url(server, path), max_bytes=4 * MIB)
    call = lambda: fetch(gate, _url(server, path), max_bytes=4 * MIB)  # noqa: E731
    assert outcome_within_memory(call, 64 * MIB) == "PayloadTooLarge"


def test_ordinary_encoded_bodies_are_decoded(server: Any) -> None:
    gate = gate_for(type("S", (), {"port": server.server_address[1]})())
    assert fetch(gate, _url(server, "/plain-gzip")).body == b"hello " * 1000
    assert fetch(gate, _url(server, "/plain-br")).body == b"hello " * 1000
    assert fetch(gate, _url(server, "/identity")).body == b"as is"


@pytest.mark.parametrize("path", ["/unknown", "/corrupt"])
def test_unknown_or_corrupt_encodings_fail_the_fetch(server: Any, path: str) -> None:
    gate = gate_for(type("S", (), {"port": server.server_address[1]})())
    with pytest.raises(UrlFetchFailed):
        fetch(gate, _url(server, path))
