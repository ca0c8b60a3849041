from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pressroom.db.models import Account, Job
from pressroom.db.models_tenancy import CreditEntry


@dataclass(frozen=True)
class LockedAccount:
    plan: str
    balance: int


class CreditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_account(self, account_id: str) -> LockedAccount | None:
        """Serialize ledger writers of one account; returns its plan and running balance.

        A no-op UPDATE as the transaction's first statement takes the row lock on PostgreSQL and the write
        lock on SQLite (before any read, so SQLite never has to upgrade a stale read snapshot); RETURNING
        reads the plan and balance in the same statement, under the lock.
        """
        row = self.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(plan=Account.plan)
            .returning(Account.plan, Account.credit_balance)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        return None if row is None else LockedAccount(plan=row[0], balance=int(row[1]))

    def plan_of(self, account_id: str) -> str | None:
        return self.session.scalar(select(Account.plan).where(Account.id == account_id))

    def balance(self, account_id: str) -> int:
        """The running balance: one primary-key read, whatever the size of the ledger."""
        return int(self.session.scalar(select(Account.credit_balance).where(Account.id == account_id)) or 0)

    def balance_and_period_entry(self, account_id: str, kind: str, period: str) -> tuple[int, bool] | None:
        """:meth:`balance` and :meth:`has_period_entry` in one statement (the read path asks both); None when
        the account does not exist. The entry is found through the (account, kind, period) unique index."""
        exists = (
            select(CreditEntry.id)
            .where(CreditEntry.account_id == account_id, CreditEntry.kind == kind, CreditEntry.period == period)
            .exists()
        )
        row = self.session.execute(select(Account.credit_balance, exists).where(Account.id == account_id)).one_or_none()
        return None if row is None else (int(row[0]), bool(row[1]))

    def has_period_entry(self, account_id: str, kind: str, period: str) -> bool:
        query = select(CreditEntry.id).where(
            CreditEntry.account_id == account_id, CreditEntry.kind == kind, CreditEntry.period == period
        )
        return self.session.scalar(query) is not None

    def ledger_sum(self, account_id: str, since: datetime | None = None) -> int:
        """SUM over the ledger itself (optionally only entries written since ``since``): the definition the
        running balance must always equal. Not on the request path, except the once-a-month top-up, which
        sums only the current period's entries through the (account_id, created_at) index."""
        query = select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(CreditEntry.account_id == account_id)
        if since is not None:
            query = query.where(CreditEntry.created_at >= since)
        return int(self.session.scalar(query) or 0)

    def job_entry_kinds(self, job_id: str) -> set[str]:
        """The kinds of ledger entry a job has (reserve, settle, release): one query for all three."""
        return set(self.session.scalars(select(CreditEntry.kind).where(CreditEntry.job_id == job_id)))

    def add(self, entry: CreditEntry) -> int:
        """Append ``entry`` and move the account's running balance by its amount, in this transaction;
        returns the new balance.

        The balance moves with ``credit_balance = credit_balance + amount`` evaluated by the database on
        the locked row, never with a value computed in Python: two writers of one account (an admission and
        a finishing job) cannot lose each other's update, and the entry and the balance commit together or
        not at all (a duplicate entry rejected by a unique constraint rolls the move back with it).
        """
        self.session.add(entry)
        self.session.flush()
        if entry.amount == 0:  # a settle moves nothing: no need to rewrite the account row
            return self.balance(entry.account_id)
        moved = self.session.execute(
            update(Account)
            .where(Account.id == entry.account_id)
            .values(credit_balance=Account.credit_balance + entry.amount)
            .returning(Account.credit_balance)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        return int(moved)

    def jobs_since(self, account_id: str, since: datetime, key_id: str | None = None) -> int:
        """Jobs that count against quotas: everything submitted since ``since`` that did not fail."""
        conditions = [Job.account_id == account_id, Job.created_at >= since, Job.status.not_in(("failed", "canceled"))]
        if key_id is not None:
            conditions.append(Job.key_id == key_id)
        return int(self.session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0)

    def completed_by_operation(self, account_id: str, since: datetime, until: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(Job.operation, func.count())
            .where(Job.account_id == account_id, Job.status == "completed")
            .where(Job.completed_at >= since, Job.completed_at < until)
            .group_by(Job.operation)
        )
        return {operation: int(count) for operation, count in rows}

    def charged_since(self, account_id: str, since: datetime) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(Job.price), 0)).where(
                Job.account_id == account_id, Job.status == "completed", Job.completed_at >= since
            )
        )
        return int(total or 0)
