"""Batches: many async jobs created in one transaction, counted as they end, announced once.

A batch is all-or-nothing at submission (every entry is validated and admitted before any job exists),
then each entry is an ordinary job: same runner, same queue, same retries, same per-job webhook. The
batch is counted in each job's final transaction (a finish hook), so the job that ends the batch is
known exactly once and writes the ``batch.completed`` outbox row in that same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.orm import Session

from pressroom.accounts.repository import AccountRepository
from pressroom.batches.repository import BatchJobState, BatchRepository
from pressroom.batches.schemas import BatchRequest
from pressroom.config import BatchSettings, BillingSettings
from pressroom.core.clock import utcnow
from pressroom.core.errors import BatchAsyncOnly, BatchTooLarge, ValidationFailed
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.db.models import Document, Job, WebhookDelivery
from pressroom.db.models_batches import Batch
from pressroom.db.session import Database
from pressroom.generation.schemas import GenerateRequest, TransformRequest
from pressroom.net.blocking import UrlChecker
from pressroom.queue.base import JobQueue

ENTRY_SCHEMAS: dict[str, type[GenerateRequest] | type[TransformRequest]] = {
    "generate": GenerateRequest,
    "transform": TransformRequest,
}
BATCH_EVENT = "batch.completed"


class JobCreator(Protocol):
    """The part of ``JobService`` a batch needs: write a job row inside the caller's transaction."""

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
    ) -> Job: ...


class TemplateLookup(Protocol):
    def get(self, account_id: str, template_id: str) -> Any: ...


@dataclass(frozen=True)
class _Entry:
    request: dict[str, Any]
    webhook_url: str | None
    metadata: dict[str, Any]
    template_id: str | None


@dataclass(frozen=True)
class BatchView:
    batch: Batch
    totals: dict[str, int]
    jobs: list[BatchJobState]


class BatchService:
    def __init__(
        self,
        db: Database,
        jobs: JobCreator,
        queue: JobQueue,
        urls: UrlChecker,
        templates: TemplateLookup,
        settings: BatchSettings,
        billing: BillingSettings | None = None,
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.queue = queue
        self.urls = urls
        self.templates = templates
        self.settings = settings
        self.billing = billing

    # -- submission -----------------------------------------------------------------------------------
    def submit(self, principal: Principal, request: BatchRequest) -> tuple[Batch, list[str]]:
        """Validate every entry, create the batch and its jobs in one transaction, then enqueue them."""
        if not request.is_async:
            raise BatchAsyncOnly("A batch always runs asynchronously; omit 'async' or set it to true")
        limit = self.limit_for(principal.account_id)
        if len(request.entries) > limit:
            raise BatchTooLarge(
                f"A batch may hold at most {limit} entries for this account; got {len(request.entries)}",
                details={"limit": limit, "count": len(request.entries)},
            )
        entries = [self._entry(request.operation, index, raw) for index, raw in enumerate(request.entries)]
        urls = {url for url in (request.webhook_url, *(e.webhook_url for e in entries)) if url}
        for url in sorted(urls):
            self.urls.check_webhook_url(url)
        for template_id in sorted({e.template_id for e in entries if e.template_id}):
            self.templates.get(principal.account_id, template_id)  # TEMPLATE_NOT_FOUND before any job exists

        with self.db.session() as session:
            job_ids = [
                self.jobs.create_in(
                    session,
                    principal,
                    request.operation,
                    entry.request,
                    is_async=True,
                    webhook_url=entry.webhook_url,
                    metadata=entry.metadata,
                    template_id=entry.template_id,
                ).id
                for entry in entries
            ]
            batch = Batch(
                id=new_id("bat"),
                account_id=principal.account_id,
                operation=request.operation,
                status="processing",
                count=len(job_ids),
                finished=0,
                failed=0,
                webhook_url=request.webhook_url,
                batch_metadata=request.metadata,
                created_at=utcnow(),
            )
            BatchRepository(session).add(batch, job_ids)
        # After commit: a job id on the queue always refers to a committed row. A failed enqueue leaves
        # the job pending in the table, where the queue's sweeper (or the embedded poller) finds it.
        for job_id in job_ids:
            self.queue.enqueue(job_id)
        return batch, job_ids

    def limit_for(self, account_id: str) -> int:
        """Entries one batch may hold: the account's own limit if set, else its plan's, within the cap."""
        with self.db.session() as session:
            account = AccountRepository(session).get(account_id)
        if account is None:
            return self.settings.max_entries
        if account.name in self.settings.account_limits:
            return self.settings.account_limits[account.name]
        plan = self.billing.plans.get(account.plan) if self.billing is not None else None
        return min(self.settings.max_entries, plan.batch_size) if plan is not None else self.settings.max_entries

    @staticmethod
    def _entry(operation: str, index: int, raw: dict[str, Any]) -> _Entry:
        if raw.get("async") is False:
            raise BatchAsyncOnly(f"Entry {index} sets 'async': false; batch entries always run asynchronously")
        schema = ENTRY_SCHEMAS[operation]
        try:
            body = schema.model_validate({k: v for k, v in raw.items() if k != "async"})
        except ValidationError as exc:
            errors = [
                {"loc": ["entries", index, *err["loc"]], "msg": err["msg"], "type": err["type"]}
                for err in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
            raise ValidationFailed(f"Entry {index} is invalid", details=errors) from None
        payload: dict[str, Any] = body.model_dump(exclude={"is_async", "webhook_url", "metadata"})
        template_id = body.template_id if isinstance(body, GenerateRequest) else None
        return _Entry(payload, body.webhook_url, body.metadata, template_id)

    # -- reading --------------------------------------------------------------------------------------
    def get(self, account_id: str, batch_id: str) -> BatchView:
        with self.db.session() as session:
            repo = BatchRepository(session)
            batch = repo.get_or_raise(account_id, batch_id)
            return BatchView(batch, repo.totals(batch_id), repo.jobs(batch_id))

    def page(self, account_id: str, limit: int, offset: int) -> tuple[list[Batch], int]:
        with self.db.session() as session:
            return BatchRepository(session).page(account_id, limit, offset)

    # -- bookkeeping ----------------------------------------------------------------------------------
    def on_job_finished(self, session: Session, job: Job, document: Document | None) -> None:
        """Finish hook (runs in the job's final transaction): count the job; the last one ends the batch."""
        if not job.is_async:
            return  # batches are async only (a sync batch is a 400): a sync job belongs to none
        repo = BatchRepository(session)
        counted = repo.count_finished(job.id, failed=job.status != "completed")
        if counted is None or counted.finished < counted.size or not repo.mark_completed(counted.batch_id, utcnow()):
            return
        batch_id = counted.batch_id
        batch = repo.get_any(batch_id)
        if batch is not None and batch.webhook_url:
            totals = repo.totals(batch_id)
            session.add(
                WebhookDelivery(
                    id=new_id("msg"),
                    account_id=batch.account_id,
                    job_id=None,
                    subject_id=batch.id,
                    target="request",
                    event=BATCH_EVENT,
                    url=batch.webhook_url,
                    payload={
                        "type": BATCH_EVENT,
                        "batch_id": batch.id,
                        "status": "completed",
                        "operation": batch.operation,
                        "count": batch.count,
                        "totals": totals,
                        "metadata": batch.batch_metadata,
                    },
                )
            )
