"""Webhook subscriptions over HTTP (account-admin credentials only: they carry signing secrets)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pressroom.api.deps import Admin, Paging, WebhookEndpoints, scope
from pressroom.api.openapi import declare
from pressroom.core.errors import Forbidden, UrlForbidden
from pressroom.core.pagination import Page
from pressroom.webhooks.schemas import AttemptOut, DeliveryOut, WebhookCreate, WebhookOut, WebhookUpdate
from pressroom.webhooks.service import WebhookDeliveryNotFound, WebhookNotFound

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post(
    "",
    status_code=201,
    response_model=WebhookOut,
    responses=declare(Forbidden, UrlForbidden, post=True),
    dependencies=[scope("webhooks:write")],
)
def create_webhook(body: WebhookCreate, admin: Admin, endpoints: WebhookEndpoints) -> WebhookOut:
    endpoint = endpoints.create(admin.account_id, body.url, body.events, body.secret)
    return WebhookOut.model_validate(endpoint)


@router.get("", response_model=Page[WebhookOut], responses=declare(Forbidden), dependencies=[scope("webhooks:read")])
def list_webhooks(admin: Admin, endpoints: WebhookEndpoints) -> Page[WebhookOut]:
    data = [WebhookOut.model_validate(e) for e in endpoints.for_account(admin.account_id)]
    return Page(data=data, total=len(data), limit=len(data), offset=0)


@router.get(
    "/{endpoint_id}",
    response_model=WebhookOut,
    responses=declare(Forbidden, WebhookNotFound),
    dependencies=[scope("webhooks:read")],
)
def get_webhook(endpoint_id: str, admin: Admin, endpoints: WebhookEndpoints) -> WebhookOut:
    return WebhookOut.model_validate(endpoints.get(admin.account_id, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookOut,
    responses=declare(Forbidden, WebhookNotFound, UrlForbidden),
    dependencies=[scope("webhooks:write")],
)
def update_webhook(endpoint_id: str, body: WebhookUpdate, admin: Admin, endpoints: WebhookEndpoints) -> WebhookOut:
    endpoint = endpoints.update(
        admin.account_id,
        endpoint_id,
        url=body.url,
        events=body.events,
        enabled=body.enabled,
        rotate_secret=body.rotate_secret,
        secret=body.secret,
    )
    return WebhookOut.model_validate(endpoint)


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    responses=declare(Forbidden, WebhookNotFound),
    dependencies=[scope("webhooks:write")],
)
def delete_webhook(endpoint_id: str, admin: Admin, endpoints: WebhookEndpoints) -> Response:
    endpoints.delete(admin.account_id, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    responses=declare(Forbidden, WebhookNotFound),
    dependencies=[scope("webhooks:read")],
)
def list_deliveries(endpoint_id: str, paging: Paging, admin: Admin, endpoints: WebhookEndpoints) -> Page[DeliveryOut]:
    rows, total = endpoints.deliveries(admin.account_id, endpoint_id, paging.limit, paging.offset)
    data = [
        DeliveryOut(
            id=row.delivery.id,
            event=row.delivery.event,
            status=row.delivery.status,
            attempts=row.delivery.attempts,
            last_status_code=row.delivery.last_status_code,
            last_error=row.delivery.last_error,
            created_at=row.delivery.created_at,
            delivered_at=row.delivery.delivered_at,
            next_attempt_at=row.delivery.next_attempt_at,
            history=[AttemptOut.model_validate(a) for a in row.attempts],
        )
        for row in rows
    ]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    responses=declare(Forbidden, WebhookNotFound, WebhookDeliveryNotFound, post=True),
    dependencies=[scope("webhooks:write")],
)
def redeliver(endpoint_id: str, delivery_id: str, admin: Admin, endpoints: WebhookEndpoints) -> dict[str, str]:
    delivery = endpoints.redeliver(admin.account_id, endpoint_id, delivery_id)
    return {"id": delivery.id, "status": delivery.status}
