"""The Idempotency-Key service against real databases (SQLite, and PostgreSQL when it runs here).

Covers the two causes of issue #12 item 2: a duplicate of an in-progress key is refused at once instead of
waiting, and a key whose holder died is free again once its lease has passed (not 24 h later).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from pressroom.accounts.service import AccountService
from pressroom.core.clock import utcnow
from pressroom.core.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from pressroom.db.migrate import upgrade
from pressroom.db.models_tenancy import IdempotencyRecord
from pressroom.db.session import Database
from pressroom.idempotency.service import IdempotencyService, StoredResponse
from tests.support import fresh_postgres_database, postgres_url

TTL_S = 24 * 3600
LEASE_S = 60.0
RESPONSE = StoredResponse(201, {"content-type": "application/json"}, b'{"id": "doc_1"}')


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'idem.sqlite'}"
    else:
        base = postgres_url()
        if base is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        url = fresh_postgres_database(base)
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture()
def service(db: Database) -> IdempotencyService:
    return IdempotencyService(db, TTL_S, lease_s=LEASE_S)


@pytest.fixture()
def account(db: Database) -> str:
    created, _ = AccountService(db).get_or_create("acme")
    return created.id


def _row(db: Database, account: str, key: str) -> IdempotencyRecord | None:
    with db.session() as session:
        return session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.account_id == account, IdempotencyRecord.key == key)
        )


def _lapse(db: Database, record_id: str) -> None:
    """What a crash looks like from the database: the holder stopped renewing and the lease has passed."""
    with db.session() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def test_a_duplicate_of_an_in_progress_key_is_refused_at_once(service: IdempotencyService, account: str) -> None:
    first = service.claim(account, "order-1", "h1")
    assert first.record_id is not None
    with pytest.raises(IdempotencyInProgress) as refused:
        service.claim(account, "order-1", "h1")
    assert refused.value.status == 409 and refused.value.code == "IDEMPOTENCY_IN_PROGRESS"
    assert refused.value.details == {"key": "order-1"}


def test_an_in_progress_key_is_held_by_a_lease_not_the_replay_window(
    db: Database, service: IdempotencyService, account: str
) -> None:
    before = utcnow()
    service.claim(account, "order-1", "h1")
    row = _row(db, account, "order-1")
    assert row is not None and row.status == "in_progress"
    assert before + timedelta(seconds=LEASE_S) <= row.expires_at <= utcnow() + timedelta(seconds=LEASE_S)


def test_the_stored_response_is_replayed_for_the_ttl(db: Database, service: IdempotencyService, account: str) -> None:
    claim = service.claim(account, "order-1", "h1")
    assert claim.record_id is not None
    service.finish(claim.record_id, RESPONSE)
    replay = service.claim(account, "order-1", "h1")
    assert replay.replay == RESPONSE and replay.record_id is None
    row = _row(db, account, "order-1")
    assert row is not None and row.status == "done"
    # Once the response is stored, expires_at is the 24 h replay window, no longer the short lease.
    assert row.expires_at >= utcnow() + timedelta(seconds=TTL_S - 60)


def test_the_same_key_with_another_request_is_refused(service: IdempotencyService, account: str) -> None:
    claim = service.claim(account, "order-1", "h1")
    with pytest.raises(IdempotencyKeyReused):
        service.claim(account, "order-1", "other")  # while in progress
    assert claim.record_id is not None
    service.finish(claim.record_id, RESPONSE)
    with pytest.raises(IdempotencyKeyReused):
        service.claim(account, "order-1", "other")  # and once done


def test_keys_are_per_account(db: Database, service: IdempotencyService, account: str) -> None:
    other, _ = AccountService(db).get_or_create("globex")
    assert service.claim(account, "order-1", "h1").record_id is not None
    assert service.claim(other.id, "order-1", "h1").record_id is not None


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_key_length_is_checked(service: IdempotencyService, account: str, key: str) -> None:
    with pytest.raises(ValidationFailed):
        service.claim(account, key, "h1")


def test_a_key_whose_holder_died_is_free_after_its_lease(
    db: Database, service: IdempotencyService, account: str
) -> None:
    crashed = service.claim(account, "order-1", "h1")
    assert crashed.record_id is not None
    _lapse(db, crashed.record_id)

    retry = service.claim(account, "order-1", "h1")
    assert retry.record_id is not None and retry.record_id != crashed.record_id
    # The dead holder, should it wake up, can neither renew, overwrite nor free the new holder's key.
    assert service.renew(crashed.record_id) is False
    service.finish(crashed.record_id, StoredResponse(201, {}, b"stale"))
    service.abandon(crashed.record_id)
    row = _row(db, account, "order-1")
    assert row is not None and row.id == retry.record_id and row.status == "in_progress"
    service.finish(retry.record_id, RESPONSE)
    assert service.claim(account, "order-1", "h1").replay == RESPONSE


def test_renewing_keeps_a_running_request_s_key(db: Database, service: IdempotencyService, account: str) -> None:
    claim = service.claim(account, "order-1", "h1")
    assert claim.record_id is not None
    _lapse(db, claim.record_id)
    assert service.renew(claim.record_id) is True  # the heartbeat came back before anyone took the key over
    row = _row(db, account, "order-1")
    assert row is not None and row.expires_at > utcnow() + timedelta(seconds=LEASE_S - 5)
    with pytest.raises(IdempotencyInProgress):
        service.claim(account, "order-1", "h1")


def test_an_expired_replay_is_free_again(db: Database, service: IdempotencyService, account: str) -> None:
    claim = service.claim(account, "order-1", "h1")
    assert claim.record_id is not None
    service.finish(claim.record_id, RESPONSE)
    _lapse(db, claim.record_id)
    fresh = service.claim(account, "order-1", "h2")  # past the 24 h window even another request may use it
    assert fresh.record_id is not None


def test_a_5xx_gives_the_key_back(service: IdempotencyService, account: str) -> None:
    claim = service.claim(account, "order-1", "h1")
    assert claim.record_id is not None
    service.abandon(claim.record_id)
    assert service.claim(account, "order-1", "h1").record_id is not None


def test_purge_removes_lapsed_leases_and_old_replays(db: Database, service: IdempotencyService, account: str) -> None:
    lapsed = service.claim(account, "lapsed", "h")
    done = service.claim(account, "done", "h")
    live = service.claim(account, "live", "h")
    assert lapsed.record_id and done.record_id and live.record_id
    service.finish(done.record_id, RESPONSE)
    _lapse(db, lapsed.record_id)
    _lapse(db, done.record_id)
    assert service.purge_expired() == 2
    assert _row(db, account, "live") is not None


@pytest.mark.parametrize("expired", [False, True], ids=["fresh", "taking-over-an-expired-key"])
def test_concurrent_duplicates_one_owner_the_rest_refused(
    db: Database, service: IdempotencyService, account: str, expired: bool
) -> None:
    if expired:
        crashed = service.claim(account, "order-1", "h1")
        assert crashed.record_id is not None
        _lapse(db, crashed.record_id)
    owners: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def attempt() -> None:
        start.wait()
        try:
            claim = service.claim(account, "order-1", "h1")
            with lock:
                owners.append(claim.record_id or "replay")
        except IdempotencyInProgress as exc:
            with lock:
                refused.append(exc.code)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(owners) == 1 and owners[0] != "replay"
    assert refused == ["IDEMPOTENCY_IN_PROGRESS"] * 15
    row = _row(db, account, "order-1")
    assert row is not None and row.id == owners[0]
