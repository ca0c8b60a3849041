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
