"""The running balance (`accounts.credit_balance`) against the ledger it summarizes, on SQLite and PostgreSQL.

Every ledger write path - reserve, settle, release/cancel (and their redelivery), grant, the monthly top-up,
plan changes, a month passing - is driven in random order, and after every step the running balance must
equal SUM(ledger) and the balance a plain Python model of the rules predicts. The concurrent tests then run
admissions, finishes and grants from many threads at once: no update may be lost.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from pressroom.accounts.service import AccountService
from pressroom.config import BillingSettings, Plan
from pressroom.core.errors import InsufficientCredits, NotFound
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.credits.repository import CreditRepository
from pressroom.credits.service import CreditService, month_bounds
from pressroom.db.models import Job
from pressroom.db.models_tenancy import CreditEntry
from pressroom.db.session import Database

PLANS = {
    "free": Plan(monthly_documents=None, monthly_credits=10),
    "starter": Plan(monthly_documents=None, monthly_credits=25),
    "empty": Plan(monthly_documents=None, monthly_credits=0),
}
# (request, its price): the base price plus priced options
PRICED: list[tuple[dict[str, Any], int]] = [
    ({}, 1),
    ({"options": {"pdf": {"compress": True}}}, 2),
    ({"options": {"pdf": {"compress": True, "attachments": [{"url": "a"}]}}}, 3),
]


@pytest.fixture()
def ledger_db(database_url: str) -> Iterator[tuple[Database, CreditService, AccountService]]:
    db = Database(database_url)
    yield db, CreditService(db, BillingSettings(plans=PLANS)), AccountService(db)
    db.dispose()


def running_and_sum(db: Database, account_id: str) -> tuple[int, int]:
    with db.session() as session:
        repo = CreditRepository(session)
        return repo.balance(account_id), repo.ledger_sum(account_id)


def admit(db: Database, credits: CreditService, principal: Principal, request: dict[str, Any]) -> Job:
    """What JobService._write does: admission and reservation in the transaction that writes the job."""
    with db.session() as session:
        admission = credits.admit(session, principal, "generate", request, webhook=False)
        job = Job(
            id=new_id("job"),
            account_id=principal.account_id,
            operation="generate",
            key_mode=principal.mode,
            key_id=principal.key_id,
            price=admission.price,
            input=request,
        )
        session.add(job)
        session.flush()
        credits.reserve(session, job)
        return job


def finish(db: Database, credits: CreditService, job_id: str, status: str) -> None:
    """The job's final transaction (runner or cancel): the status and the finish hook commit together."""
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status = status
        credits.settle_or_release(session, job, None)


def previous_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def month_passes(db: Database, account_id: str) -> None:
    """Time travel: move the account's whole ledger one month into the past (created_at and periods),
    which is what the ledger looks like when the next month begins. Oldest periods first, so the unique
    (account, kind, period) constraint never sees two rows for one month."""
    with db.session() as session:
        rows = session.execute(
            select(CreditEntry.id, CreditEntry.created_at, CreditEntry.period).where(
                CreditEntry.account_id == account_id
            )
        ).all()
        for entry_id, created_at, period in sorted(rows, key=lambda row: row[2] or ""):
            session.execute(
                update(CreditEntry)
                .where(CreditEntry.id == entry_id)
                .values(
                    created_at=created_at - timedelta(days=31),
                    period=None if period is None else previous_period(period),
                )
            )


@dataclass
class Model:
    """The rules, in plain Python: what the balance must be."""

    plan: str = "free"
    balance: int = 0
    since_period_start: int = 0  # sum of the entries written in the current month
    topped_up: bool = False
    pending: dict[str, int] = field(default_factory=dict)  # job id -> reserved price
    finished: list[str] = field(default_factory=list)

    def move(self, amount: int) -> None:
        self.balance += amount
        self.since_period_start += amount

    def top_up(self) -> None:
        if not self.topped_up:
            self.move(max(0, PLANS[self.plan].monthly_credits - (self.balance - self.since_period_start)))
            self.topped_up = True


