from __future__ import annotations

from fastapi import APIRouter

from pressroom.accounts.schemas import AccountOut, AccountUpdate, CreditsOut, DocumentQuota, UsageOut
from pressroom.api.deps import Accounts, Admin, Caller, Credits, scope
from pressroom.api.openapi import declare
from pressroom.core.errors import Forbidden
from pressroom.credits.service import CreditService
from pressroom.db.models import Account

router = APIRouter(prefix="/v1", tags=["account"])


def _out(credits: CreditService, account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        plan=account.plan,
        webhook_signing_secret=account.webhook_secret,
        credits_left=credits.credits_left(account.id),
        created_at=account.created_at,
    )


@router.get("/account", response_model=AccountOut, responses=declare(), dependencies=[scope("account:read")])
def get_account(caller: Caller, accounts: Accounts, credits: Credits) -> AccountOut:
    return _out(credits, accounts.get(caller.account_id))


@router.patch(
    "/account", response_model=AccountOut, responses=declare(Forbidden), dependencies=[scope("account:write")]
)
def update_account(body: AccountUpdate, admin: Admin, accounts: Accounts, credits: Credits) -> AccountOut:
    return _out(credits, accounts.rename(admin.account_id, body.name))


@router.get("/credits", response_model=CreditsOut, responses=declare(), dependencies=[scope("account:read")])
def get_credits(caller: Caller, accounts: Accounts, credits: Credits) -> CreditsOut:
    account = accounts.get(caller.account_id)
    return CreditsOut(credits_left=credits.credits_left(account.id), plan=account.plan)


@router.get("/usage", response_model=UsageOut, responses=declare(), dependencies=[scope("account:read")])
def get_usage(caller: Caller, accounts: Accounts, credits: Credits) -> UsageOut:
    account = accounts.get(caller.account_id)
    usage = credits.usage(account.id, account.plan)
    return UsageOut(
        plan=usage.plan,
        period_start=usage.period_start,
        period_end=usage.period_end,
        documents=DocumentQuota(used=usage.documents_used, limit=usage.documents_limit),
        operations=usage.operations,
        credits_charged=usage.credits_charged,
        credits_left=usage.credits_left,
    )
