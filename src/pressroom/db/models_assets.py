"""Assets: tenant-owned files (images, fonts, CSS) that templates reference by name (``asset:logo.png``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pressroom.core.clock import utcnow
from pressroom.db.models import Base


class Asset(Base):
    """The bytes live in the blob store under ``storage_key``; the row holds what renders need to know
    (type, font family/weight/style) without reading them."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_assets_account_name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # image | font | css
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    font_family: Mapped[str | None] = mapped_column(String(200), default=None)
    font_weight: Mapped[int | None] = mapped_column(Integer, default=None)
    font_style: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
