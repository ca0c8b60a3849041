"""`pressroom accounts grant-credits` through the real entry point, as README and docs/metering.md write it.

Issue #12: `grant-credits NAME -988` exited 2 ("No such option": click read -988 as an option), and a grant
made before the month's first credit read was swallowed by the monthly top-up (`grant 10` printed 10,
`accounts list` then showed 100, not 110).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from pressroom.credits.repository import CreditRepository
from pressroom.db.models import Account
from pressroom.db.models_tenancy import CreditEntry
from pressroom.db.session import Database
from tests.support import VENV_BIN, fresh_postgres_database, postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'pressroom.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    url = fresh_postgres_database(base)
    yield url
    import psycopg

    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def cli(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    env.update({"PRESSROOM_DATA_DIR": str(data_dir), "PRESSROOM_ENV": "test", "PRESSROOM_DATABASE_URL": database_url})
    return subprocess.run(
        [str(VENV_BIN / "pressroom"), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_grant_credits_takes_negative_amounts_and_every_grant_counts(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = cli(database_url, data_dir, "accounts", "create", "acme")  # free plan: 100 credits a month
    assert created.returncode == 0, created.stderr

    granted = cli(database_url, data_dir, "accounts", "grant-credits", "acme", "10")
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.strip() == "acme: +10 credits, balance 110"
    listed = cli(database_url, data_dir, "accounts", "list")
    assert "credits=110" in listed.stdout, listed.stdout

    removed = cli(database_url, data_dir, "accounts", "grant-credits", "acme", "-988")  # as the docs write it
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "acme: -988 credits, balance -878"
    noted = cli(database_url, data_dir, "accounts", "grant-credits", "acme", "-2", "--note", "goodwill undone")
    assert noted.returncode == 0, noted.stderr
    assert noted.stdout.strip() == "acme: -2 credits, balance -880"
    assert "credits=-880" in cli(database_url, data_dir, "accounts", "list").stdout

    # An option's value may start with "-" too.
    dashed = cli(database_url, data_dir, "accounts", "grant-credits", "acme", "1", "--note", "-x")
    assert dashed.stdout.strip() == "acme: +1 credits, balance -879", dashed.stderr
    removed_again = cli(database_url, data_dir, "accounts", "grant-credits", "acme", "-1")
    assert removed_again.stdout.strip() == "acme: -1 credits, balance -880", removed_again.stderr

    # Still refused with a usage error (exit 2) that names the problem: a typo'd option, an amount that is
    # not an integer.
    for bad, message in (
        (["-3", "--nte", "x"], "No such option: --nte"),
        (["--nte", "x", "-3"], "No such option: --nte"),
        (["-3", "-n", "x"], "No such option: -n"),
        (["-1.5"], "valid integer"),
        (["ten"], "valid integer"),
    ):
        refused = cli(database_url, data_dir, "accounts", "grant-credits", "acme", *bad)
        assert refused.returncode == 2, (bad, refused.stdout, refused.stderr)
        assert message in " ".join(refused.stderr.replace("│", " ").split()), (bad, refused.stderr)
    unknown = cli(database_url, data_dir, "accounts", "grant-credits", "nobody", "-5")
    assert unknown.returncode == 1 and "no account named 'nobody'" in unknown.stderr

    db = Database(database_url)
    try:
        with db.session() as session:
            account = session.scalars(select(Account).where(Account.name == "acme")).one()
            entries = sorted(
                (entry.kind, entry.amount, entry.note)
                for entry in session.scalars(select(CreditEntry).where(CreditEntry.account_id == account.id))
            )
            repo = CreditRepository(session)
            assert repo.balance(account.id) == repo.ledger_sum(account.id) == -880
    finally:
        db.dispose()
    assert entries == [
        ("allowance", 100, "monthly allowance top-up to 100"),
        ("grant", -988, "granted from the CLI"),
        ("grant", -2, "goodwill undone"),
        ("grant", -1, "granted from the CLI"),
        ("grant", 1, "-x"),
        ("grant", 10, "granted from the CLI"),
    ]
