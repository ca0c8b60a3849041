"""Token buckets on every store that runs here: memory, the database (SQLite) and Redis."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressroom.db.migrate import upgrade
from pressroom.db.session import Database
from pressroom.ratelimit.base import RateLimitStore
from pressroom.ratelimit.database import DatabaseRateLimitStore
from pressroom.ratelimit.memory import MemoryRateLimitStore


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "database", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RateLimitStore]:
    if request.param == "memory":
        yield MemoryRateLimitStore()
    elif request.param == "database":
        url = f"sqlite:///{tmp_path / 'rl.sqlite'}"
        upgrade(url)
        db = Database(url)
        yield DatabaseRateLimitStore(db)
        db.dispose()
    else:
        if not _redis_up():
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        from pressroom.ratelimit.redis import RedisRateLimitStore

        yield RedisRateLimitStore("redis://127.0.0.1:6379/15")


def test_bucket_allows_the_limit_then_refuses(store: RateLimitStore) -> None:
    bucket = f"t-{uuid.uuid4().hex}"
    decisions = [store.take(bucket, 60, now=1000.0) for _ in range(61)]
    assert all(d.allowed for d in decisions[:60]) and not decisions[60].allowed
    assert decisions[0].remaining == 59 and decisions[59].remaining == 0
    assert 0.9 <= decisions[60].retry_after_s <= 1.1  # 60/min refills one token a second


def test_bucket_refills_with_time(store: RateLimitStore) -> None:
    bucket = f"t-{uuid.uuid4().hex}"
    for _ in range(30):
        store.take(bucket, 30, now=2000.0)
    assert not store.take(bucket, 30, now=2000.0).allowed
    assert store.take(bucket, 30, now=2002.1).allowed  # 30/min = one token every 2 s


def test_buckets_are_independent(store: RateLimitStore) -> None:
    first, second = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    for _ in range(5):
        store.take(first, 5, now=3000.0)
    assert not store.take(first, 5, now=3000.0).allowed
    assert store.take(second, 5, now=3000.0).allowed


def test_take_in_order_stops_after_the_first_refusal(store: RateLimitStore) -> None:
    tight, loose = f"t-{uuid.uuid4().hex}", f"l-{uuid.uuid4().hex}"
    first = store.take_in_order([(tight, 1), (loose, 10)], now=4000.0)
    assert [d.allowed for d in first] == [True, True]
    assert [d.limit for d in first] == [1, 10]
    second = store.take_in_order([(tight, 1), (loose, 10)], now=4000.0)
    assert [d.allowed for d in second] == [False]  # the loose bucket was not charged for a refused request
    assert store.take(loose, 10, now=4000.0).remaining == 8
