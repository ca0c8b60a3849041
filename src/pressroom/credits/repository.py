from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from pressroom.db.models import Account, Job
from pressroom.db.models_tenancy import CreditEntry


class CreditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_account(self, account_id: str) -> Account | None:
        """Serialize ledger writers of one account.

        A no-op UPDATE as the transaction's first statement takes the row lock on PostgreSQL and the write
        lock on SQLite (before any read, so SQLite never has to upgrade a stale read snapshot).
        """
        self.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(plan=Account.plan)
            .execution_options(synchronize_session=False)
        )
        return self.session.get(Account, account_id)

    def lock_account_plan(self, account_id: str) -> str | None:
        """:meth:`lock_account` that reads the account's plan in the same statement (UPDATE ... RETURNING)."""
        return self.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(plan=Account.plan)
            .returning(Account.plan)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()

    def plan_of(self, account_id: str) -> str | None:
        return self.session.scalar(select(Account.plan).where(Account.id == account_id))

    def balance(self, account_id: str) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(CreditEntry.account_id == account_id)
        )
        return int(total or 0)

    def balance_and_period_entry(self, account_id: str, kind: str, period: str) -> tuple[int, bool]:
        """:meth:`balance` and :meth:`has_period_entry` in one statement (the hot path asks both)."""
        in_period = and_(CreditEntry.kind == kind, CreditEntry.period == period)
        row = self.session.execute(
            select(
                func.coalesce(func.sum(CreditEntry.amount), 0), func.coalesce(func.sum(case((in_period, 1))), 0)
            ).where(CreditEntry.account_id == account_id)
        ).one()
        return int(row[0] or 0), bool(row[1])

    def has_period_entry(self, account_id: str, kind: str, period: str) -> bool:
        query = select(CreditEntry.id).where(
            CreditEntry.account_id == account_id, CreditEntry.kind == kind, CreditEntry.period == period
        )
        return self.session.scalar(query) is not None

    def job_entry_kinds(self, job_id: str) -> set[str]:
        """The kinds of ledger entry a job has (reserve, settle, release): one query for all three."""
        return set(self.session.scalars(select(CreditEntry.kind).where(CreditEntry.job_id == job_id)))

    def add(self, entry: CreditEntry) -> None:
        self.session.add(entry)
        self.session.flush()

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