def run_sequence(
    db: Database, credits: CreditService, accounts: AccountService, seed: int, steps: int
) -> dict[str, int]:
    rng = random.Random(seed)
    account, _ = accounts.get_or_create(f"acct-{seed}", plan="free")
    live = Principal(account.id, "key_live", "live")
    test = Principal(account.id, "key_test", "test")
    model = Model()
    seen: dict[str, int] = {}
    for _ in range(steps):
        op = rng.choices(
            ["admit", "admit_test", "finish", "redeliver", "grant", "read", "plan", "month"],
            weights=[30, 4, 25, 4, 10, 10, 7, 4],
        )[0]
        if op == "admit":
            request, cost = rng.choice(PRICED)
            model.top_up()
            if model.balance < cost:
                with pytest.raises(InsufficientCredits):
                    admit(db, credits, live, request)
            else:
                job = admit(db, credits, live, request)
                assert job.price == cost
                model.move(-cost)
                model.pending[job.id] = cost
        elif op == "admit_test":
            model.top_up()
            assert admit(db, credits, test, {}).price == 0
        elif op == "finish" and model.pending:
            job_id = rng.choice(sorted(model.pending))
            status = rng.choice(["completed", "failed", "canceled"])
            finish(db, credits, job_id, status)
            cost = model.pending.pop(job_id)
            if status != "completed":
                model.move(cost)  # released
            model.finished.append(job_id)
        elif op == "redeliver" and model.finished:
            # A job finished twice (redelivery after a crash) moves nothing the second time.
            finish(db, credits, rng.choice(model.finished), rng.choice(["completed", "failed"]))
        elif op == "grant":
            amount = rng.randint(-15, 30)
            model.top_up()
            model.move(amount)
            assert credits.grant(account.id, amount, "property test") == model.balance
        elif op == "read":
            model.top_up()
            assert credits.credits_left(account.id) == model.balance
        elif op == "plan":
            model.plan = rng.choice(sorted(PLANS))
            accounts.set_plan(account.id, model.plan, list(PLANS))
        elif op == "month":
            month_passes(db, account.id)
            model.since_period_start, model.topped_up = 0, False
        seen[op] = seen.get(op, 0) + 1
        running, total = running_and_sum(db, account.id)
        assert running == total == model.balance, (seed, op, running, total, model.balance)
    return seen


def test_running_balance_equals_the_ledger_after_random_operations(
    ledger_db: tuple[Database, CreditService, AccountService],
) -> None:
    db, credits, accounts = ledger_db
    seen: dict[str, int] = {}
    for seed in range(12):
        for op, count in run_sequence(db, credits, accounts, seed, steps=50).items():
            seen[op] = seen.get(op, 0) + count
    # every write path was exercised, more than once
    assert all(seen.get(op, 0) >= 3 for op in ("admit", "finish", "redeliver", "grant", "read", "plan", "month"))


def test_a_grant_before_the_first_read_of_the_month_counts(
    ledger_db: tuple[Database, CreditService, AccountService],
) -> None:
    """Issue #12: `grant 10` on a fresh account then `accounts list` showed the allowance alone."""
    db, credits, accounts = ledger_db
    account, _ = accounts.get_or_create("fresh")  # free: 10 credits a month
    assert credits.grant(account.id, 5, "before any read") == 15
    assert credits.credits_left(account.id) == 15
    assert credits.grant(account.id, -3, "a removal") == 12
    assert credits.credits_left(account.id) == 12
    assert running_and_sum(db, account.id) == (12, 12)
    with db.session() as session:
        kinds = sorted(
            (e.kind, e.amount) for e in session.scalars(select(CreditEntry).where(CreditEntry.account_id == account.id))
        )
    assert kinds == [("allowance", 10), ("grant", -3), ("grant", 5)]


