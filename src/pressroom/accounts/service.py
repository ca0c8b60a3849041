"""Accounts (tenants). Every tenant-owned row carries an account id; every query filters by it."""

from __future__ import annotations

from pressroom.accounts.repository import AccountRepository
from pressroom.core.crypto import new_webhook_secret
from pressroom.core.errors import Conflict, ValidationFailed
from pressroom.core.ids import new_id
from pressroom.db.models import Account
from pressroom.db.session import Database


class AccountService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, name: str, plan: str = "free") -> tuple[Account, bool]:
        with self.db.session() as session:
            repo = AccountRepository(session)
            existing = repo.by_name(name)
            if existing is not None:
                return existing, False
            account = Account(id=new_id("acc"), name=name, plan=plan, webhook_secret=new_webhook_secret())
            return repo.add(account), True

    def get(self, account_id: str) -> Account:
        with self.db.session() as session:
            return AccountRepository(session).get_or_raise(account_id)

    def all(self) -> list[Account]:
        with self.db.session() as session:
            return AccountRepository(session).all()

    def rename(self, account_id: str, name: str) -> Account:
        with self.db.session() as session:
            repo = AccountRepository(session)
            account = repo.get_or_raise(account_id)
            clash = repo.by_name(name)
            if clash is not None and clash.id != account_id:
                raise Conflict(f"An account named {name!r} already exists", code="ACCOUNT_NAME_TAKEN")
            account.name = name
            return account

    def set_plan(self, account_id: str, plan: str, known_plans: list[str]) -> Account:
        if plan not in known_plans:
            raise ValidationFailed(f"Unknown plan {plan!r}; one of {', '.join(known_plans)}")
        with self.db.session() as session:
            account = AccountRepository(session).get_or_raise(account_id)
            account.plan = plan
            return account
