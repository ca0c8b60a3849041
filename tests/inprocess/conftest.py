"""The whole API in this process: ``create_app`` on a container built with the fakes that live beside each
capability protocol (rendering/fake.py, storage/memory.py, pdf/inprocess.py), SQLite in a temporary directory, the
embedded job queue running in threads. No browser, no server process: what these tests need is here.

One app per test module (building it costs the migrations); every test isolates itself by working in
accounts of its own (:meth:`App.tenant`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from pressroom.app import create_app
from pressroom.bootstrap import Container, Engines, build
from pressroom.config import JobSettings, NetSettings, Settings
from pressroom.db.migrate import upgrade
from pressroom.pdf.inprocess import InProcessPdfEngine
from pressroom.rendering.fake import FakeRenderer
from pressroom.storage.memory import MemoryBlobStore
from tests.support import WebhookReceiver

FINAL = ("completed", "failed", "canceled")


@dataclass
class Tenant:
    """An account with a live key, and a client that sends it."""

    account_id: str
    name: str
    key: str
    client: TestClient

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **extra}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(path, headers=self.headers(**kwargs.pop("headers", {})), **kwargs)
        return response

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.client.post(path, headers=self.headers(**kwargs.pop("headers", {})), **kwargs)
        return response

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.client.patch(path, headers=self.headers(**kwargs.pop("headers", {})), **kwargs)
        return response

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.client.delete(path, headers=self.headers(**kwargs.pop("headers", {})), **kwargs)
        return response

    def wait_for_job(self, job_id: str, timeout_s: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in FINAL:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout_s}s")


@dataclass
class App:
    client: TestClient
    container: Container
    settings: Settings
    chromium: FakeRenderer
    weasyprint: FakeRenderer
    store: MemoryBlobStore
    receiver: WebhookReceiver

    def tenant(self, plan: str = "free", role: str = "standard", mode: str = "live") -> Tenant:
        name = f"t-{uuid.uuid4().hex[:10]}"
        account, _ = self.container.accounts.get_or_create(name, plan=plan)
        issued = self.container.keys.create(account.id, mode=mode, role=role)  # type: ignore[arg-type]
        return Tenant(account_id=account.id, name=name, key=issued.secret, client=self.client)

    def fetch(self, url: str) -> httpx.Response:
        """GET a URL the API handed out (a signed download link names the configured public host)."""
        parts = urlsplit(url)
        response: httpx.Response = self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        return response


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": data_dir,
        "secret_key": "inprocess-" + "k" * 40,
        # Short polls: a job enqueued by a test is picked up at once, chores (webhook outbox) run often.
        "jobs": JobSettings(workers=2, poll_interval_s=0.05),
        **overrides,
    }
    return Settings(**values)


def start_app(data_dir: Path, **overrides: Any) -> Iterator[App]:
    receiver = WebhookReceiver()
    # Webhooks and URL sources may reach the loopback receiver (a thread here), nothing else private.
    overrides.setdefault("net", NetSettings(allow_private=[f"127.0.0.1:{receiver.port}"]))
    settings = make_settings(data_dir, **overrides)
    upgrade(settings.resolved_database_url)
    chromium, weasyprint, store = FakeRenderer("chromium"), FakeRenderer("weasyprint"), MemoryBlobStore()
    # The in-process PDF engine: the real pipeline without sandbox processes (pdf/inprocess.py).
    engines = Engines(renderers={"chromium": chromium, "weasyprint": weasyprint}, store=store, pdf=InProcessPdfEngine())
    container = build(settings, engines)
    app = create_app(settings, container=container)
    with receiver, TestClient(app) as client:
        yield App(client, container, settings, chromium, weasyprint, store, receiver)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from start_app(tmp_path_factory.mktemp("inprocess"))


@pytest.fixture
def tenant(app: App) -> Tenant:
    return app.tenant()


@pytest.fixture
def other(app: App) -> Tenant:
    """A second tenant: what the first owns must be invisible to it (404, never 403)."""
    return app.tenant()
