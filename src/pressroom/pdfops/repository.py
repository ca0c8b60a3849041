"""The queries of the PDF operations domain (signing keys), always scoped by account. Source documents are
read through ``documents.repository``; a job's operation report is written by the job runner."""

from __future__ import annotations

from sqlalchemy import select

from pressroom.core.errors import SigningKeyNotFound
from pressroom.db.models_pdf import SigningKey
from pressroom.db.repository import AccountScoped


class SigningKeyRepository(AccountScoped[SigningKey]):
    model = SigningKey
    not_found = SigningKeyNotFound
    newest_first = True

    def newest_first_of(self, account_id: str) -> list[SigningKey]:
        """Every key of the account, newest first (the listing is not paged: an account holds a few keys)."""
        query = select(SigningKey).where(SigningKey.account_id == account_id).order_by(SigningKey.created_at.desc())
        return list(self.session.scalars(query))
