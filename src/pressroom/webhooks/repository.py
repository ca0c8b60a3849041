from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from pressroom.db.models import WebhookDelivery


class WebhookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, delivery_id: str) -> WebhookDelivery | None:
        return self.session.get(WebhookDelivery, delivery_id)

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
