"""Tables of the PDF operations: signing keys (encrypted at rest) and per-job operation reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pressroom.core.clock import utcnow
from pressroom.db.models import Base


class SigningKey(Base):
    """A tenant's PKCS#12 signing key. ``ciphertext`` is AES-256-GCM under a key derived from the service
    secret (HKDF with this row's ``salt``), bound to (account, id) as associated data; it holds the
    PKCS#12 bytes and their password. Only the certificate's public facts are kept in clear."""

    __tablename__ = "signing_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    serial_number: Mapped[str] = mapped_column(String(100))
    fingerprint_sha256: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PdfJobReport(Base):
    """What a PDF operation measured (bytes before/after, steps, PDF/A level...), shown with its document."""

    __tablename__ = "pdf_job_reports"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
