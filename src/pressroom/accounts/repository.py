from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pressroom.core.errors import NotFound
from pressroom.db.models import Account


def account_not_found() -> NotFound:
    return NotFound("Account not found", code="ACCOUNT_NOT_FOUND")


class AccountRepository:
    """The tenants themselves: not account-scoped (an account's id is the scope)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: str) -> Account | None:
        return self.session.get(Account, account_id)

    def get_or_raise(self, account_id: str) -> Account:
        account = self.get(account_id)
        if account is None:
            raise account_not_found()
        return account

    def by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def add(self, account: Account) -> Account:
        self.session.add(account)
        self.session.flush()
        return account

    def all(self) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.created_at)))
