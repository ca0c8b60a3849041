"""Every piece of work is a job: created here, run inline (sync) or handed to the queue (async)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pressroom.core.clock import utcnow
from pressroom.core.errors import Conflict, PressroomError, rebuild
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.credits.service import Admission, CreditService
from pressroom.db.models import Document, Job
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.jobs.repository import JobRepository
from pressroom.jobs.runner import JobRunner
from pressroom.net.blocking import UrlChecker
from pressroom.queue.base import JobQueue


class JobNotCancelable(Conflict):
    code = "JOB_NOT_CANCELABLE"


@dataclass(frozen=True)
class SyncResult:
    """A sync job that completed: its document, the bytes stored for it, the credits it cost and what the
    operation reported (the runner's outcome; None when taken over by another runner)."""

    document: Document
    data: bytes
    price: int
    credits_left: int  # the balance once this job's price was reserved (a completed job keeps it)
    report: dict[str, Any] | None = None


class JobService:
    def __init__(
        self, db: Database, runner: JobRunner, queue: JobQueue, urls: UrlChecker, credits: CreditService
    ) -> None:
        self.db = db
        self.runner = runner
        self.queue = queue
        self.urls = urls
        self.credits = credits

    def submit(
        self,
        principal: Principal,
        operation: str,
        request: dict[str, Any],
        *,
        is_async: bool,
        webhook_url: str | None = None,
        metadata: dict[str, Any] | None = None,
        template_id: str | None = None,
    ) -> Job:
        """Create a job; async: enqueue it and return it pending, sync: run it and return its final row."""
        common: dict[str, Any] = {"webhook_url": webhook_url, "metadata": metadata, "template_id": template_id}
        job, _ = self._create(principal, operation, request, is_async=is_async, **common)
        if is_async:
            self.queue.enqueue(job.id)
            return job
        outcome = self.runner.run_claimed(job)
        return outcome.job if outcome is not None else self.get(principal.account_id, job.id)

    def _create(
        self, principal: Principal, operation: str, request: dict[str, Any], *, is_async: bool, **common: Any
    ) -> tuple[Job, Admission]:
        if common.get("webhook_url"):
            self.urls.check_webhook_url(common["webhook_url"])
        with self.db.session() as session:
            return self._write(session, principal, operation, request, is_async=is_async, **common)

    def create_in(
        self,
        session: Session,
        principal: Principal,
        operation: str,
        request: dict[str, Any],
        *,
        is_async: bool,
        webhook_url: str | None = None,
        metadata: dict[str, Any] | None = None,
        template_id: str | None = None,
    ) -> Job:
        """Write one job row in the caller's transaction (batches write many at once); nothing is enqueued.
        A sync job (``is_async=False``) is written claimed by this process: run it with ``runner.run_claimed``."""
        common: dict[str, Any] = {"webhook_url": webhook_url, "metadata": metadata, "template_id": template_id}
        return self._write(session, principal, operation, request, is_async=is_async, **common)[0]

    def _write(
        self,
        session: Session,
        principal: Principal,
        operation: str,
        request: dict[str, Any],
        *,
        is_async: bool,
        webhook_url: str | None = None,
        metadata: dict[str, Any] | None = None,
        template_id: str | None = None,
    ) -> tuple[Job, Admission]:
        # Limits, price and reservation commit together with the job row, or not at all.
        admission = self.credits.admit(session, principal, operation, request, webhook=bool(webhook_url))
        job = Job(
            id=new_id("job"),
            account_id=principal.account_id,
            operation=operation,
            is_async=is_async,
            key_mode=principal.mode,
            key_id=principal.key_id,
            price=admission.price,
            input=request,
            job_metadata=metadata or {},
            webhook_url=webhook_url,
            template_id=template_id,
        )
        if not is_async:  # run inline by this process: claimed in the same transaction, not in another
            self.runner.claim_new(job, utcnow())
        JobRepository(session).add(job)
        self.credits.reserve(session, job)
        return job, admission

    def run_sync(self, principal: Principal, operation: str, request: dict[str, Any], **kwargs: Any) -> Document:
        """Submit inline and return the document; a failed job raises its error (with the job id)."""
        return self.execute_sync(principal, operation, request, **kwargs).document

    def execute_sync(
        self,
        principal: Principal,
        operation: str,
        request: dict[str, Any],
        *,
        webhook_url: str | None = None,
        metadata: dict[str, Any] | None = None,
        template_id: str | None = None,
    ) -> SyncResult:
        """Run a job inline: one transaction creates and claims it, one ends it; the result comes from
        the finishing transaction, not from re-reading the rows. A failed job raises its error."""
        common: dict[str, Any] = {"webhook_url": webhook_url, "metadata": metadata, "template_id": template_id}
        job, admission = self._create(principal, operation, request, is_async=False, **common)
        outcome = self.runner.run_claimed(job)
        if outcome is None:  # lease lost mid-run: the runner that took the job over has the result
            return self._taken_over(principal.account_id, job.id, admission)
        if outcome.job.status != "completed" or outcome.document is None or outcome.data is None:
            raise self._failure(outcome.job)
        return SyncResult(
            outcome.document, outcome.data, outcome.job.price, admission.balance_after, report=outcome.report
        )

    def _taken_over(self, account_id: str, job_id: str, admission: Admission) -> SyncResult:
        job = self.get(account_id, job_id)
        if job.status != "completed" or job.document_id is None:
            raise self._failure(job)
        with self.db.session() as session:
            document = DocumentRepository(session).get(account_id, job.document_id)
        assert document is not None
        data = self.runner.store.get(document.storage_key)
        return SyncResult(document, data, job.price, admission.balance_after)

    def cancel(self, account_id: str, job_id: str) -> Job:
        """Cancel a job that has not started; its reservation is released in the same transaction."""
        with self.db.session() as session:
            job = JobRepository(session).get_or_raise(account_id, job_id)
            if job.status != "pending":
                raise JobNotCancelable(f"Job {job_id} is {job.status}", details={"status": job.status})
            job.status, job.completed_at = "canceled", utcnow()
            job.lease_expires_at = None
            session.flush()
            for hook in self.runner.finish_hooks:
                hook(session, job, None)
            return job

    def get(self, account_id: str, job_id: str) -> Job:
        with self.db.session() as session:
            return JobRepository(session).get_or_raise(account_id, job_id)

    def page(self, account_id: str, limit: int, offset: int, status: str | None) -> tuple[list[Job], int]:
        with self.db.session() as session:
            with_status = () if status is None else (Job.status == status,)
            return JobRepository(session).page(account_id, limit, offset, *with_status)

    @staticmethod
    def _failure(job: Job) -> PressroomError:
        error = rebuild(job.error_code or "INTERNAL_ERROR", job.error_message, job.error_details)
        if isinstance(error.details, dict):
            error.details = {**error.details, "job_id": job.id}
        elif error.details is None:
            error.details = {"job_id": job.id}
        return error
