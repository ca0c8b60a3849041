from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pressroom.rendering.base import PageOptions


class DocumentOptions(PageOptions):
    """Page settings plus what the template helpers need (locale/timezone for formatDate & co.)."""

    engine: Literal["chromium"] = "chromium"
    locale: str | None = Field(default=None, max_length=35)
    timezone: str | None = Field(default=None, max_length=64)


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    body: str = Field(max_length=2_000_000)
    css: str = Field(default="", max_length=2_000_000)
    sample_data: dict[str, Any] = Field(default_factory=dict)
    options: DocumentOptions = Field(default_factory=DocumentOptions)
    folder_id: str | None = None
    external_id: str | None = Field(default=None, max_length=200)


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=2_000_000)
    css: str | None = Field(default=None, max_length=2_000_000)
    sample_data: dict[str, Any] | None = None
    options: DocumentOptions | None = None
    folder_id: str | None = None
    external_id: str | None = Field(default=None, max_length=200)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: Literal["html"]
    name: str
    body: str
    css: str
    sample_data: dict[str, Any]
    options: dict[str, Any]
    folder_id: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class TemplateSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: Literal["html"]
    name: str
    folder_id: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
