"""The ledger against a real SQLite database: admission under concurrency, settle/release exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressroom.accounts.service import AccountService
from pressroom.config import BillingSettings, Plan
from pressroom.core.errors import InsufficientCredits, PlanForbidsOption
from pressroom.core.principal import Principal
from pressroom.credits.service import CreditService, month_bounds
from pressroom.db.migrate import upgrade
from pressroom.db.models import Job
from pressroom.db.session import Database


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[tuple[Database, CreditService, Principal]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    billing = BillingSettings(plans={"free": Plan(monthly_credits=10, forbidden_options=["encryption"])})
    account, _ = AccountService(db).get_or_create("acme")
    yield db, CreditService(db, billing), Principal(account.id, "key_1", "live")
    db.dispose()


def _admit_job(db: Database, credits: CreditService, principal: Principal, job_id: str) -> Job:
    with db.session() as session:
        admission = credits.admit(session, principal, "generate", {}, webhook=False)
        job = Job(id=job_id, account_id=principal.account_id, operation="generate", price=admission.price, input={})
        session.add(job)
        session.flush()
        credits.reserve(session, job)
        return job


def test_allowance_is_granted_once_per_period(ledger: tuple[Database, CreditService, Principal]) -> None:
    _, credits, principal = ledger
    assert credits.credits_left(principal.account_id) == 10
    assert credits.credits_left(principal.account_id) == 10


def test_concurrent_admissions_never_overspend(ledger: tuple[Database, CreditService, Principal]) -> None:
    db, credits, principal = ledger
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        try:
            _admit_job(db, credits, principal, f"job_{index}")
            result = "ok"
        except InsufficientCredits:
            result = "402"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 10 and outcomes.count("402") == 20
    assert credits.credits_left(principal.account_id) == 0


def test_settle_and_release_happen_once(ledger: tuple[Database, CreditService, Principal]) -> None:
    db, credits, principal = ledger
    done = _admit_job(db, credits, principal, "job_done")
    failed = _admit_job(db, credits, principal, "job_failed")
    with db.session() as session:
        for job_id, status in (("job_done", "completed"), ("job_failed", "failed")):
            job = session.get(Job, job_id)
            assert job is not None
            job.status = status
            credits.settle_or_release(session, job, None)
            credits.settle_or_release(session, job, None)  # a second finish (redelivery) changes nothing
    assert credits.credits_left(principal.account_id) == 10 - done.price
    assert failed.price == 1


def test_plan_forbidden_option(ledger: tuple[Database, CreditService, Principal]) -> None:
    db, credits, principal = ledger
    with db.session() as session, pytest.raises(PlanForbidsOption):
        credits.admit(session, principal, "encrypt", {}, webhook=False)


def test_month_bounds() -> None:
    from datetime import UTC, datetime

    start, end = month_bounds(datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")
