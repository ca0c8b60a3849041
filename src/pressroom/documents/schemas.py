from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pressroom.core.filenames import StorableName
from pressroom.templates.schemas import DocumentOptions


class _Producing(BaseModel):
    """Fields every producing call accepts."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    options: dict[str, Any] = Field(default_factory=dict)
    is_async: bool = Field(default=False, alias="async")
    webhook_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] = Field(default_factory=dict)
    filename: StorableName | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _check_options(self) -> _Producing:
        # Validate now (400 with the field path) but keep the raw dict: it is merged over template options.
        DocumentOptions.model_validate(self.options)
        return self


class GenerateRequest(_Producing):
    template_id: str
    data: dict[str, Any] = Field(default_factory=dict)


class TransformRequest(_Producing):
    html: str = Field(min_length=1)
    css: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


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
