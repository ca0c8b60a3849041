"""Every piece of work is a job: created here, run inline (sync) or handed to the queue (async)."""

from __future__ import annotations

from typing import Any, Protocol

from pressroom.core.errors import JobNotFound, PressroomError, rebuild
from pressroom.core.ids import new_id
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


class JobService:
    def __init__(self, db: Database, runner: JobRunner, queue: JobQueue, urls: UrlChecker) -> None:
        self.db = db
        self.runner = runner
        self.queue = queue
        self.urls = urls

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
        job = Job(
            id=new_id("job"),
            account_id=principal.account_id,
            operation=operation,
            is_async=is_async,
            key_mode=principal.mode,
            input=request,
            job_metadata=metadata or {},
            webhook_url=webhook_url,
            template_id=template_id,
        )
        with self.db.session() as session:
            JobRepository(session).add(job)
        if is_async:
            self.queue.enqueue(job.id)
        else:
            self.runner.run(job.id)
        return self.get(principal.account_id, job.id)

    def run_sync(self, principal: Principal, operation: str, request: dict[str, Any], **kwargs: Any) -> Document:
        """Submit inline and return the document; a failed job raises its error (with the job id)."""
        job = self.submit(principal, operation, request, is_async=False, **kwargs)
        if job.status != "completed" or job.document_id is None:
            raise self._failure(job)
        with self.db.session() as session:
            document = DocumentRepository(session).get(principal.account_id, job.document_id)
        assert document is not None
        return document

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
