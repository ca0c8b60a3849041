"""The embedded queue: worker threads inside the server process, polling the jobs table.

Durable by construction: enqueue only wakes a worker up; the job row is already committed. A job left
pending (or processing under a lease that ran out, e.g. after a crash) is claimed on the next poll, by
this process or by any other sharing the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pressroom.config import JobSettings
from pressroom.db.session import Database
from pressroom.queue.base import JobHandler, next_poll_interval

log = logging.getLogger("pressroom.queue")


class EmbeddedQueue:
    name = "embedded"

    def __init__(
        self,
        db: Database,
        runner: JobHandler,
        settings: JobSettings,
        background_tasks: list[Callable[[], object]] | None = None,
    ) -> None:
        self.db = db
        self.runner = runner
        self.settings = settings
        # Periodic chores run by the first worker between jobs (e.g. webhook delivery).
        self.background_tasks = background_tasks or []
        self._wake = threading.Condition()
        self._pending_wakeups = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._chores_due = 0.0
        self._chores_interval = settings.poll_interval_s
        self.consuming = False

    def enqueue(self, job_id: str) -> None:
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify()

    def start(self) -> None:
        if self.consuming:
            return
        self.consuming = True
        self.runner.start_heartbeat()
        for index in range(self.settings.workers):
            thread = threading.Thread(target=self._work, args=(index,), name=f"job-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)
        self.runner.stop()
        self.consuming = False

    def _work(self, index: int) -> None:
        while not self._stop.is_set():
            try:
                ran = self._run_one()
                if index == 0:
                    self._maybe_run_background_tasks()
            except Exception:  # a worker must survive anything (the DB being briefly down included)
                log.exception("embedded worker %d: iteration failed", index)
                ran = False
            if not ran:
                self._sleep()

    def _maybe_run_background_tasks(self) -> None:
        """Run the chores when due (see next_poll_interval), not after every job: a batch without webhooks
        would otherwise pay one outbox query per job."""
        now = time.monotonic()
        if now < self._chores_due:
            return
        busy = False
        for task in self.background_tasks:
            done = task()
            busy = busy or (isinstance(done, int) and done > 0)
        self._chores_interval = next_poll_interval(self._chores_interval, self.settings.poll_interval_s, busy)
        self._chores_due = time.monotonic() + self._chores_interval

    def _run_one(self) -> bool:
        # Workers polling at once each get a different job (SKIP LOCKED on PostgreSQL; on SQLite the
        # conditional claim lets exactly one of them win a candidate).
        return self.runner.run_next()

    def _sleep(self) -> None:
        with self._wake:
            if self._pending_wakeups == 0:
                self._wake.wait(self.settings.poll_interval_s)
            self._pending_wakeups = max(0, self._pending_wakeups - 1)
