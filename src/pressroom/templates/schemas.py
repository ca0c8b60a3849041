from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from pressroom.core.filenames import StorableName
from pressroom.pdfops.schemas import PdfOptions
from pressroom.rendering.base import PageOptions
from pressroom.rendering.frameworks import Framework

Engine = Literal["chromium", "weasyprint"]


def check_engine_features(engine: str, framework: str, options: PageOptions) -> None:
    """Refuse what the chosen engine cannot do (ValueError; a 400 with the field path)."""
    if engine == "weasyprint" and framework == "tailwind":
        raise ValueError("framework 'tailwind' runs in the page: it needs engine 'chromium'")
    if engine == "chromium" and (options.pdf_variant or options.attachments):
        raise ValueError("pdf_variant and attachments need engine 'weasyprint'")


class DocumentOptions(PageOptions):
    """Page settings plus what the template helpers need (locale/timezone for formatDate & co.)."""

    # None: the operator's default (render.default_engine); WeasyPrint when Chromium is not installed.
    engine: Engine | None = None
    # A CSS framework served locally: tailwind (Chromium) or bootstrap (both engines).
    framework: Framework = "none"
    # Uploaded font families to load (those named in the template's CSS/HTML are found automatically).
    fonts: list[str] = Field(default_factory=list, max_length=20)
    locale: str | None = Field(default=None, max_length=35)
    timezone: str | None = Field(default=None, max_length=64)
    # PDF post-processing (merge, embed, metadata, watermark, PDF/A, Factur-X, compress, sign, encrypt).
    pdf: PdfOptions | None = None

    @model_validator(mode="after")
    def _engine_features(self) -> DocumentOptions:
        if self.engine is not None:
            check_engine_features(self.engine, self.framework, self)
        return self


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StorableName = Field(min_length=1, max_length=200)
    body: str = Field(max_length=2_000_000)
    css: str = Field(default="", max_length=2_000_000)
    sample_data: dict[str, Any] = Field(default_factory=dict)
    options: DocumentOptions = Field(default_factory=DocumentOptions)
    folder_id: str | None = None
    # The upsert key: a create naming an existing one updates that template (200) instead.
    external_id: str | None = Field(default=None, min_length=1, max_length=200)


class TemplateUpdate(BaseModel):
    """A partial update: only the fields sent change. ``folder_id`` and ``external_id`` may be sent as
    ``null`` (to clear them); the other fields may be omitted but not nulled: a template always has them,
    and a stored null used to make every later read of the template fail."""

    model_config = ConfigDict(extra="forbid")
    # `| SkipJsonSchema[None]`: None is only the "not sent" default, so the schema says "not nullable"
    # (not on the constrained strings: pydantic cannot apply their length limits through it).
    name: StorableName | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=2_000_000)
    css: str | None = Field(default=None, max_length=2_000_000)
    sample_data: dict[str, Any] | SkipJsonSchema[None] = None
    options: DocumentOptions | SkipJsonSchema[None] = None
    folder_id: str | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("name", "body", "css", "sample_data", "options")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields that were sent (defaults are not validated): this is an explicit null.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


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

    @field_validator("sample_data", "options", mode="before")
    @classmethod
    def _stored_null(cls, value: object) -> object:
        # A PATCH with {"sample_data": null} used to be stored as JSON null (the door refuses it now): such a
        # template still reads, as an empty object, instead of failing every GET and every list.
        return {} if value is None else value


class TemplateSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: Literal["html"]
    name: str
    folder_id: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
