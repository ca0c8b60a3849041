"""The queries of stored documents, always scoped by account (``db.repository.AccountScoped``) except where
a worker or an operator needs a row whoever owns it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from pressroom.core.errors import DocumentNotFound
from pressroom.db.models import Document
from pressroom.db.repository import AccountScoped


class DocumentRepository(AccountScoped[Document]):
    model = Document
    not_found = DocumentNotFound
    newest_first = True

    def many(self, account_id: str, document_ids: list[str]) -> dict[str, Document]:
        """The account's documents among ``document_ids``, by id, in one query (missing ids are absent)."""
        query = select(Document).where(Document.account_id == account_id, Document.id.in_(set(document_ids)))
        return {document.id: document for document in self.session.scalars(query)}

    def by_job(self, job_id: str) -> Document | None:
        return self.session.scalar(select(Document).where(Document.job_id == job_id))

    def expired(self, now: datetime, limit: int) -> list[Document]:
        query = select(Document).where(Document.expires_at < now, Document.status != "expired").limit(limit)
        return list(self.session.scalars(query))
