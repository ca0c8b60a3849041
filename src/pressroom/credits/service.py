"""The credit ledger and plan limits.

Admission happens in the transaction that creates the job: the account row is locked, limits are checked,
and the price is reserved (a negative entry). The job's final transaction settles the reservation (the
charge becomes final) or releases it (a refund). Balance is always the sum of the ledger, so a charge can
only exist once and a failed job is never charged. That sum is kept as a running total on the account row
(``accounts.credit_balance``), moved by every ledger write in its own transaction (``CreditRepository.add``),
so admission costs the same with a thousand entries or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pressroom.config import BillingSettings, Plan
from pressroom.core.clock import utcnow
from pressroom.core.errors import (
    DailyLimitExceeded,
    InsufficientCredits,
    NotFound,
    PlanForbidsOption,
    QuotaExceeded,
)
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.credits.pricing import price, used_options
from pressroom.credits.repository import CreditRepository
from pressroom.db.models import Document, Job
from pressroom.db.models_tenancy import CreditEntry
from pressroom.db.session import Database


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Admission:
    price: int
    balance_after: int


@dataclass(frozen=True)
class Usage:
    plan: str
    period_start: datetime
    period_end: datetime
    documents_used: int
    documents_limit: int | None
    operations: dict[str, int]
    credits_charged: int
    credits_left: int


class CreditService:
    def __init__(self, db: Database, settings: BillingSettings) -> None:
        self.db = db
        self.settings = settings

    def plan(self, name: str) -> Plan:
        return self.settings.plans.get(name) or self.settings.plans[self.settings.default_plan]

    # -- admission (inside the job-creating transaction) ----------------------------------------------
    def admit(
        self, session: Session, principal: Principal, operation: str, request: dict[str, Any], webhook: bool
    ) -> Admission:
        """In the caller's (job-creating) transaction: lock the account, check the plan's limits, price the
        request and top up the period's allowance; raises when the job may not be created."""
        repo = CreditRepository(session)
        account_id = principal.account_id
        locked = repo.lock_account(account_id)
        if locked is None:
            raise NotFound("Account not found", code="ACCOUNT_NOT_FOUND")
        plan_name = locked.plan
        plan = self.plan(plan_name)
        self._check_options(plan, plan_name, operation, request, webhook)
        now = utcnow()
        if principal.mode == "test":
            self._check_test_key(repo, principal, now)
            return Admission(price=0, balance_after=self._balance(repo, account_id, plan, now, locked.balance))
        if plan.monthly_documents is not None:  # counting the month's jobs is only worth it with a quota
            used = repo.jobs_since(account_id, month_bounds(now)[0])
            if used >= plan.monthly_documents:
                raise QuotaExceeded(
                    f"The {plan_name} plan allows {plan.monthly_documents} documents a month",
                    details={"limit": plan.monthly_documents, "used": used, "plan": plan_name},
                )
        cost = price(self.settings.pricing, operation, request)
        balance = self._balance(repo, account_id, plan, now, locked.balance)
        if balance < cost:
            raise InsufficientCredits(
                f"This request costs {cost} credits; {balance} left",
                details={"price": cost, "credits_left": balance, "plan": plan_name},
            )
        return Admission(price=cost, balance_after=balance - cost)

    def reserve(self, session: Session, job: Job) -> None:
        """In the caller's transaction, after :meth:`admit` and the job's insert: reserve the job's price."""
        if job.price > 0:
            CreditRepository(session).add(
                CreditEntry(
                    id=new_id("cre"), account_id=job.account_id, job_id=job.id, kind="reserve", amount=-job.price
                )
            )

    def _check_options(
        self, plan: Plan, plan_name: str, operation: str, request: dict[str, Any], webhook: bool
    ) -> None:
        forbidden = sorted(used_options(operation, request) & set(plan.forbidden_options))
        if webhook and not plan.webhooks:
            forbidden.append("webhook_url")
        if forbidden:
            raise PlanForbidsOption(
                f"The {plan_name} plan does not allow: {', '.join(forbidden)}",
                details={"options": forbidden, "plan": plan_name},
            )

    def _check_test_key(self, repo: CreditRepository, principal: Principal, now: datetime) -> None:
        limit = self.settings.test_keys.documents_per_day
        used = repo.jobs_since(principal.account_id, day_start(now), key_id=principal.key_id)
        if used >= limit:
            retry = int((day_start(now) + timedelta(days=1) - now).total_seconds()) + 1
            raise DailyLimitExceeded(
                f"Test keys are limited to {limit} documents a day",
                details={"limit": limit, "used": used},
                retry_after=retry,
            )

    def _balance(self, repo: CreditRepository, account_id: str, plan: Plan, now: datetime, balance: int) -> int:
        """The balance (``balance``: the running total read under the account lock), after topping up to the
        plan's monthly allowance once per period.

        The top-up is written lazily, by the period's first admission or credit read, but it is computed as
        of the period's first instant: from the balance then (today's balance minus the entries written since
        the period began), never from today's. Otherwise whatever was written in the period before that first
        read - an operator's grant, the refund of last month's job - would count towards the allowance and be
        swallowed by a smaller top-up (``grant 10`` on a fresh 100-credit account left 100, not 110).
        """
        period = now.strftime("%Y-%m")
        if repo.has_period_entry(account_id, "allowance", period):  # one seek in the unique index
            return balance
        since_period_start = repo.ledger_sum(account_id, since=month_bounds(now)[0])
        top_up = max(0, plan.monthly_credits - (balance - since_period_start))
        return repo.add(
            CreditEntry(
                id=new_id("cre"),
                account_id=account_id,
                kind="allowance",
                amount=top_up,
                period=period,
                note=f"monthly allowance top-up to {plan.monthly_credits}",
            )
        )

    # -- the job's final transaction ------------------------------------------------------------------
    def settle_or_release(self, session: Session, job: Job, document: Document | None) -> None:
        """Finish hook, in the job's final transaction: completed -> the reservation becomes the charge;
        failed/canceled -> refund."""
        repo = CreditRepository(session)
        kinds = repo.job_entry_kinds(job.id)
        if "reserve" not in kinds or kinds & {"settle", "release"}:
            return
        if job.status == "completed":
            repo.add(CreditEntry(id=new_id("cre"), account_id=job.account_id, job_id=job.id, kind="settle", amount=0))
        else:
            repo.add(
                CreditEntry(
                    id=new_id("cre"), account_id=job.account_id, job_id=job.id, kind="release", amount=job.price
                )
            )

    # -- reads and admin ------------------------------------------------------------------------------
    def credits_left(self, account_id: str) -> int:
        """The balance, including this period's allowance (granted on first look, once)."""
        with self.db.session() as session:  # the common case reads only: the allowance is already there
            found = CreditRepository(session).balance_and_period_entry(
                account_id, "allowance", utcnow().strftime("%Y-%m")
            )
            if found is None:
                return 0
            if found[1]:
                return found[0]
        try:
            with self.db.session() as session:
                repo = CreditRepository(session)
                locked = repo.lock_account(account_id)
                if locked is None:
                    return 0
                return self._balance(repo, account_id, self.plan(locked.plan), utcnow(), locked.balance)
        except IntegrityError:  # another request granted the allowance first: it is there now
            with self.db.session() as session:
                return CreditRepository(session).balance(account_id)

    def usage(self, account_id: str, plan_name: str) -> Usage:
        now = utcnow()
        start, end = month_bounds(now)
        with self.db.session() as session:
            repo = CreditRepository(session)
            used = repo.jobs_since(account_id, start)
            operations = repo.completed_by_operation(account_id, start, end)
            charged = repo.charged_since(account_id, start)
        # After this read's transaction, not inside it: credits_left is a unit of work of its own (it may
        # write the period's allowance), and a service method never runs one inside another.
        return Usage(
            plan=plan_name,
            period_start=start,
            period_end=end,
            documents_used=used,
            documents_limit=self.plan(plan_name).monthly_documents,
            operations=operations,
            credits_charged=charged,
            credits_left=self.credits_left(account_id),
        )

    def grant(self, account_id: str, amount: int, note: str = "") -> int:
        """Append a grant (negative: a removal) and return the balance after it, this period's allowance
        included (topped up first, so the figure printed is the one every later read shows). A grant always
        counts: the top-up is computed as of the period's start, so it never absorbs a grant."""
        with self.db.session() as session:
            repo = CreditRepository(session)
            locked = repo.lock_account(account_id)
            if locked is None:
                raise NotFound("Account not found", code="ACCOUNT_NOT_FOUND")
            self._balance(repo, account_id, self.plan(locked.plan), utcnow(), locked.balance)
            return repo.add(
                CreditEntry(id=new_id("cre"), account_id=account_id, kind="grant", amount=amount, note=note)
            )

    def retention(self, session: Session, job: Job) -> timedelta:
        """Retention policy hook, in the job's final transaction: the plan's retention; test keys keep
        documents one hour."""
        if job.key_mode == "test":
            return timedelta(seconds=self.settings.test_keys.retention_s)
        plan_name = CreditRepository(session).plan_of(job.account_id)  # one column, not the whole row
        return timedelta(days=self.plan(plan_name or self.settings.default_plan).retention_days)
