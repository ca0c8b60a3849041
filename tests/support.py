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

from pressroom.config import default_chromium_path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("PRESSROOM_RENDER__CHROMIUM_PATH") or default_chromium_path()


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
    serve_args: list[str] = field(default_factory=list)  # e.g. ["--no-worker"]

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
            [
                str(VENV_BIN / "pressroom"),
                *("serve", "--port", str(self.port), "--log-level", "warning", *self.serve_args),
            ],
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


# -- scale-out: backing services and worker processes ------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(available: bool, reason: str) -> None:
    """Skip with ``reason`` when a backing service is absent; in CI its absence is a failure."""
    import pytest

    if available:
        return
    if in_ci():
        pytest.fail(f"CI: {reason}")
    pytest.skip(reason)


def port_answers(port: int, host: str = "127.0.0.1", timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"{what} not reached within {timeout_s}s")


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class MotoServer:
    """moto's standalone S3 server on a free loopback port (the tests' S3-compatible store)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"moto-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def storage_url(self, bucket: str) -> str:
        return f"s3://{bucket}?endpoint_url={self.endpoint}&region=us-east-1"

    def start(self, timeout_s: float = 30) -> MotoServer:
        # .ci/run starts one S3 server for the whole run; buckets are unique per test, so sharing is safe.
        shared = os.environ.get("PRESSROOM_TEST_S3_ENDPOINT")
        if shared:
            self.port = int(shared.rsplit(":", 1)[1].strip("/"))
            if port_answers(self.port):
                return self
            raise RuntimeError(f"PRESSROOM_TEST_S3_ENDPOINT={shared} does not answer")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **S3_ENV},
                start_new_session=True,
            )
        wait_until(lambda: port_answers(self.port), timeout_s, what=f"moto server on :{self.port}")
        return self

    def stop(self) -> None:
        _stop_process(self.process)


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of our own on a free port: chaos tests restart it without touching the shared one."""

    def __init__(self, work_dir: Path) -> None:
        self.port = free_port()
        self.work_dir = work_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 20) -> PrivateRedis:
        binary = redis_server_binary()
        assert binary is not None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.work_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: port_answers(self.port), timeout_s, what=f"redis on :{self.port}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop_process(self.process, sig)


def shared_redis_url() -> str | None:
    return "redis://127.0.0.1:6379/0" if port_answers(6379) else None


def rabbitmq_vhost() -> str | None:
    """A fresh vhost on the machine's RabbitMQ (guest/guest), so that test runs never share queues."""
    if not port_answers(5672) or shutil.which("rabbitmqctl") is None:
        return None
    vhost = f"pressroom-test-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
        subprocess.run(
            ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    return vhost


def drop_rabbitmq_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60, check=False)


def _stop_process(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@dataclass
class WorkerProcess:
    """`pressroom worker` as a real process (Celery worker, or embedded poller), sharing a server's env."""

    data_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=lambda: ["--concurrency", "1"])
    name: str = field(default_factory=lambda: f"w{uuid.uuid4().hex[:6]}")
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    python_entry: list[str] | None = None  # run through another entry point (tests that patch operations)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
        env.update({"PRESSROOM_DATA_DIR": str(self.data_dir), "PRESSROOM_ENV": "test", **self.env_extra})
        return env

    def start(self, timeout_s: float = 60) -> WorkerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"worker-{self.name}.log"
        log = self.log_path.open("ab")
        entry = self.python_entry or [str(VENV_BIN / "pressroom")]
        self.process = subprocess.Popen(
            [*entry, "worker", "--hostname", f"{self.name}@%h", "--log-level", "warning", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: "pressroom worker ready" in self.log() or self.process is None or self.process.poll() is not None,
            timeout_s,
            what=f"worker {self.name} ready",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def pids(self) -> set[int]:
        """The worker's process group: the Celery main process and its pool children."""
        if self.process is None:
            return set()
        out = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True, check=False)
        return {int(pid) for pid in out.stdout.split()}

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30) -> None:
        _stop_process(self.process, sig, timeout_s)
