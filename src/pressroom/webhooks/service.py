"""Webhook endpoints (subscriptions): CRUD, secret rotation, delivery history, redelivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pressroom.config import WebhookSettings
from pressroom.core.clock import utcnow
from pressroom.core.crypto import new_webhook_secret
from pressroom.core.errors import ValidationFailed
from pressroom.core.ids import new_id
from pressroom.db.models import WebhookDelivery
from pressroom.db.models_tenancy import WebhookAttempt, WebhookEndpoint
from pressroom.db.session import Database
from pressroom.net.blocking import UrlChecker
from pressroom.webhooks.errors import WebhookDeliveryNotFound, WebhookNotFound
from pressroom.webhooks.outbox import EVENTS
from pressroom.webhooks.repository import WebhookEndpointRepository, WebhookRepository

__all__ = ["EVENTS", "WebhookDeliveryNotFound", "WebhookEndpointService", "WebhookNotFound"]


@dataclass(frozen=True)
class DeliveryHistory:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise ValidationFailed(
            f"Unknown or missing events: {', '.join(unknown) or '(none given)'}", details={"allowed": list(EVENTS)}
        )
    return sorted(set(events))


class WebhookEndpointService:
    def __init__(self, db: Database, urls: UrlChecker, settings: WebhookSettings) -> None:
        self.db = db
        self.urls = urls
        self.settings = settings

    def create(self, account_id: str, url: str, events: list[str], secret: str | None) -> WebhookEndpoint:
        self.urls.check_webhook_url(url)
        endpoint = WebhookEndpoint(
            id=new_id("whe"),
            account_id=account_id,
            url=url,
            events=_check_events(events),
            secret=self._valid_secret(secret) if secret else new_webhook_secret(),
        )
        with self.db.session() as session:
            return WebhookEndpointRepository(session).add(endpoint)

    def for_account(self, account_id: str) -> list[WebhookEndpoint]:
        with self.db.session() as session:
            return WebhookEndpointRepository(session).for_account(account_id)

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint:
        with self.db.session() as session:
            return WebhookEndpointRepository(session).get_or_raise(account_id, endpoint_id)

    def update(
        self,
        account_id: str,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        enabled: bool | None = None,
        rotate_secret: bool = False,
        secret: str | None = None,
    ) -> WebhookEndpoint:
        if url is not None:
            self.urls.check_webhook_url(url)
        with self.db.session() as session:
            endpoint = WebhookEndpointRepository(session).get_or_raise(account_id, endpoint_id)
            if url is not None:
                endpoint.url = url
            if events is not None:
                endpoint.events = _check_events(events)
            if enabled is not None:
                endpoint.enabled = enabled
                endpoint.disabled_reason = None if enabled else "disabled by the account"
            if rotate_secret or secret:
                # The old secret keeps signing alongside the new one for the grace period.
                endpoint.previous_secret = endpoint.secret
                endpoint.previous_secret_expires_at = utcnow() + timedelta(
                    seconds=self.settings.secret_rotation_grace_s
                )
                endpoint.secret = self._valid_secret(secret) if secret else new_webhook_secret()
            session.flush()
            return endpoint

    def delete(self, account_id: str, endpoint_id: str) -> None:
        with self.db.session() as session:
            repo = WebhookEndpointRepository(session)
            repo.delete(repo.get_or_raise(account_id, endpoint_id))

    def deliveries(
        self, account_id: str, endpoint_id: str, limit: int, offset: int
    ) -> tuple[list[DeliveryHistory], int]:
        self.get(account_id, endpoint_id)
        with self.db.session() as session:
            repo = WebhookRepository(session)
            rows, total = repo.deliveries_page(endpoint_id, limit, offset)
            attempts = repo.attempts([row.id for row in rows])
        by_delivery: dict[str, list[WebhookAttempt]] = {}
        for attempt in attempts:
            by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
        return [DeliveryHistory(row, by_delivery.get(row.id, [])) for row in rows], total

    def redeliver(self, account_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again now (same webhook-id), whatever its state."""
        with self.db.session() as session:
            delivery = WebhookRepository(session).get_or_raise(account_id, delivery_id)
            if delivery.endpoint_id != endpoint_id:  # another endpoint's delivery is not found under this one
                raise WebhookDeliveryNotFound()
            delivery.status, delivery.next_attempt_at, delivery.lease_expires_at = "pending", utcnow(), None
            return delivery

    @staticmethod
    def _valid_secret(secret: str) -> str:
        import base64
        import binascii

        try:
            raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raw = b""
        if not secret.startswith("whsec_") or not 24 <= len(raw) <= 64:
            raise ValidationFailed("secret must be 'whsec_' + base64 of 24 to 64 random bytes")
        return secret