def test_the_top_up_is_computed_from_the_balance_at_the_start_of_the_month(
    ledger_db: tuple[Database, CreditService, AccountService],
) -> None:
    """Last month left 6 credits and a job reserved; this month, before the first read, that job fails (a
    refund of 2): the top-up brings the month-start balance (6) to 10 and the refund counts on top. Topping
    up from the balance of the moment (8) would have swallowed the refund, as it swallowed grants."""
    db, credits, accounts = ledger_db
    account, _ = accounts.get_or_create("old-customer")
    last_month = month_bounds(datetime.now(UTC))[0] - timedelta(days=3)
    with db.session() as session:
        repo = CreditRepository(session)
        period = last_month.strftime("%Y-%m")
        job = Job(id=new_id("job"), account_id=account.id, operation="generate", price=2, input={})
        session.add(job)
        for kind, amount, job_id in (("allowance", 10, None), ("reserve", -2, job.id), ("grant", -2, None)):
            repo.add(
                CreditEntry(
                    id=new_id("cre"),
                    account_id=account.id,
                    job_id=job_id,
                    kind=kind,
                    amount=amount,
                    period=period if kind == "allowance" else None,
                    created_at=last_month,
                )
            )
    assert running_and_sum(db, account.id) == (6, 6)
    finish(db, credits, job.id, "failed")  # this month, before any read
    assert running_and_sum(db, account.id) == (8, 8)  # no allowance yet
    assert credits.credits_left(account.id) == 6 + 4 + 2  # top-up 4 (10 - 6), the refund on top
    assert credits.grant(account.id, 3, "this month") == 15
    assert running_and_sum(db, account.id) == (15, 15)


def test_a_grant_to_a_missing_account_is_refused(ledger_db: tuple[Database, CreditService, AccountService]) -> None:
    _, credits, _ = ledger_db
    with pytest.raises(NotFound):
        credits.grant("acc_missing", 5)


def _run_threads(count: int, target: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def body(index: int) -> None:
        try:
            start.wait()
            target(index)
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_admissions_never_overspend_and_lose_nothing(
    ledger_db: tuple[Database, CreditService, AccountService],
) -> None:
    db, credits, accounts = ledger_db
    account, _ = accounts.get_or_create("scarce")  # 10 credits
    principal = Principal(account.id, "key_1", "live")
    outcomes: list[str] = []

    def attempt(_: int) -> None:
        try:
            admit(db, credits, principal, {})
            outcomes.append("ok")
        except InsufficientCredits:
            outcomes.append("402")

    assert _run_threads(24, attempt) == []
    assert outcomes.count("ok") == 10 and outcomes.count("402") == 14
    assert running_and_sum(db, account.id) == (0, 0)


def test_concurrent_reserve_finish_and_grant_keep_the_balance_exact(
    ledger_db: tuple[Database, CreditService, AccountService],
) -> None:
    """Admissions (which lock the account), finish hooks (which do not take the lock first) and grants,
    from 8 threads at once: every move lands, so the running balance ends where the ledger says."""
    db, credits, accounts = ledger_db
    account, _ = accounts.get_or_create("busy", plan="starter")  # 25 credits
    principal = Principal(account.id, "key_1", "live")
    assert credits.grant(account.id, 1000, "headroom") == 1025
    deltas: list[int] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        rng = random.Random(index)
        mine = 0
        for _ in range(12):
            job = admit(db, credits, principal, rng.choice(PRICED)[0])
            status = rng.choice(["completed", "failed"])
            finish(db, credits, job.id, status)
            mine -= job.price if status == "completed" else 0
            if rng.random() < 0.3:
                amount = rng.randint(-5, 10)
                credits.grant(account.id, amount)
                mine += amount
        with lock:
            deltas.append(mine)

    assert _run_threads(8, work) == []
    expected = 1025 + sum(deltas)
    assert running_and_sum(db, account.id) == (expected, expected)
    assert credits.credits_left(account.id) == expected
