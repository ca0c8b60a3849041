"""Requests of the producing calls that render a template or raw HTML (generate, transform)."""

from __future__ import annotations

from typing import Any

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
