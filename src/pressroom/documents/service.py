"""Stored documents: listing, download links (signed, expiring), deletion."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from pressroom.core.clock import utcnow
from pressroom.core.errors import DocumentNotFound, Forbidden, Gone, StorageKeyInvalid
from pressroom.core.filenames import safe_filename
from pressroom.db.models import Document
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.storage.base import BlobStore
from pressroom.storage.signing import UrlSigner

log = logging.getLogger("pressroom.documents")

# SigV4 presigned URLs cannot live longer than a week.
MAX_PRESIGNED_TTL_S = 7 * 24 * 3600


class Presigner(Protocol):
    """A store that can hand out time-limited URLs to its objects (``storage.s3.S3BlobStore``)."""

    def presigned_url(self, key: str, ttl_s: int, filename: str, content_type: str) -> str: ...


class DocumentExpired(Gone):
    code = "DOCUMENT_EXPIRED"


class DownloadLinkInvalid(Forbidden):
    code = "DOWNLOAD_LINK_INVALID"


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    expires_in: int


def add_job_document(
    session: Session,
    *,
    document_id: str,
    account_id: str,
    job_id: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    pages: int,
    storage_key: str,
    metadata: dict[str, Any],
    created_at: datetime,
    expires_at: datetime,
    template_id: str | None = None,
) -> Document:
    """Write the document row of a finished job in the caller's transaction (the job runner's, which ends
    the job in the same one): documents are written here, not by the jobs domain."""
    document = Document(
        id=document_id,
        account_id=account_id,
        job_id=job_id,
        template_id=template_id,
        # Display metadata only; cleaned once more so that no operation can store an unsafe name.
        filename=safe_filename(filename, None, extension=""),
        content_type=content_type,
        size_bytes=size_bytes,
        pages=pages,
        storage_key=storage_key,
        doc_metadata=metadata,
        created_at=created_at,
        expires_at=expires_at,
    )
    return DocumentRepository(session).add(document)


class DocumentService:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        signer: UrlSigner,
        link_ttl_s: int,
        presigner: Presigner | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.signer = signer
        self.link_ttl_s = link_ttl_s
        # Set (S3 with downloads="presigned"): links point at the object store itself, so downloads
        # never cross an API node. Unset: Pressroom's own signed links, served by /v1/files/{id}.
        self.presigner = presigner

    def get(self, account_id: str, document_id: str) -> Document:
        with self.db.session() as session:
            return DocumentRepository(session).get_or_raise(account_id, document_id)

    def page(
        self, account_id: str, limit: int, offset: int, status: str | None, template_id: str | None
    ) -> tuple[list[Document], int]:
        with self.db.session() as session:
            filters = [
                *(() if status is None else (Document.status == status,)),
                *(() if template_id is None else (Document.template_id == template_id,)),
            ]
            return DocumentRepository(session).page(account_id, limit, offset, *filters)

    def link(self, document: Document) -> DownloadLink | None:
        """A signed URL, or None once the document expired."""
        if self.is_expired(document):
            return None
        if self.presigner is not None:
            ttl = min(self.link_ttl_s, MAX_PRESIGNED_TTL_S)
            try:
                url = self.presigner.presigned_url(document.storage_key, ttl, document.filename, document.content_type)
            except StorageKeyInvalid:
                # A row from before keys were made of ids alone: no link (as when expired) rather than a 500
                # on every list page that contains it.
                log.warning("document %s: storage key refused, no download link", document.id)
                return None
            return DownloadLink(url=url, expires_at=utcnow() + timedelta(seconds=ttl), expires_in=ttl)
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
            document = repo.get_or_raise(account_id, document_id)
            repo.delete(document)
        self._delete_blob(document)

    def _delete_blob(self, document: Document) -> None:
        try:
            self.store.delete(document.storage_key)
        except StorageKeyInvalid:
            # A row from before keys were made of ids alone, whose key the stores now refuse: its blob cannot
            # be addressed (an operator removes it by hand); the row must still be deletable and sweepable.
            log.warning("document %s: storage key refused, blob left in place", document.id)

    def sweep_expired(self, limit: int = 200) -> int:
        """Retention: delete the stored files of expired documents; their metadata rows stay (410 on download)."""
        with self.db.session() as session:
            expired = DocumentRepository(session).expired(utcnow(), limit)
            for document in expired:
                self._delete_blob(document)
                document.status = "expired"
            return len(expired)

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
        except StorageKeyInvalid as exc:  # a row from before keys were made of ids alone (see link())
            raise DocumentExpired("The document's file can no longer be read") from exc
