"""Batches: many jobs submitted at once, counted as they end, announced by one webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pressroom.core.clock import utcnow
from pressroom.db.models import Base


class Batch(Base):
    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    operation: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="processing")
    count: Mapped[int] = mapped_column(Integer)
    # Incremented in each job's final transaction; the job that makes ``finished == count`` ends the batch,
    # so the batch ends exactly once even when its last jobs finish at the same instant on two workers.
    finished: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    webhook_url: Mapped[str | None] = mapped_column(Text, default=None)
    batch_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class BatchJob(Base):
    """Membership: which batch a job belongs to, and its entry's position in the request."""

    __tablename__ = "batch_jobs"
    __table_args__ = (UniqueConstraint("batch_id", "position", name="uq_batch_jobs_position"),)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
