"""End-to-end fixtures: a real `pressroom serve` process per backend, driven over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support import (
    CHROMIUM,
    S3_ENV,
    MotoServer,
    ServerProcess,
    WebhookReceiver,
    WorkerProcess,
    drop_rabbitmq_vhost,
    fresh_postgres_database,
    have_chromium,
    postgres_url,
    rabbitmq_vhost,
    require_service,
    shared_redis_url,
)

E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every end-to-end test needs the OS Chromium (the server renders with it): mark it so, and skip it
    where Chromium is absent. (A ``pytestmark`` in a conftest is ignored by pytest; this hook sees every
    collected item of the session, hence the directory check.)"""
    marks = [
        pytest.mark.chromium,
        pytest.mark.skipif(not have_chromium(), reason=f"Chromium is not installed ({CHROMIUM})"),
    ]
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            for mark in marks:
                item.add_marker(mark)


@dataclass
class Stack:
    server: ServerProcess
    receiver: WebhookReceiver
    backend: str  # the database: "sqlite" or "postgres"
    storage: str = "filesystem"  # or "s3"
    queue: str = "embedded"  # or "celery+redis", "celery+rabbitmq"
    workers: list[WorkerProcess] = field(default_factory=list)

    def client(self, key: str | None, **headers: str) -> httpx.Client:
        if key:
            headers = {"Authorization": f"Bearer {key}", **headers}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=60)


# The three stacks of the scale-out issue; the suite runs unchanged on each. (database, storage, queue)
STACKS = {
    "sqlite": ("sqlite", "filesystem", "embedded"),
    "postgres-s3-redis": ("postgres", "s3", "celery+redis"),
    "postgres-s3-rabbitmq": ("postgres", "s3", "celery+rabbitmq"),
}
# Tests of batches submit to a small-limit account (see test_batches.py).
BATCH_LIMITED_ACCOUNT = "batch-small"


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    try:
        yield server
    finally:
        server.stop()


def _backends_env(request: pytest.FixtureRequest, name: str, cleanups: list[Callable[[], None]]) -> dict[str, str]:
    """Environment of a stack's processes for its database, storage and queue (skips if one is absent)."""
    database, storage, queue = STACKS[name]
    env: dict[str, str] = {}
    if database == "postgres":
        base = postgres_url()
        require_service(base is not None, "PostgreSQL is not reachable on 127.0.0.1:5432 (set PRESSROOM_TEST_POSTGRES)")
        assert base is not None
        env["PRESSROOM_DATABASE_URL"] = fresh_postgres_database(base)
    if storage == "s3":
        moto: MotoServer = request.getfixturevalue("moto_server")
        env.update(S3_ENV)
        env["PRESSROOM_STORAGE_URL"] = moto.storage_url(f"e2e-{uuid.uuid4().hex[:8]}")
        env["PRESSROOM_STORAGE__CREATE_BUCKET"] = "true"
        # The spine suite checks Pressroom's own signed links (tampering, expiry): keep them on this stack;
        # presigned S3 links have their own tests (test_batches.py, tests/unit/storage/test_s3.py).
        env["PRESSROOM_STORAGE__DOWNLOADS"] = "proxied"
    if queue == "celery+redis":
        require_service(shared_redis_url() is not None, "Redis is not answering on 127.0.0.1:6379")
        env["PRESSROOM_BROKER_URL"] = "redis://127.0.0.1:6379/11"
    elif queue == "celery+rabbitmq":
        vhost = rabbitmq_vhost()
        require_service(vhost is not None, "RabbitMQ is not answering on 127.0.0.1:5672 (or rabbitmqctl failed)")
        assert vhost is not None
        cleanups.append(lambda: drop_rabbitmq_vhost(vhost))
        env["PRESSROOM_BROKER_URL"] = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    if queue.startswith("celery"):
        env["PRESSROOM_QUEUE"] = "celery"
        env["PRESSROOM_CELERY__QUEUE_NAME"] = f"e2e-{uuid.uuid4().hex[:8]}"  # never share a queue
        env["PRESSROOM_CELERY__VISIBILITY_TIMEOUT_S"] = "60"
        env["PRESSROOM_CELERY__SWEEP_INTERVAL_S"] = "2"
        env["PRESSROOM_CELERY__REQUEUE_AFTER_S"] = "10"
    return env


@pytest.fixture(scope="session", params=list(STACKS))
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    database, storage, queue = STACKS[request.param]
    cleanups: list[Callable[[], None]] = []
    try:
        env = _backends_env(request, request.param, cleanups)
        with WebhookReceiver() as receiver:
            env["PRESSROOM_NET__ALLOW_PRIVATE"] = json.dumps([f"127.0.0.1:{receiver.port}"])
            env["PRESSROOM_WEBHOOKS__BACKOFF_BASE_S"] = "1.0"
            env["PRESSROOM_SECRET_KEY"] = "e2e-" + "k" * 40  # API nodes and workers sign the same links
            env["PRESSROOM_BATCHES__ACCOUNT_LIMITS"] = json.dumps({BATCH_LIMITED_ACCOUNT: 3})
            data_dir: Path = tmp_path_factory.mktemp(f"e2e-{request.param}")
            celery = queue.startswith("celery")
            # Celery stacks: a stateless API node (sync requests render inline) + a worker process.
            server = ServerProcess(data_dir=data_dir, env_extra=env, serve_args=["--no-worker"] if celery else [])
            server.start()
            workers: list[WorkerProcess] = []
            try:
                if celery:
                    worker_env = {**env, "PRESSROOM_PUBLIC_URL": server.url}
                    workers.append(
                        WorkerProcess(data_dir=data_dir, env_extra=worker_env, args=["--concurrency", "2"]).start()
                    )
                yield Stack(server, receiver, database, storage, queue, workers)
            finally:
                for worker in workers:
                    worker.stop()
                server.stop()
    finally:
        for cleanup in cleanups:
            cleanup()


@pytest.fixture(scope="session")
def key_a(stack: Stack) -> str:
    # A generous plan: the suite makes hundreds of requests a minute (metering has its own tests).
    stack.server.cli("accounts", "create", "alpha", "--plan", "enterprise")
    return stack.server.create_key("alpha")


@pytest.fixture(scope="session")
def key_b(stack: Stack) -> str:
    stack.server.cli("accounts", "create", "beta", "--plan", "enterprise")
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
