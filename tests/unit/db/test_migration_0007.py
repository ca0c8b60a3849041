"""Migration 0007 fills `accounts.credit_balance` from the existing ledger, on SQLite and PostgreSQL, and its
downgrade drops the column without touching any tenant's rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from pressroom.db.migrate import alembic_config, upgrade
from tests.support import fresh_postgres_database, postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    created = fresh_postgres_database(base)
    yield created
    import psycopg

    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{created.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_0007_backfills_the_running_balance_from_the_ledger(url: str) -> None:
    upgrade(url, "0006")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for account in ("acc_a", "acc_b", "acc_c"):
                conn.execute(
                    text(
                        "INSERT INTO accounts (id, name, plan, webhook_secret, created_at) "
                        "VALUES (:id, :id, 'free', 'whsec_x', CURRENT_TIMESTAMP)"
                    ),
                    {"id": account},
                )
            entries = [("acc_a", "allowance", 100, "2026-11"), ("acc_a", "reserve", -3, None)]
            entries += [("acc_a", "release", 3, None), ("acc_a", "reserve", -7, None), ("acc_b", "grant", -5, None)]
            for number, (account, kind, amount, period) in enumerate(entries):
                conn.execute(
                    text(
                        "INSERT INTO credit_entries (id, account_id, job_id, kind, amount, period, note, created_at) "
                        "VALUES (:id, :account, :job, :kind, :amount, :period, '', CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": f"cre_{number}",
                        "account": account,
                        "job": None if period else f"job_{number}",
                        "kind": kind,
                        "amount": amount,
                        "period": period,
                    },
                )
        upgrade(url)
        with engine.connect() as conn:
            balances = {row[0]: row[1] for row in conn.execute(text("SELECT id, credit_balance FROM accounts"))}
        assert balances == {"acc_a": 93, "acc_b": -5, "acc_c": 0}

        command.downgrade(alembic_config(url), "0006")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM accounts")).scalar_one() == 3
            assert conn.execute(text("SELECT COUNT(*) FROM credit_entries")).scalar_one() == len(entries)
        upgrade(url)  # and back up: the backfill runs again
        with engine.connect() as conn:
            assert conn.execute(text("SELECT credit_balance FROM accounts WHERE id = 'acc_a'")).scalar_one() == 93
    finally:
        engine.dispose()
