"""Webhook subscriptions over HTTP (account-admin credentials only: they carry signing secrets)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from pressroom.api.deps import page_params, require_admin, services
from pressroom.api.openapi import declare
from pressroom.bootstrap import Container
from pressroom.core.errors import Forbidden, UrlForbidden
from pressroom.core.pagination import Page, PageParams
from pressroom.core.principal import Principal
from pressroom.webhooks.schemas import AttemptOut, DeliveryOut, WebhookCreate, WebhookOut, WebhookUpdate
from pressroom.webhooks.service import WebhookDeliveryNotFound, WebhookNotFound

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201, response_model=WebhookOut, responses=declare(Forbidden, UrlForbidden, post=True))
def create_webhook(
    body: WebhookCreate, principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> WebhookOut:
    endpoint = container.webhook_endpoints.create(principal.account_id, body.url, body.events, body.secret)
    return WebhookOut.model_validate(endpoint)


@router.get("", response_model=Page[WebhookOut], responses=declare(Forbidden))
def list_webhooks(
    principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> Page[WebhookOut]:
    data = [WebhookOut.model_validate(e) for e in container.webhook_endpoints.for_account(principal.account_id)]
    return Page(data=data, total=len(data), limit=len(data), offset=0)


@router.get("/{endpoint_id}", response_model=WebhookOut, responses=declare(Forbidden, WebhookNotFound))
def get_webhook(
    endpoint_id: str, principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> WebhookOut:
    return WebhookOut.model_validate(container.webhook_endpoints.get(principal.account_id, endpoint_id))


@router.patch("/{endpoint_id}", response_model=WebhookOut, responses=declare(Forbidden, WebhookNotFound, UrlForbidden))
def update_webhook(
    endpoint_id: str,
    body: WebhookUpdate,
    principal: Principal = Depends(require_admin),
    container: Container = Depends(services),
) -> WebhookOut:
    endpoint = container.webhook_endpoints.update(
        principal.account_id,
        endpoint_id,
        url=body.url,
        events=body.events,
        enabled=body.enabled,
        rotate_secret=body.rotate_secret,
        secret=body.secret,
    )
    return WebhookOut.model_validate(endpoint)


@router.delete("/{endpoint_id}", status_code=204, responses=declare(Forbidden, WebhookNotFound))
def delete_webhook(
    endpoint_id: str, principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> Response:
    container.webhook_endpoints.delete(principal.account_id, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/{endpoint_id}/deliveries", response_model=Page[DeliveryOut], responses=declare(Forbidden, WebhookNotFound)
)
def list_deliveries(
    endpoint_id: str,
    paging: PageParams = Depends(page_params),
    principal: Principal = Depends(require_admin),
    container: Container = Depends(services),
) -> Page[DeliveryOut]:
    rows, total = container.webhook_endpoints.deliveries(principal.account_id, endpoint_id, paging.limit, paging.offset)
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
)
def redeliver(
    endpoint_id: str,
    delivery_id: str,
    principal: Principal = Depends(require_admin),
    container: Container = Depends(services),
) -> dict[str, str]:
    delivery = container.webhook_endpoints.redeliver(principal.account_id, endpoint_id, delivery_id)
    return {"id": delivery.id, "status": delivery.status}
