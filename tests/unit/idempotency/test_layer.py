"""The Idempotency-Key ASGI layer in the real app (SQLite, no worker): what a duplicate is answered, that
the layer's own answers count against the caller's rate limit, and that the holder's lease is renewed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from pressroom.api.idempotency import IdempotencyLayer
from pressroom.app import create_app
from pressroom.bootstrap import Container, build
from pressroom.config import Settings
from pressroom.core.clock import utcnow
from pressroom.db.migrate import upgrade
from pressroom.db.models_tenancy import IdempotencyRecord
from pressroom.idempotency.service import IdempotencyService

FOLDER = b'{"name": "Invoices"}'


pytestmark = pytest.mark.anyio


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"  # what uvicorn runs the app on


@dataclass
class Api:
    client: httpx.AsyncClient
    container: Container
    account_id: str
    headers: dict[str, str]


@pytest.fixture()
def container(tmp_path: Path) -> Iterator[Container]:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url)
    built = build(settings)  # not started: no worker, no engine, only what a request's path needs
    yield built
    built.close()


@pytest.fixture()
async def api(container: Container) -> AsyncIterator[Api]:
    app = create_app(container.settings, worker=False, container=container)
    app.state.container = container  # what the lifespan does (httpx's transport runs no lifespan)
    account, _ = container.accounts.get_or_create("acme")  # free plan: 60 requests a minute
    secret = container.keys.create(account.id, role="admin").secret
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pressroom.test") as client:
        yield Api(client, container, account.id, headers)


def _digest(path: str, body: bytes) -> str:
    """The layer's request fingerprint (method, path, query, body), to claim a key as a running request would."""
    return hashlib.sha256(b"\n".join([b"POST", path.encode(), b"", body])).hexdigest()


async def test_a_duplicate_of_a_running_request_gets_409_with_retry_after(api: Api) -> None:
    running = api.container.idempotency.claim(api.account_id, "k1", _digest("/v1/folders", FOLDER))
    assert running.record_id is not None

    response = await api.client.post("/v1/folders", content=FOLDER, headers={**api.headers, "Idempotency-Key": "k1"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert response.headers["retry-after"] == "1"
    assert "ratelimit-remaining" in response.headers  # counted like any request (see the rate-limit test)
    assert (await api.client.get("/v1/folders", headers=api.headers)).json()["total"] == 0  # the route never ran


async def test_the_first_response_is_stored_and_replayed(api: Api) -> None:
    headers = {**api.headers, "Idempotency-Key": "k2"}
    first = await api.client.post("/v1/folders", content=FOLDER, headers=headers)
    again = await api.client.post("/v1/folders", content=FOLDER, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert "ratelimit-remaining" in again.headers
    assert (await api.client.get("/v1/folders", headers=api.headers)).json()["total"] == 1


async def test_the_answer_is_stored_before_its_last_byte_reaches_the_client(api: Api) -> None:
    """A client that sends the key again the moment it has the answer must get the replay, never a 409 for a
    request already answered (the store used to happen after the last byte had left)."""
    app = create_app(api.container.settings, worker=False, container=api.container)
    app.state.container = api.container
    seen_at_last_byte: list[object] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": FOLDER, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            claim = api.container.idempotency.claim(api.account_id, "k5", _digest("/v1/folders", FOLDER))
            seen_at_last_byte.append(claim.replay)

    headers = [(k.lower().encode(), v.encode()) for k, v in {**api.headers, "Idempotency-Key": "k5"}.items()]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/folders", "raw_path": b"/v1/folders", "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 1), "server": ("pressroom.test", 80), "app": app,
    }  # fmt: skip
    await app(scope, receive, send)

    assert len(seen_at_last_byte) == 1
    replay = seen_at_last_byte[0]
    assert replay is not None and getattr(replay, "status", None) == 201


async def test_answers_given_by_the_layer_count_against_the_rate_limit(api: Api) -> None:
    """Duplicates are not a way around the rate limit: the free plan's 60 a minute holds for them too."""
    api.container.idempotency.claim(api.account_id, "k3", _digest("/v1/folders", FOLDER))
    headers = {**api.headers, "Idempotency-Key": "k3"}
    statuses = [(await api.client.post("/v1/folders", content=FOLDER, headers=headers)).status_code for _ in range(70)]

    assert 409 in statuses and statuses[-1] == 429
    refused = await api.client.post("/v1/folders", content=FOLDER, headers=headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(refused.headers["retry-after"]) >= 1


async def test_the_holder_renews_its_lease_while_it_runs(api: Api) -> None:
    service = IdempotencyService(api.container.db, ttl_s=3600, lease_s=0.3)  # renews every 0.1 s
    claim = service.claim(api.account_id, "k4", "h")
    assert claim.record_id is not None
    record_id = claim.record_id
    with api.container.db.session() as session:  # as if the lease were about to run out
        session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(expires_at=utcnow()))
    layer = IdempotencyLayer(create_app(api.container.settings, worker=False, container=api.container))
    heartbeat = asyncio.create_task(layer._keep_leased(service, record_id))
    await asyncio.sleep(0.5)
    heartbeat.cancel()
    with api.container.db.session() as session:
        expires_at = session.scalar(select(IdempotencyRecord.expires_at).where(IdempotencyRecord.id == record_id))
    assert expires_at is not None and expires_at > utcnow() + timedelta(seconds=0.05)
