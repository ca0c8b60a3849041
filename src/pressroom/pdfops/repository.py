"""All queries of the PDF operations domain (signing keys, source documents), always scoped by account.
(A job's operation report is written by the job runner with the finished job.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pressroom.db.models import Document
from pressroom.db.models_pdf import SigningKey


class SigningKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, key: SigningKey) -> SigningKey:
        self.session.add(key)
        self.session.flush()
        return key

    def get(self, account_id: str, key_id: str) -> SigningKey | None:
        return self.session.scalar(
            select(SigningKey).where(SigningKey.id == key_id, SigningKey.account_id == account_id)
        )

    def list(self, account_id: str) -> list[SigningKey]:
        query = select(SigningKey).where(SigningKey.account_id == account_id).order_by(SigningKey.created_at.desc())
        return list(self.session.scalars(query))

    def delete(self, key: SigningKey) -> None:
        self.session.delete(key)


class SourceDocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def many(self, account_id: str, document_ids: list[str]) -> dict[str, Document]:
        """The account's documents among ``document_ids``, by id, in one query (missing ids are absent)."""
        query = select(Document).where(Document.account_id == account_id, Document.id.in_(set(document_ids)))
        return {document.id: document for document in self.session.scalars(query)}
