from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pressroom.db.models import Account


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: str) -> Account | None:
        return self.session.get(Account, account_id)

    def by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def add(self, account: Account) -> Account:
        self.session.add(account)
        self.session.flush()
        return account

    def all(self) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.created_at)))
