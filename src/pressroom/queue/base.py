"""What a job queue can do, and what it hands job ids to.

The queue carries only job ids; the jobs table is the source of truth. A queue never runs a job itself:
it hands the id to a :class:`JobHandler` (the job runner implements it), so this adapter layer knows
nothing of the jobs domain, and nothing of how a process is wired together (``bootstrap``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class JobQueue(Protocol):
    name: str

    def enqueue(self, job_id: str) -> None: ...

    def start(self) -> None:
        """Start consuming (no-op for a queue whose workers run elsewhere)."""
        ...

    def stop(self, timeout_s: float = 10.0) -> None: ...


class JobHandler(Protocol):
    """Runs the jobs a queue delivers (implemented by ``pressroom.jobs.runner.JobRunner``)."""

    def run(self, job_id: str) -> bool:
        """Claim and run ``job_id``; False when another runner holds it or it is already done."""
        ...

    def run_next(self) -> bool:
        """Claim and run the oldest due job, if there is one; False when there was none."""
        ...

    def lifecycle(self, job_id: str) -> tuple[str, datetime | None] | None:
        """(status, lease_expires_at) of a job, or None when it does not exist."""
        ...

    def orphaned_ids(self, now: datetime, stale_before: datetime, limit: int, include_pending: bool) -> list[str]:
        """Jobs no queue message may be carrying any more: processing jobs whose lease ran out; with
        ``include_pending``, async jobs that have been due since before ``stale_before`` too."""
        ...

    def start_heartbeat(self) -> None:
        """Keep renewing the leases of the jobs this handler runs."""
        ...

    def stop(self) -> None: ...


# Longest wait between two outbox polls of a process whose polls find nothing to deliver.
IDLE_POLL_S = 1.0


def next_poll_interval(current: float, base: float, busy: bool) -> float:
    """The wait before the next background turn (webhook outbox poll): ``base`` after a turn that found
    work, else double the last wait, up to IDLE_POLL_S. Every process running jobs polls the outbox; an
    idle (or webhook-less) one then costs the database one query a second instead of one per ``base``."""
    return base if busy else min(current * 2, max(base, IDLE_POLL_S))
