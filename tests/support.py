"""Helpers shared by the test suites: free ports, a server process, a webhook receiver, poppler."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("PRESSROOM_RENDER__CHROMIUM_PATH", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def have_chromium() -> bool:
    return Path(CHROMIUM).exists()


def have_poppler() -> bool:
    return shutil.which("pdfinfo") is not None and shutil.which("pdftotext") is not None


def pdftotext(pdf: bytes, *extra: str) -> str:
    result = subprocess.run(["pdftotext", "-layout", *extra, "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def pdfinfo(pdf: bytes) -> dict[str, str]:
    result = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    info: dict[str, str] = {}
    for line in result.stdout.decode().splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def page_size_pt(pdf: bytes) -> tuple[float, float]:
    size = pdfinfo(pdf)["Page size"]  # e.g. "595.92 x 842.88 pts (A4)"
    width, _, rest = size.partition(" x ")
    return float(width), float(rest.split()[0])


def postgres_url() -> str | None:
    """A reachable PostgreSQL (the CI machine runs one on 127.0.0.1:5432, trust auth), else None."""
    url = os.environ.get("PRESSROOM_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2):
            return url
    except Exception:
        return None


def fresh_postgres_database(base_url: str) -> str:
    import psycopg

    name = f"pressroom_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class ServerProcess:
    """`pressroom serve` as a real process on a free loopback port, with its own data dir."""

    data_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
        env.update(
            {
                "PRESSROOM_DATA_DIR": str(self.data_dir),
                "PRESSROOM_ENV": "test",
                "PRESSROOM_PUBLIC_URL": self.url,
                **self.env_extra,
            }
        )
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "pressroom"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def create_key(self, account: str, mode: str = "live") -> str:
        out = self.cli("keys", "create", "--account", account, "--mode", mode)
        return out.stdout.strip().splitlines()[-1]

    def start(self, timeout_s: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "pressroom"), "serve", "--port", str(self.port), "--log-level", "warning"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start in {timeout_s}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """A loopback HTTP server recording every POST; answers with a configurable status sequence."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[Received] = []
        self.statuses = list(statuses or [])
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), b""))
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", "6")
                self.end_headers()
                self.wfile.write(b"SECRET")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout_s: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.1)
        raise AssertionError(f"expected {count} requests, got {len(self.received)}")


@contextmanager
def running_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=data_dir, env_extra=env or {})
    server.start()
    try:
        yield server
    finally:
        server.stop()
