"""What a job queue can do. The queue carries only job ids; the jobs table is the source of truth."""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    name: str

    def enqueue(self, job_id: str) -> None: ...

    def start(self) -> None:
        """Start consuming (no-op for a queue whose workers run elsewhere)."""
        ...

    def stop(self, timeout_s: float = 10.0) -> None: ...


# Longest wait between two outbox polls of a process whose polls find nothing to deliver.
IDLE_POLL_S = 1.0


def next_poll_interval(current: float, base: float, busy: bool) -> float:
    """The wait before the next background turn (webhook outbox poll): ``base`` after a turn that found
    work, else double the last wait, up to IDLE_POLL_S. Every process running jobs polls the outbox; an
    idle (or webhook-less) one then costs the database one query a second instead of one per ``base``."""
    return base if busy else min(current * 2, max(base, IDLE_POLL_S))
