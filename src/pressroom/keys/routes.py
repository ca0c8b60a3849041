"""API keys over HTTP. Only account-admin credentials may manage keys (a key cannot mint its siblings)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from pressroom.api.deps import require_admin, services
from pressroom.api.openapi import declare
from pressroom.bootstrap import Container
from pressroom.core.errors import ApiKeyNotFound, Forbidden
from pressroom.core.pagination import Page
from pressroom.core.principal import Principal
from pressroom.db.models import ApiKey
from pressroom.keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, DailyUsage

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _out(key: ApiKey, usage: list[tuple[str, int]]) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        mode=key.mode,
        role=key.role,
        prefix=key.prefix,
        last_four=key.last_four,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        usage=[DailyUsage(date=date, documents=count) for date, count in usage],
    )


@router.get("", response_model=Page[ApiKeyOut], responses=declare(Forbidden))
def list_keys(
    principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> Page[ApiKeyOut]:
    keys = container.keys.for_account(principal.account_id)
    usage = container.keys.daily_usage(keys)
    data = [_out(key, usage[key.id]) for key in keys]
    return Page(data=data, total=len(data), limit=len(data), offset=0)


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=declare(Forbidden, post=True))
def create_key(
    body: ApiKeyCreate, principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> ApiKeyCreated:
    issued = container.keys.create(principal.account_id, body.mode, body.name, body.role)
    out = _out(issued.record, container.keys.daily_usage([issued.record])[issued.record.id])
    return ApiKeyCreated(**out.model_dump(), key=issued.secret)


@router.delete("/{key_id}", status_code=204, responses=declare(Forbidden, ApiKeyNotFound))
def revoke_key(
    key_id: str, principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> Response:
    container.keys.revoke(key_id, principal.account_id)
    return Response(status_code=204)
