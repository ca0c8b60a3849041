"""Writing webhook deliveries into the outbox, always inside the transaction of the change they announce."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pressroom.core.clock import utcnow
from pressroom.core.ids import new_id
from pressroom.db.models import Document, Job, WebhookDelivery
from pressroom.webhooks.repository import WebhookEndpointRepository, WebhookRepository

EVENTS = (
    "document.completed",
    "document.failed",
    "batch.completed",
    "template.created",
    "template.updated",
    "template.deleted",
)


def emit(
    session: Session, account_id: str, event: str, subject_id: str, data: dict[str, Any], job_id: str | None = None
) -> int:
    """Queue ``event`` for every enabled endpoint of the account subscribed to it. Returns how many."""
    repo = WebhookRepository(session)
    count = 0
    for endpoint in WebhookEndpointRepository(session).subscribed(account_id):
        if event not in endpoint.events:
            continue
        payload = {"type": event, "timestamp": utcnow().isoformat(), "data": data}
        repo.add_delivery(
            WebhookDelivery(
                id=new_id("msg"),
                account_id=account_id,
                job_id=job_id,
                subject_id=subject_id,
                target=endpoint.id,
                endpoint_id=endpoint.id,
                event=event,
                url=endpoint.url,
                payload=payload,
            )
        )
        count += 1
    return count


def job_webhook_outbox(session: Session, job: Job, document: Document | None) -> None:
    """Finish hook: the request's own ``webhook_url`` and the account's subscriptions, with the job's end."""
    error = {"code": job.error_code, "message": job.error_message} if job.error_code else None
    if job.webhook_url:
        WebhookRepository(session).add_delivery(
            WebhookDelivery(
                id=new_id("msg"),
                account_id=job.account_id,
                job_id=job.id,
                subject_id=job.id,
                target="request",
                event=f"job.{job.status}",
                url=job.webhook_url,
                payload={
                    "job_id": job.id,
                    "status": job.status,
                    "document_id": document.id if document else None,
                    "metadata": job.job_metadata,
                    "error": error,
                },
            )
        )
    if job.status in ("completed", "failed"):
        data = {
            "job_id": job.id,
            "operation": job.operation,
            "document_id": document.id if document else None,
            "template_id": job.template_id,
            "metadata": job.job_metadata,
            "error": error,
        }
        emit(session, job.account_id, f"document.{job.status}", job.id, data, job_id=job.id)
