"""Every piece of work is a job: created here, run inline (sync) or handed to the queue (async)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from pressroom.core.clock import utcnow
from pressroom.core.errors import Conflict, JobNotFound, PressroomError, rebuild
from pressroom.core.ids import new_id
from pressroom.credits.service import CreditService
from pressroom.db.models import Document, Job
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.jobs.repository import JobRepository
from pressroom.jobs.runner import JobRunner
from pressroom.keys.service import Principal


class JobQueue(Protocol):
    def enqueue(self, job_id: str) -> None: ...


class UrlChecker(Protocol):
    def check_webhook_url(self, url: str) -> None: ...


class JobNotCancelable(Conflict):
    code = "JOB_NOT_CANCELABLE"


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
        if webhook_url:
            self.urls.check_webhook_url(webhook_url)
        with self.db.session() as session:
            job = self.create_in(
                session,
                principal,
                operation,
                request,
                is_async=is_async,
                webhook_url=webhook_url,
                metadata=metadata,
                template_id=template_id,
            )
        if is_async:
            self.queue.enqueue(job.id)
        else:
            self.runner.run(job.id)
        return self.get(principal.account_id, job.id)

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
        """Write one job row in the caller's transaction (batches write many at once); nothing is enqueued."""
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
        JobRepository(session).add(job)
        self.credits.reserve(session, job)
        return job

    def run_sync(self, principal: Principal, operation: str, request: dict[str, Any], **kwargs: Any) -> Document:
        """Submit inline and return the document; a failed job raises its error (with the job id)."""
        job = self.submit(principal, operation, request, is_async=False, **kwargs)
        if job.status != "completed" or job.document_id is None:
            raise self._failure(job)
        with self.db.session() as session:
            document = DocumentRepository(session).get(principal.account_id, job.document_id)
        assert document is not None
        return document

    def cancel(self, account_id: str, job_id: str) -> Job:
        """Cancel a job that has not started; its reservation is released in the same transaction."""
        with self.db.session() as session:
            job = JobRepository(session).get(account_id, job_id)
            if job is None:
                raise JobNotFound()
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
            job = JobRepository(session).get(account_id, job_id)
            if job is None:
                raise JobNotFound()
            return job

    def page(self, account_id: str, limit: int, offset: int, status: str | None) -> tuple[list[Job], int]:
        with self.db.session() as session:
            return JobRepository(session).page(account_id, limit, offset, status)

    @staticmethod
    def _failure(job: Job) -> PressroomError:
        error = rebuild(job.error_code or "INTERNAL_ERROR", job.error_message, job.error_details)
        if isinstance(error.details, dict):
            error.details = {**error.details, "job_id": job.id}
        elif error.details is None:
            error.details = {"job_id": job.id}
        return error
