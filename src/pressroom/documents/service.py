"""Stored documents: listing, download links (signed, expiring), deletion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pressroom.core.clock import utcnow
from pressroom.core.errors import DocumentNotFound, Forbidden, Gone
from pressroom.db.models import Document
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.storage.base import BlobStore
from pressroom.storage.signing import UrlSigner


class DocumentExpired(Gone):
    code = "DOCUMENT_EXPIRED"


class DownloadLinkInvalid(Forbidden):
    code = "DOWNLOAD_LINK_INVALID"


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    expires_in: int


class DocumentService:
    def __init__(self, db: Database, store: BlobStore, signer: UrlSigner, link_ttl_s: int) -> None:
        self.db = db
        self.store = store
        self.signer = signer
        self.link_ttl_s = link_ttl_s

    def get(self, account_id: str, document_id: str) -> Document:
        with self.db.session() as session:
            document = DocumentRepository(session).get(account_id, document_id)
            if document is None:
                raise DocumentNotFound()
            return document

    def page(
        self, account_id: str, limit: int, offset: int, status: str | None, template_id: str | None
    ) -> tuple[list[Document], int]:
        with self.db.session() as session:
            return DocumentRepository(session).page(account_id, limit, offset, status, template_id)

    def link(self, document: Document) -> DownloadLink | None:
        """A signed URL, or None once the document expired."""
        if self.is_expired(document):
            return None
        url, expires = self.signer.url(document.id, self.link_ttl_s)
        return DownloadLink(url=url, expires_at=datetime.fromtimestamp(expires, UTC), expires_in=self.link_ttl_s)

    def download_link(self, account_id: str, document_id: str) -> DownloadLink:
        document = self.get(account_id, document_id)
        link = self.link(document)
        if link is None:
            raise DocumentExpired()
        return link

    def read(self, account_id: str, document_id: str) -> tuple[Document, bytes]:
        document = self.get(account_id, document_id)
        return document, self._content(document)

    def read_signed(self, document_id: str, expires: int, signature: str) -> tuple[Document, bytes]:
        """The no-auth download behind a signed link; tampered or expired links are 403."""
        if not self.signer.verify(document_id, expires, signature):
            raise DownloadLinkInvalid()
        with self.db.session() as session:
            document = DocumentRepository(session).get_any(document_id)
        if document is None:
            raise DocumentNotFound()
        return document, self._content(document)

    def delete(self, account_id: str, document_id: str) -> None:
        with self.db.session() as session:
            repo = DocumentRepository(session)
            document = repo.get(account_id, document_id)
            if document is None:
                raise DocumentNotFound()
            repo.delete(document)
        self.store.delete(document.storage_key)

    @staticmethod
    def is_expired(document: Document) -> bool:
        return document.expires_at is not None and document.expires_at <= utcnow()

    def _content(self, document: Document) -> bytes:
        if self.is_expired(document):
            raise DocumentExpired()
        try:
            return self.store.get(document.storage_key)
        except KeyError as exc:
            raise DocumentExpired("The document's file is no longer stored") from exc
