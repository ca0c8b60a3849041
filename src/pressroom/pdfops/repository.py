"""All queries of the PDF operations domain (signing keys, job reports, source documents), always scoped by
account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pressroom.db.models import Document
from pressroom.db.models_pdf import PdfJobReport, SigningKey


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


class ReportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, job_id: str, account_id: str, report: dict[str, Any]) -> None:
        existing = self.session.get(PdfJobReport, job_id)
        if existing is None:  # a retried job overwrites its report rather than adding a second one
            self.session.add(PdfJobReport(job_id=job_id, account_id=account_id, report=report))
        else:
            existing.report = report

    def get(self, account_id: str, job_id: str) -> dict[str, Any] | None:
        row = self.session.scalar(
            select(PdfJobReport).where(PdfJobReport.job_id == job_id, PdfJobReport.account_id == account_id)
        )
        return None if row is None else dict(row.report)


class SourceDocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def many(self, account_id: str, document_ids: list[str]) -> dict[str, Document]:
        """The account's documents among ``document_ids``, by id, in one query (missing ids are absent)."""
        query = select(Document).where(Document.account_id == account_id, Document.id.in_(set(document_ids)))
        return {document.id: document for document in self.session.scalars(query)}
