"""A migrated database per test, on SQLite and (when reachable) PostgreSQL, for the ledger tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pressroom.db.migrate import upgrade
from tests.support import fresh_postgres_database, postgres_url


def drop_postgres_database(base_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database upgraded to the newest migration; PostgreSQL ones are dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        upgrade(url)
        yield url
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    url = fresh_postgres_database(base)
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgres_database(base, url)
