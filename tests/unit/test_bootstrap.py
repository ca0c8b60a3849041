"""Which rate-limit store the container builds for each setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressroom.bootstrap import _rate_limit_store
from pressroom.config import BillingSettings, Settings
from pressroom.db.session import Database
from pressroom.ratelimit.database import DatabaseRateLimitStore
from pressroom.ratelimit.memory import MemoryRateLimitStore

POSTGRES_URL = "postgresql+psycopg://pressroom@127.0.0.1:5432/test"  # never connected to here


def _settings(storage: str) -> Settings:
    return Settings(billing=BillingSettings(rate_limit_storage=storage))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("storage", "on_sqlite", "on_postgres"),
    [
        ("auto", MemoryRateLimitStore, DatabaseRateLimitStore),  # embedded = one API process
        ("database", DatabaseRateLimitStore, DatabaseRateLimitStore),
        ("memory", MemoryRateLimitStore, MemoryRateLimitStore),
    ],
)
def test_rate_limit_store_follows_the_setting_and_the_database(
    tmp_path: Path, storage: str, on_sqlite: type, on_postgres: type
) -> None:
    sqlite, postgres = Database(f"sqlite:///{tmp_path / 'db.sqlite'}"), Database(POSTGRES_URL)
    try:
        assert type(_rate_limit_store(_settings(storage), sqlite)) is on_sqlite
        assert type(_rate_limit_store(_settings(storage), postgres)) is on_postgres
    finally:
        sqlite.dispose()
        postgres.dispose()


def test_redis_storage_needs_a_url(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with pytest.raises(ValueError, match="REDIS_URL"):
            _rate_limit_store(_settings("redis"), db)
    finally:
        db.dispose()
