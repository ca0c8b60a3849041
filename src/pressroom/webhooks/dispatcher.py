"""Webhook delivery from the outbox: signed the Standard Webhooks way, retried with backoff and jitter.

Rows are written in the transaction of the change they announce (see ``outbox``); this dispatcher claims
due rows with a short lease, posts them through the network gate and records every attempt. The webhook id
(the row id) is stable across retries so receivers can de-duplicate. A 410 from an endpoint disables it.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta
from typing import Any, Protocol

from pressroom.accounts.repository import AccountRepository
from pressroom.config import WebhookSettings
from pressroom.core.clock import utcnow
from pressroom.core.crypto import standard_webhook_signature
from pressroom.core.ids import new_id
from pressroom.db.models_tenancy import WebhookAttempt
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.documents.service import DocumentService
from pressroom.webhooks.repository import WebhookEndpointRepository, WebhookRepository

log = logging.getLogger("pressroom.webhooks")


class WebhookTransport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        """POST through the network gate; return the HTTP status; raise on refusal or network error."""
        ...


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures: during a rotation both the new and the old secret sign."""
    return " ".join(standard_webhook_signature(secret, msg_id, timestamp, body) for secret in secrets)


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

    def _prepare(self, delivery_id: str) -> tuple[str, bytes, list[str]] | None:
        """(url, body, signing secrets) for a claimed delivery, or None when it must not be sent."""
        with self.db.session() as session:
            repo = WebhookRepository(session)
            delivery = repo.get_any(delivery_id)
            if delivery is None:
                return None
            payload: dict[str, Any] = dict(delivery.payload)
            if delivery.endpoint_id:
                endpoint = WebhookEndpointRepository(session).get_any(delivery.endpoint_id)
                if endpoint is None or not endpoint.enabled:
                    delivery.status, delivery.last_error = "canceled", "endpoint deleted or disabled"
                    return None
                secrets = [endpoint.secret]
                expires = endpoint.previous_secret_expires_at
                if endpoint.previous_secret and expires and expires > utcnow():
                    secrets.append(endpoint.previous_secret)
                data = dict(payload.get("data") or {})
                document_id = data.get("document_id")
            else:
                account = AccountRepository(session).get(delivery.account_id)
                secrets = [account.webhook_secret if account else ""]
                data = payload
                document_id = payload.get("document_id")
            document = DocumentRepository(session).get_any(document_id) if document_id else None
            url = delivery.url
        # A download link is signed at send time so it is fresh whenever the delivery happens.
        link = self.documents.link(document) if document is not None else None
        data["download_url"] = link.url if link else None
        if delivery.endpoint_id:
            payload["data"] = data
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        return url, body, secrets

    def _deliver(self, delivery_id: str) -> None:
        prepared = self._prepare(delivery_id)
        if prepared is None:
            return
        url, body, secrets = prepared
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "Pressroom-Webhooks/1",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, delivery_id, timestamp, body),
        }
        status: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            status = self.transport.post(url, body, headers, self.settings.timeout_s)
        except Exception as exc:  # refused by the gate, DNS, connection... all recorded, all retried
            error = f"{type(exc).__name__}: {exc}"
        self._record(delivery_id, status, error, (time.perf_counter() - started) * 1000)

    def _record(self, delivery_id: str, status: int | None, error: str | None, duration_ms: float) -> None:
        with self.db.session() as session:
            repo = WebhookRepository(session)
            delivery = repo.get_any(delivery_id)
            if delivery is None:
                return
            repo.add_attempt(
                WebhookAttempt(
                    id=new_id("wat"), delivery_id=delivery_id, status_code=status, duration_ms=duration_ms, error=error
                )
            )
            delivery.attempts += 1
            delivery.last_status_code = status
            delivery.lease_expires_at = None
            if status is not None and 200 <= status < 300:
                delivery.status, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
                return
            delivery.last_error = error or f"HTTP {status}"
            if status == 410 and delivery.endpoint_id:
                endpoint = WebhookEndpointRepository(session).get_any(delivery.endpoint_id)
                if endpoint is not None:
                    endpoint.enabled, endpoint.disabled_reason = False, "the receiver answered 410 Gone"
                delivery.status = "failed"
                log.warning("webhook endpoint %s disabled after a 410", delivery.endpoint_id)
            elif delivery.attempts >= self.settings.max_attempts:
                delivery.status = "failed"
                log.warning("webhook %s failed for good: %s", delivery_id, delivery.last_error)
            else:
                delivery.status = "pending"
                delivery.next_attempt_at = utcnow() + timedelta(seconds=self.backoff(delivery.attempts))

    def backoff(self, attempts: int) -> float:
        """Exponential, capped, with up to 10% jitter so retries from one outage do not arrive together."""
        delay: float = min(self.settings.backoff_base_s**attempts, self.settings.max_backoff_s)
        return delay * (1 + random.random() * 0.1)
