"""End-to-end fixtures: a real `pressroom serve` process per backend, driven over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support import (
    ServerProcess,
    WebhookReceiver,
    fresh_postgres_database,
    have_chromium,
    postgres_url,
)

pytestmark = pytest.mark.skipif(not have_chromium(), reason="Chromium is not installed (/usr/bin/chromium)")


@dataclass
class Stack:
    server: ServerProcess
    receiver: WebhookReceiver
    backend: str

    def client(self, key: str | None, **headers: str) -> httpx.Client:
        if key:
            headers = {"Authorization": f"Bearer {key}", **headers}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=60)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env: dict[str, str] = {}
    if request.param == "postgres":
        base = postgres_url()
        if base is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (set PRESSROOM_TEST_POSTGRES)")
        env["PRESSROOM_DATABASE_URL"] = fresh_postgres_database(base)
    with WebhookReceiver() as receiver:
        env["PRESSROOM_NET__ALLOW_PRIVATE"] = json.dumps([f"127.0.0.1:{receiver.port}"])
        env["PRESSROOM_WEBHOOKS__BACKOFF_BASE_S"] = "1.0"
        data_dir: Path = tmp_path_factory.mktemp(f"e2e-{request.param}")
        server = ServerProcess(data_dir=data_dir, env_extra=env)
        server.start()
        try:
            yield Stack(server=server, receiver=receiver, backend=request.param)
        finally:
            server.stop()


@pytest.fixture(scope="session")
def key_a(stack: Stack) -> str:
    return stack.server.create_key("alpha")


@pytest.fixture(scope="session")
def key_b(stack: Stack) -> str:
    return stack.server.create_key("beta")


@pytest.fixture()
def api(stack: Stack, key_a: str) -> Iterator[httpx.Client]:
    with stack.client(key_a) as client:
        yield client


@pytest.fixture()
def api_b(stack: Stack, key_b: str) -> Iterator[httpx.Client]:
    with stack.client(key_b) as client:
        yield client


@pytest.fixture()
def anon(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client(None) as client:
        yield client


INVOICE_BODY = """
<h1>Invoice {{number}}</h1>
<p>Customer: {{customer.name}}</p>
<table>{{#each items}}<tr><td>{{name}}</td><td>{{qty}}</td><td>{{price}}</td></tr>{{/each}}</table>
<p>Total: {{total}}</p>
"""


@pytest.fixture()
def invoice_template(api: httpx.Client) -> dict[str, object]:
    response = api.post(
        "/v1/templates",
        json={
            "name": "Invoice",
            "body": INVOICE_BODY,
            "css": "h1 { color: #333; } td { padding: 2px 8px; }",
            "sample_data": {"number": "S-1"},
            "options": {"paper": "A4", "margin": "15mm"},
        },
    )
    assert response.status_code == 201, response.text
    template: dict[str, object] = response.json()
    return template


INVOICE_DATA = {
    "number": "INV-2026-001",
    "customer": {"name": "Ada Lovelace"},
    "items": [{"name": "Widget", "qty": 2, "price": 9.5}, {"name": "Gadget", "qty": 1, "price": 20}],
    "total": 39,
}
