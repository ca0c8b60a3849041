"""Webhook delivery from the outbox: signed the Standard Webhooks way, retried with backoff.

Rows are written in the transaction that ends a job (see jobs.runner); this dispatcher claims due rows
with a short lease, posts them through the network gate and records the outcome. The webhook id (the row
id) is stable across retries so receivers can de-duplicate.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from pressroom.accounts.repository import AccountRepository
from pressroom.config import WebhookSettings
from pressroom.core.clock import utcnow
from pressroom.core.crypto import standard_webhook_signature
from pressroom.core.ids import new_id
from pressroom.db.models import Document, Job, WebhookDelivery
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.documents.service import DocumentService
from pressroom.webhooks.repository import WebhookRepository

log = logging.getLogger("pressroom.webhooks")


class WebhookTransport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        """POST through the network gate; return the HTTP status; raise on refusal or network error."""
        ...


class WebhookDispatcher:
    def __init__(
        self, db: Database, transport: WebhookTransport, documents: DocumentService, settings: WebhookSettings
    ) -> None:
        self.db = db
        self.transport = transport
        self.documents = documents
        self.settings = settings

    def deliver_due(self, limit: int = 10) -> int:
        """Deliver what is due now; returns how many deliveries were attempted."""
        with self.db.session() as session:
            claimed = WebhookRepository(session).claim_due(utcnow(), limit, lease=timedelta(seconds=60))
        for delivery_id in claimed:
            self._deliver(delivery_id)
        return len(claimed)

    def _deliver(self, delivery_id: str) -> None:
        with self.db.session() as session:
            delivery = WebhookRepository(session).get(delivery_id)
            if delivery is None:
                return
            account = AccountRepository(session).get(delivery.account_id)
            document_id = delivery.payload.get("document_id")
            document = DocumentRepository(session).get_any(document_id) if document_id else None
            secret = account.webhook_secret if account else ""
            url, payload = delivery.url, dict(delivery.payload)
        link = self.documents.link(document) if document is not None else None
        payload["download_url"] = link.url if link else None
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "Pressroom-Webhooks/1",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_webhook_signature(secret, delivery_id, timestamp, body),
        }
        status: int | None = None
        error: str | None = None
        try:
            status = self.transport.post(url, body, headers, self.settings.timeout_s)
        except Exception as exc:  # refused by the gate, DNS, connection... all recorded, all retried
            error = f"{type(exc).__name__}: {exc}"
        self._record(delivery_id, status, error)

    def _record(self, delivery_id: str, status: int | None, error: str | None) -> None:
        with self.db.session() as session:
            delivery = WebhookRepository(session).get(delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_status_code = status
            delivery.lease_expires_at = None
            if status is not None and 200 <= status < 300:
                delivery.status, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
                return
            delivery.last_error = error or f"HTTP {status}"
            if delivery.attempts >= self.settings.max_attempts:
                delivery.status = "failed"
                log.warning("webhook %s failed for good: %s", delivery_id, delivery.last_error)
            else:
                delay = self.settings.backoff_base_s**delivery.attempts
                delivery.status, delivery.next_attempt_at = "pending", utcnow() + timedelta(seconds=delay)


def job_webhook_outbox(session: Session, job: Job, document: Document | None) -> None:
    """Finish hook: the per-request ``webhook_url`` gets one outbox row, in the job's final transaction."""
    if not job.webhook_url:
        return
    error = {"code": job.error_code, "message": job.error_message} if job.error_code else None
    session.add(
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
