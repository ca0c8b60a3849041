"""The base of every repository of tenant-owned rows: lookups and pages that always filter by account.

A row of another account is indistinguishable from a missing one (``get`` returns None, ``get_or_raise``
raises the domain's NotFound, a 404), so no service can leak another tenant's row by forgetting a filter.
Like every repository it works inside the session it is built on and never commits: the transaction
belongs to whoever opened the session (see "Transactions" in docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Mapped, Session

from pressroom.core.errors import NotFound


class Owned(Protocol):
    """A mapped row that belongs to one account (every tenant-owned model has these three columns)."""

    id: Mapped[str]
    account_id: Mapped[str]
    created_at: Mapped[datetime]


ModelT = TypeVar("ModelT", bound=Owned)


class AccountScoped(Generic[ModelT]):
    """Subclasses name the ``model`` and the ``not_found`` error its lookups raise; pages run oldest first
    (``created_at``, then id as the tie-break) unless ``newest_first``."""

    model: type[ModelT]
    not_found: ClassVar[type[NotFound]] = NotFound
    newest_first: ClassVar[bool] = False

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ModelT) -> ModelT:
        """Insert ``row`` and flush, so its defaults are set and a constraint violation raises here."""
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, account_id: str, row_id: str) -> ModelT | None:
        """The account's row with this id; None when it does not exist or belongs to another account."""
        model = self.model
        return self.session.scalar(select(model).where(model.id == row_id, model.account_id == account_id))

    def get_or_raise(self, account_id: str, row_id: str) -> ModelT:
        """:meth:`get`, raising the domain's NotFound (a 404) instead of returning None."""
        row = self.get(account_id, row_id)
        if row is None:
            raise self.missing(row_id)
        return row

    def missing(self, row_id: str) -> NotFound:
        """The error for an id this account has no row for; a domain overrides it to add details."""
        return self.not_found()

    def get_any(self, row_id: str) -> ModelT | None:
        """The row with this id whoever owns it: for workers and operators, never for a tenant's request."""
        return self.session.get(self.model, row_id)

    def page(self, account_id: str, limit: int, offset: int, *filters: ColumnElement[bool]) -> tuple[list[ModelT], int]:
        """One page of the account's rows matching ``filters``, and how many match in all."""
        model = self.model
        conditions = (model.account_id == account_id, *filters)
        total = self.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
        created: Any = model.created_at.desc() if self.newest_first else model.created_at
        rows = self.session.scalars(
            select(model).where(*conditions).order_by(created, model.id).limit(limit).offset(offset)
        )
        return list(rows), int(total)

    def delete(self, row: ModelT) -> None:
        self.session.delete(row)
