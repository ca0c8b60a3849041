"""All batch queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pressroom.db.models import Job
from pressroom.db.models_batches import Batch, BatchJob


class BatchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, batch: Batch, job_ids: Iterable[str]) -> Batch:
        self.session.add(batch)
        self.session.flush()
        self.session.add_all(
            BatchJob(job_id=job_id, batch_id=batch.id, position=index) for index, job_id in enumerate(job_ids)
        )
        self.session.flush()
        return batch

    def get(self, account_id: str, batch_id: str) -> Batch | None:
        return self.session.scalar(select(Batch).where(Batch.id == batch_id, Batch.account_id == account_id))

    def page(self, account_id: str, limit: int, offset: int) -> tuple[list[Batch], int]:
        total = self.session.scalar(select(func.count()).select_from(Batch).where(Batch.account_id == account_id))
        rows = self.session.scalars(
            select(Batch)
            .where(Batch.account_id == account_id)
            .order_by(Batch.created_at.desc(), Batch.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)

    def jobs(self, batch_id: str) -> list[Job]:
        """The batch's jobs in entry order."""
        query = (select(Job).join(BatchJob, BatchJob.job_id == Job.id).where(BatchJob.batch_id == batch_id)).order_by(
            BatchJob.position
        )
        return list(self.session.scalars(query))

    def totals(self, batch_id: str) -> dict[str, int]:
        query = (
            select(Job.status, func.count())
            .join(BatchJob, BatchJob.job_id == Job.id)
            .where(BatchJob.batch_id == batch_id)
            .group_by(Job.status)
        )
        return {status: int(count) for status, count in self.session.execute(query).all()}

    def batch_of(self, job_id: str) -> str | None:
        return self.session.scalar(select(BatchJob.batch_id).where(BatchJob.job_id == job_id))

    def count_finished(self, batch_id: str, failed: bool) -> Batch | None:
        """Add one finished job to the batch and return it (row-locked by the UPDATE until commit).

        The increment is a single UPDATE, so two workers finishing the batch's last two jobs at once are
        serialized by the row lock: exactly one of them sees ``finished == count``.
        """
        self.session.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(finished=Batch.finished + 1, failed=Batch.failed + (1 if failed else 0))
            .execution_options(synchronize_session=False)
        )
        batch = self.session.get(Batch, batch_id, populate_existing=True)
        return batch

    def mark_completed(self, batch_id: str, now: datetime) -> bool:
        result = self.session.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.status == "processing")
            .values(status="completed", completed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
