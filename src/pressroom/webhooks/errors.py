"""The webhooks domain's errors: raised by its repositories' lookups, declared by its routes."""

from __future__ import annotations

from pressroom.core.errors import NotFound


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"


class WebhookDeliveryNotFound(NotFound):
    code = "WEBHOOK_DELIVERY_NOT_FOUND"
