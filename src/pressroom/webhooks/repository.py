from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from pressroom.db.models import WebhookDelivery
from pressroom.db.models_tenancy import WebhookAttempt, WebhookEndpoint
from pressroom.db.repository import AccountScoped
from pressroom.webhooks.errors import WebhookDeliveryNotFound, WebhookNotFound


class WebhookRepository(AccountScoped[WebhookDelivery]):
    """Deliveries (the outbox) and their attempts; the dispatcher reads deliveries with ``get_any``."""

    model = WebhookDelivery
    not_found = WebhookDeliveryNotFound

    def add_delivery(self, delivery: WebhookDelivery) -> None:
        self.session.add(delivery)

    def for_job(self, job_id: str) -> list[WebhookDelivery]:
        return list(self.session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)))

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[str]:
        due = or_(
            and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
            and_(WebhookDelivery.status == "sending", WebhookDelivery.lease_expires_at < now),
        )
        candidates = list(
            self.session.scalars(
                select(WebhookDelivery.id).where(due).order_by(WebhookDelivery.next_attempt_at).limit(limit)
            )
        )
        claimed = []
        for delivery_id in candidates:
            result = self.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, due)
                .values(status="sending", lease_expires_at=now + lease)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(delivery_id)
        return claimed

    def deliveries_page(self, endpoint_id: str, limit: int, offset: int) -> tuple[list[WebhookDelivery], int]:
        where = WebhookDelivery.endpoint_id == endpoint_id
        total = self.session.scalar(select(func.count()).select_from(WebhookDelivery).where(where)) or 0
        rows = self.session.scalars(
            select(WebhookDelivery)
            .where(where)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), total

    def add_attempt(self, attempt: WebhookAttempt) -> None:
        self.session.add(attempt)

    def attempts(self, delivery_ids: list[str]) -> list[WebhookAttempt]:
        if not delivery_ids:
            return []
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.attempted_at)
        )
        return list(self.session.scalars(query))


class WebhookEndpointRepository(AccountScoped[WebhookEndpoint]):
    """Endpoints (subscriptions)."""

    model = WebhookEndpoint
    not_found = WebhookNotFound

    def for_account(self, account_id: str) -> list[WebhookEndpoint]:
        query = select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)
        return list(self.session.scalars(query.order_by(WebhookEndpoint.created_at)))

    def subscribed(self, account_id: str) -> list[WebhookEndpoint]:
        query = select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id, WebhookEndpoint.enabled)
        return list(self.session.scalars(query))
