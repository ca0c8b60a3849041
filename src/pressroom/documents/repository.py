from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pressroom.db.models import Document


class DocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, document: Document) -> Document:
        self.session.add(document)
        self.session.flush()
        return document

    def get(self, account_id: str, document_id: str) -> Document | None:
        return self.session.scalar(
            select(Document).where(Document.id == document_id, Document.account_id == account_id)
        )

    def get_any(self, document_id: str) -> Document | None:
        return self.session.get(Document, document_id)

    def by_job(self, job_id: str) -> Document | None:
        return self.session.scalar(select(Document).where(Document.job_id == job_id))

    def page(
        self,
        account_id: str,
        limit: int,
        offset: int,
        status: str | None = None,
        template_id: str | None = None,
    ) -> tuple[list[Document], int]:
        conditions = [Document.account_id == account_id]
        if status is not None:
            conditions.append(Document.status == status)
        if template_id is not None:
            conditions.append(Document.template_id == template_id)
        total = self.session.scalar(select(func.count()).select_from(Document).where(*conditions)) or 0
        rows = self.session.scalars(
            select(Document)
            .where(*conditions)
            .order_by(Document.created_at.desc(), Document.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), total

    def expired(self, now: datetime, limit: int) -> list[Document]:
        query = select(Document).where(Document.expires_at < now, Document.status != "expired").limit(limit)
        return list(self.session.scalars(query))

    def delete(self, document: Document) -> None:
        self.session.delete(document)
