"""All batch queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, update

from pressroom.core.errors import BatchNotFound
from pressroom.db.models import Job
from pressroom.db.models_batches import Batch, BatchJob
from pressroom.db.repository import AccountScoped


class BatchJobState(NamedTuple):
    """What a batch's status shows of one job: a few columns, not the whole row (its input may be large)."""

    id: str
    status: str
    attempts: int
    document_id: str | None
    error_code: str | None
    error_message: str | None


class Counted(NamedTuple):
    batch_id: str
    finished: int
    size: int


class BatchRepository(AccountScoped[Batch]):
    model = Batch
    not_found = BatchNotFound
    newest_first = True

    def add(self, row: Batch, job_ids: Iterable[str] = ()) -> Batch:
        """Insert the batch, then its jobs' memberships in entry order."""
        super().add(row)
        self.session.add_all(
            BatchJob(job_id=job_id, batch_id=row.id, position=index) for index, job_id in enumerate(job_ids)
        )
        self.session.flush()
        return row

    def jobs(self, batch_id: str) -> list[BatchJobState]:
        """The batch's jobs in entry order. Followers poll this: it loads only the columns it shows."""
        query = (
            select(Job.id, Job.status, Job.attempts, Job.document_id, Job.error_code, Job.error_message)
            .join(BatchJob, BatchJob.job_id == Job.id)
            .where(BatchJob.batch_id == batch_id)
            .order_by(BatchJob.position)
        )
        return [BatchJobState(*row) for row in self.session.execute(query)]

    def totals(self, batch_id: str) -> dict[str, int]:
        query = (
            select(Job.status, func.count())
            .join(BatchJob, BatchJob.job_id == Job.id)
            .where(BatchJob.batch_id == batch_id)
            .group_by(Job.status)
        )
        return {status: int(count) for status, count in self.session.execute(query).all()}

    def count_finished(self, job_id: str, failed: bool) -> Counted | None:
        """Add the job to its batch's finished count, if it belongs to one; the counts after the increment.

        One statement (the membership lookup is a subquery, the new counts come back with RETURNING),
        since it runs in every job's final transaction. The increment row-locks the batch until commit,
        so two workers finishing a batch's last two jobs at once are serialized: exactly one of them
        sees ``finished == count``.
        """
        member_of = select(BatchJob.batch_id).where(BatchJob.job_id == job_id).scalar_subquery()
        row = self.session.execute(
            update(Batch)
            .where(Batch.id == member_of)
            .values(finished=Batch.finished + 1, failed=Batch.failed + (1 if failed else 0))
            .returning(Batch.id, Batch.finished, Batch.count)
            .execution_options(synchronize_session=False)
        ).first()
        return None if row is None else Counted(row[0], row[1], row[2])

    def mark_completed(self, batch_id: str, now: datetime) -> bool:
        result = self.session.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.status == "processing")
            .values(status="completed", completed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
