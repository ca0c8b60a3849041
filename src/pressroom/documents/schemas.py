from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class DocumentOut(BaseModel):
    id: str
    status: str
    download_url: str | None
    download_url_expires_at: datetime | None
    expires_at: datetime | None
    filename: str
    content_type: str
    pages: int
    size_bytes: int
    template_id: str | None
    job_id: str
    metadata: dict[str, Any]
    created_at: datetime
    credits_charged: int | None = None
    credits_left: int | None = None
    # Sync answers only: what the render left out (an image beyond render.max_image_pixels that WeasyPrint
    # did not draw, SVG <use> copies cut). Absent when the render was faithful.
    warnings: list[str] | None = None


class DownloadOut(BaseModel):
    download_url: str
    expires_in: int
    expires_at: datetime


class JobAccepted(BaseModel):
    job_id: str
    status: Literal["pending"]
    status_url: str
    credits_charged: int
    credits_left: int
