from __future__ import annotations

from fastapi import APIRouter, Depends

from pressroom.accounts.schemas import AccountOut, AccountUpdate, CreditsOut, DocumentQuota, UsageOut
from pressroom.api.deps import current_principal, require_admin, services
from pressroom.api.openapi import declare
from pressroom.bootstrap import Container
from pressroom.core.errors import Forbidden
from pressroom.core.principal import Principal
from pressroom.db.models import Account

router = APIRouter(prefix="/v1", tags=["account"])


def _out(container: Container, account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        plan=account.plan,
        webhook_signing_secret=account.webhook_secret,
        credits_left=container.credits.credits_left(account.id),
        created_at=account.created_at,
    )


@router.get("/account", response_model=AccountOut, responses=declare())
def get_account(
    principal: Principal = Depends(current_principal), container: Container = Depends(services)
) -> AccountOut:
    return _out(container, container.accounts.get(principal.account_id))


@router.patch("/account", response_model=AccountOut, responses=declare(Forbidden))
def update_account(
    body: AccountUpdate, principal: Principal = Depends(require_admin), container: Container = Depends(services)
) -> AccountOut:
    return _out(container, container.accounts.rename(principal.account_id, body.name))


@router.get("/credits", response_model=CreditsOut, responses=declare())
def get_credits(
    principal: Principal = Depends(current_principal), container: Container = Depends(services)
) -> CreditsOut:
    account = container.accounts.get(principal.account_id)
    return CreditsOut(credits_left=container.credits.credits_left(account.id), plan=account.plan)


@router.get("/usage", response_model=UsageOut, responses=declare())
def get_usage(principal: Principal = Depends(current_principal), container: Container = Depends(services)) -> UsageOut:
    account = container.accounts.get(principal.account_id)
    usage = container.credits.usage(account.id, account.plan)
    return UsageOut(
        plan=usage.plan,
        period_start=usage.period_start,
        period_end=usage.period_end,
        documents=DocumentQuota(used=usage.documents_used, limit=usage.documents_limit),
        operations=usage.operations,
        credits_charged=usage.credits_charged,
        credits_left=usage.credits_left,
    )
