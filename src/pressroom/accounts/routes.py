from __future__ import annotations

from fastapi import APIRouter, Depends

from pressroom.accounts.schemas import AccountOut
from pressroom.api.deps import Principal, current_principal, services
from pressroom.bootstrap import Container

router = APIRouter(prefix="/v1", tags=["account"])


@router.get("/account", response_model=AccountOut)
def get_account(
    principal: Principal = Depends(current_principal), container: Container = Depends(services)
) -> AccountOut:
    account = container.accounts.get(principal.account_id)
    return AccountOut(
        id=account.id,
        name=account.name,
        plan=account.plan,
        webhook_signing_secret=account.webhook_secret,
        created_at=account.created_at,
    )
