"""All job queries, including the lease-based claim that makes execution exactly-once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from pressroom.core.errors import JobNotFound
from pressroom.db.models import Job
from pressroom.db.repository import AccountScoped


class JobRepository(AccountScoped[Job]):
    model = Job
    not_found = JobNotFound
    newest_first = True

    @staticmethod
    def _claimable(now: datetime):  # type: ignore[no-untyped-def]
        pending_due = and_(Job.status == "pending", or_(Job.lease_expires_at.is_(None), Job.lease_expires_at <= now))
        abandoned = and_(Job.status == "processing", Job.lease_expires_at < now)
        return or_(pending_due, abandoned)

    def next_claimable_ids(self, now: datetime, limit: int) -> list[str]:
        """Due async jobs, and any job (sync ones too) whose runner died holding its lease."""
        pending_async = and_(Job.is_async.is_(True), self._claimable(now))
        abandoned = and_(Job.status == "processing", Job.lease_expires_at < now)
        query = select(Job.id).where(or_(pending_async, abandoned)).order_by(Job.created_at).limit(limit)
        return list(self.session.scalars(query))

    def claim(self, job_id: str, owner: str, now: datetime, lease: timedelta, max_attempts: int | None = None) -> bool:
        """Atomically take the job if it is due or its previous lease ran out (a crashed worker).

        With ``max_attempts``, an abandoned job that has used them all is not taken (see claim_crashed)."""
        claimable = self._claimable(now)
        if max_attempts is not None:
            claimable = and_(claimable, or_(Job.status == "pending", Job.attempts < max_attempts))
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, claimable)
            .values(
                status="processing",
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=Job.attempts + 1,
                started_at=func.coalesce(Job.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def extend_leases(self, job_ids: list[str], owner: str, until: datetime) -> None:
        if job_ids:
            self.session.execute(
                update(Job)
                .where(Job.id.in_(job_ids), Job.lease_owner == owner, Job.status == "processing")
                .values(lease_expires_at=until)
                .execution_options(synchronize_session=False)
            )

    def finish_held(self, job_id: str, owner: str, values: dict[str, Any]) -> bool:
        """Set ``values`` (and release the lease) only while ``owner`` holds the job's lease: the check and
        the write are one statement, so a runner whose lease ran out cannot finish a job taken over."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == owner, Job.status == "processing")
            .values(**values, lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def held(self, job_id: str, owner: str) -> Job | None:
        """The job, locked for the finishing transaction, only while ``owner`` still holds its lease."""
        query = select(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.status == "processing")
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return self.session.scalar(query)

    def due_ids(self, now: datetime, limit: int) -> list[str]:
        """Candidates for a polling worker: :meth:`next_claimable_ids`, row-locked on PostgreSQL.

        On PostgreSQL the oldest due row is locked ``FOR UPDATE SKIP LOCKED`` (until this session ends),
        so concurrent pollers each get a different job instead of racing for the same one. SQLite
        serializes writers anyway; there the conditional UPDATE of :meth:`claim` alone picks the winner.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return self.next_claimable_ids(now, limit)
        pending_async = and_(Job.is_async.is_(True), self._claimable(now))
        abandoned = and_(Job.status == "processing", Job.lease_expires_at < now)
        query = (
            select(Job.id)
            .where(or_(pending_async, abandoned))
            .order_by(Job.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(query))

    def claim_crashed(self, job_id: str, owner: str, now: datetime, lease: timedelta, max_attempts: int) -> bool:
        """Take an abandoned job that already used all its attempts, without spending another one.

        A job whose runner died ``max_attempts`` times (a poison input crashing the worker process) must
        end as failed instead of crashing workers forever; the caller fails it while holding this lease.
        """
        result = self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == "processing",
                Job.lease_expires_at < now,
                Job.attempts >= max_attempts,
            )
            .values(lease_owner=owner, lease_expires_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def orphaned_ids(self, now: datetime, stale_before: datetime, limit: int, include_pending: bool) -> list[str]:
        """Jobs no queue message may be carrying any more (see ``queue.celery`` for who asks and why).

        Processing jobs whose lease ran out (their runner died); with ``include_pending``, async jobs
        that have been due since before ``stale_before`` too.
        """
        abandoned = and_(Job.status == "processing", Job.lease_expires_at < now)
        condition = abandoned
        if include_pending:
            due_since = func.coalesce(Job.lease_expires_at, Job.created_at)
            stale = and_(Job.is_async.is_(True), Job.status == "pending", due_since < stale_before)
            condition = or_(abandoned, stale)
        query = select(Job.id).where(condition).order_by(Job.created_at).limit(limit)
        return list(self.session.scalars(query))

    def lifecycle(self, job_id: str) -> tuple[str, datetime | None] | None:
        """(status, lease_expires_at) of a job, or None when it does not exist."""
        row = self.session.execute(select(Job.status, Job.lease_expires_at).where(Job.id == job_id)).first()
        return None if row is None else (row[0], row[1])
