"""API keys over HTTP. Only account-admin credentials may manage keys (a key cannot mint its siblings)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pressroom.api.deps import Admin, Keys, scope
from pressroom.api.openapi import declare
from pressroom.core.errors import ApiKeyNotFound, Forbidden
from pressroom.core.pagination import Page
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


@router.get("", response_model=Page[ApiKeyOut], responses=declare(Forbidden), dependencies=[scope("api-keys:read")])
def list_keys(admin: Admin, keys: Keys) -> Page[ApiKeyOut]:
    records = keys.for_account(admin.account_id)
    usage = keys.daily_usage(records)
    data = [_out(key, usage[key.id]) for key in records]
    return Page(data=data, total=len(data), limit=len(data), offset=0)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=declare(Forbidden, post=True),
    dependencies=[scope("api-keys:write")],
)
def create_key(body: ApiKeyCreate, admin: Admin, keys: Keys) -> ApiKeyCreated:
    issued = keys.create(admin.account_id, body.mode, body.name, body.role)
    out = _out(issued.record, keys.daily_usage([issued.record])[issued.record.id])
    return ApiKeyCreated(**out.model_dump(), key=issued.secret)


@router.delete(
    "/{key_id}",
    status_code=204,
    responses=declare(Forbidden, ApiKeyNotFound),
    dependencies=[scope("api-keys:write")],
)
def revoke_key(key_id: str, admin: Admin, keys: Keys) -> Response:
    keys.revoke(key_id, admin.account_id)
    return Response(status_code=204)
