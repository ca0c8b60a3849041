"""Accounts (tenants). Every tenant-owned row carries an account id; every query filters by it."""

from __future__ import annotations

from pressroom.accounts.repository import AccountRepository
from pressroom.core.crypto import new_webhook_secret
from pressroom.core.errors import NotFound
from pressroom.core.ids import new_id
from pressroom.db.models import Account
from pressroom.db.session import Database


class AccountService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, name: str) -> tuple[Account, bool]:
        with self.db.session() as session:
            repo = AccountRepository(session)
            existing = repo.by_name(name)
            if existing is not None:
                return existing, False
            account = Account(id=new_id("acc"), name=name, plan="free", webhook_secret=new_webhook_secret())
            return repo.add(account), True

    def get(self, account_id: str) -> Account:
        with self.db.session() as session:
            account = AccountRepository(session).get(account_id)
            if account is None:
                raise NotFound("Account not found")
            return account

    def list(self) -> list[Account]:
        with self.db.session() as session:
            return AccountRepository(session).all()
