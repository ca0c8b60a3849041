"""Runs one job exactly once: claim with a lease, execute, finish in one transaction.

The same runner serves sync requests (inline), the embedded worker and (later) Celery workers. Finishing
is guarded twice: the conditional UPDATE only succeeds for the lease holder, and ``documents.job_id`` is
unique, so a job delivered twice still yields one document and one webhook row.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from pressroom.config import JobSettings
from pressroom.core.clock import utcnow
from pressroom.core.errors import JobCrashed, PressroomError, QueueFull
from pressroom.core.ids import new_id
from pressroom.db.models import Document, Job
from pressroom.db.models_pdf import PdfJobReport
from pressroom.db.session import Database
from pressroom.documents.service import add_job_document
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.jobs.repository import JobRepository
from pressroom.storage.base import BlobStore
from pressroom.storage.keys import document_key

log = logging.getLogger("pressroom.jobs")


class FinishHook(Protocol):
    """Runs inside the transaction that ends a job (completed or failed): its writes commit with it.

    This is where the credit ledger settles, the webhook outbox is written and batches are counted, so
    none of them can disagree with the job's final state.
    """

    def __call__(self, session: Session, job: Job, document: Document | None) -> None: ...


RetentionPolicy = Callable[[Session, Job], timedelta]


@dataclass(frozen=True)
class Outcome:
    """How a job this runner ran ended: the final row, its document, bytes and the operation's report
    (None when it failed, or the operation reports nothing)."""

    job: Job
    document: Document | None = None
    data: bytes | None = None
    report: dict[str, Any] | None = None


class JobRunner:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        operations: OperationRegistry,
        settings: JobSettings,
        retention_days: int,
        finish_hooks: list[FinishHook] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.operations = operations
        self.settings = settings
        default_retention = timedelta(days=retention_days)
        self.retention: RetentionPolicy = retention or (lambda _session, _job: default_retention)
        self.finish_hooks: list[FinishHook] = list(finish_hooks or [])
        # The pid lets an operator (and the chaos tests) find the process holding a job.
        self.owner = f"runner-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            self._heartbeat.start()

    def stop(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        interval = max(self.settings.lease_s / 3, 0.2)
        while not self._stop.wait(interval):
            with self._held_lock:
                held = list(self._held)
            if held:
                try:
                    with self.db.session() as session:
                        until = utcnow() + timedelta(seconds=self.settings.lease_s)
                        JobRepository(session).extend_leases(held, self.owner, until)
                except Exception:  # a missed beat only shortens the lease; never kill the thread
                    log.exception("lease heartbeat failed")

    # -- running --------------------------------------------------------------------------------------
    def run(self, job_id: str) -> bool:
        """Claim and run ``job_id``. Returns False when another runner has it or it is already done."""
        with self.db.session() as session:
            taken = self._take(JobRepository(session), job_id)
        if taken is None:
            return False
        self._run_taken(job_id, taken)
        return True

    def run_next(self) -> bool:
        """Claim the oldest due job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and run it, if there is one."""
        taken: tuple[str, str] | None = None
        with self.db.session() as session:
            repo = JobRepository(session)
            for job_id in repo.due_ids(utcnow(), limit=4):
                kind = self._take(repo, job_id)
                if kind is not None:
                    taken = (job_id, kind)
                    break
        if taken is None:
            return False
        self._run_taken(*taken)
        return True

    # -- what a queue asks about the jobs it carries (pressroom.queue.base.JobHandler) -----------------
    def lifecycle(self, job_id: str) -> tuple[str, datetime | None] | None:
        """(status, lease_expires_at) of a job, or None when it does not exist."""
        with self.db.session() as session:
            return JobRepository(session).lifecycle(job_id)

    def orphaned_ids(self, now: datetime, stale_before: datetime, limit: int, include_pending: bool) -> list[str]:
        """Jobs no queue message may be carrying any more (see ``JobRepository.orphaned_ids``)."""
        with self.db.session() as session:
            return JobRepository(session).orphaned_ids(now, stale_before, limit, include_pending)

    def claim_new(self, job: Job, now: datetime) -> None:
        """Mark a job row not yet written as claimed by this runner (the sync path), so creating and
        claiming it is one transaction instead of two. If this process dies, the lease runs out and any
        worker takes the job over, as with a claim by :meth:`run`."""
        job.status, job.attempts, job.started_at = "processing", 1, now
        job.lease_owner, job.lease_expires_at = self.owner, now + timedelta(seconds=self.settings.lease_s)

    def run_claimed(self, job: Job) -> Outcome | None:
        """Run a job claimed by :meth:`claim_new` from the row in hand (no re-read). None: the lease was
        lost before finishing, so whoever took the job over owns its result."""
        with self._held_lock:
            self._held.add(job.id)
        try:
            return self._perform(job)
        finally:
            with self._held_lock:
                self._held.discard(job.id)

    def _take(self, repo: JobRepository, job_id: str) -> str | None:
        """'crashed' (abandoned with every attempt spent: poison), 'claimed', or None (not ours to run)."""
        now, lease, most = utcnow(), timedelta(seconds=self.settings.lease_s), self.settings.max_attempts
        # The common case first, in one UPDATE: a due job (or one abandoned with attempts left) is claimed.
        if repo.claim(job_id, self.owner, now, lease, max_attempts=most):
            return "claimed"
        return "crashed" if repo.claim_crashed(job_id, self.owner, now, lease, most) else None

    def _run_taken(self, job_id: str, taken: str) -> None:
        if taken == "crashed":
            # Each previous attempt died with its process (its lease ran out unfinished): a poison job.
            log.error("job %s: its worker died on every attempt; failing it", job_id)
            crashed = JobCrashed(details={"attempts": self.settings.max_attempts})
            self._fail(job_id, crashed.code, crashed.message, crashed.details)
            return
        with self._held_lock:
            self._held.add(job_id)
        try:
            self._execute(job_id)
        finally:
            with self._held_lock:
                self._held.discard(job_id)

    def _execute(self, job_id: str) -> None:
        with self.db.session() as session:
            job = JobRepository(session).get_any(job_id)
            assert job is not None
        self._perform(job)

    def _perform(self, job: Job) -> Outcome | None:
        """Run the operation of ``job`` (a claimed row, detached) and end the job: completed, failed or
        (async, retryable) rescheduled (None)."""
        job_id = job.id
        ctx = JobContext(job.id, job.account_id, job.key_mode, job.attempts, job.is_async)
        try:
            output = self.operations.get(job.operation)(ctx, dict(job.input))
            # Storing is part of the attempt: a storage error is judged like any other (a full disk or a
            # refused key fails the job once; an unreachable store is retried), never escapes the runner.
            key = self._store(job, output)
        except QueueFull as exc:
            if ctx.is_async:  # async jobs wait for the engine; a sync caller gets the 429 now
                self._reschedule(job_id, exc, delay_s=exc.retry_after, count_attempt=False)
                return None
            return self._fail(job_id, exc.code, exc.message, {"retry_after": exc.retry_after})
        except PressroomError as exc:
            # The error's type says whether another attempt can help (core.errors: ``transient``).
            if exc.transient and ctx.is_async and ctx.attempt < self.settings.max_attempts:
                self._reschedule(job_id, exc, delay_s=2.0**ctx.attempt)
                return None
            if exc.status >= 500:
                log.error("job %s failed: %s: %s", job_id, exc.code, exc.message)
            return self._fail(job_id, exc.code, exc.message, exc.details)
        except Exception as exc:
            log.exception("job %s crashed", job_id)
            if ctx.is_async and ctx.attempt < self.settings.max_attempts:
                self._reschedule(job_id, exc, delay_s=2.0**ctx.attempt)
                return None
            return self._fail(job_id, "INTERNAL_ERROR", "The job failed unexpectedly")
        return self._complete(job, output, key)

    def _store(self, job: Job, output: Output) -> str:
        # The key is made of ids only (never the file name, which is user text kept on the row) and derived
        # from the job id: a re-run after a crash overwrites the same blob instead of leaking one.
        key = document_key(job.account_id, job.id, output.content_type)
        self.store.put(key, output.data, output.content_type)
        return key

    def _complete(self, job: Job, output: Output, key: str) -> Outcome | None:
        job_id = job.id
        now = utcnow()
        document_id = new_id("doc")
        with self.db.session() as session:
            # One conditional UPDATE checks the lease and ends the job (no SELECT ... FOR UPDATE first).
            done = {"status": "completed", "document_id": document_id, "completed_at": now}
            if not JobRepository(session).finish_held(job_id, self.owner, done):
                # our lease was lost and someone else finished it: keep their result
                log.warning("job %s: lease lost before finishing; result discarded", job_id)
                return None
            for name, value in {**done, "lease_owner": None, "lease_expires_at": None}.items():
                setattr(job, name, value)  # the detached row in hand now mirrors the committed one
            document = add_job_document(
                session,
                document_id=document_id,
                account_id=job.account_id,
                job_id=job_id,
                template_id=output.template_id,
                filename=output.filename,
                content_type=output.content_type,
                size_bytes=len(output.data),
                pages=output.pages,
                storage_key=key,
                metadata=job.job_metadata,
                created_at=now,
                expires_at=now + self.retention(session, job),
            )
            if output.report is not None:
                # merge, not add: a row an earlier attempt of this job left is replaced, not duplicated
                session.merge(PdfJobReport(job_id=job_id, account_id=job.account_id, report=output.report))
            self._run_hooks(session, job, document)
        return Outcome(job, document, output.data, output.report)

    def _fail(self, job_id: str, code: str, message: str, details: Any = None) -> Outcome | None:
        with self.db.session() as session:
            job = JobRepository(session).held(job_id, self.owner)
            if job is None:
                return None
            job.status, job.error_code, job.error_message = "failed", code, message
            job.error_details = details if isinstance(details, dict) else None
            job.completed_at = utcnow()
            job.lease_owner = job.lease_expires_at = None
            session.flush()
            self._run_hooks(session, job, None)
        return Outcome(job)

    def _reschedule(self, job_id: str, exc: Exception, delay_s: float, count_attempt: bool = True) -> None:
        log.warning("job %s: retrying in %.1fs after %s", job_id, delay_s, exc)
        with self.db.session() as session:
            job = JobRepository(session).held(job_id, self.owner)
            if job is None:
                return
            job.status, job.lease_owner = "pending", None
            job.lease_expires_at = utcnow() + timedelta(seconds=delay_s)  # not before
            if not count_attempt:
                job.attempts -= 1

    def _run_hooks(self, session: Session, job: Job, document: Document | None) -> None:
        for hook in self.finish_hooks:
            hook(session, job, document)
