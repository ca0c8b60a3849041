"""What a renderer can do, independent of the engine behind it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "A0": (841, 1189),
    "A1": (594, 841),
    "A2": (420, 594),
    "A3": (297, 420),
    "A4": (210, 297),
    "A5": (148, 210),
    "A6": (105, 148),
    "LETTER": (215.9, 279.4),
    "LEGAL": (215.9, 355.6),
    "TABLOID": (279.4, 431.8),
}

_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(in|mm|cm|px)?\s*$")


def normalize_length(value: str | float | int) -> str:
    """'10mm', '1in', 12 (px) -> a CSS length Chromium accepts; raises ValueError otherwise."""
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("length must not be negative")
        return f"{value}px"
    match = _LENGTH.match(value)
    if not match:
        raise ValueError(f"invalid length {value!r}: use a number with in, mm, cm or px")
    return f"{match.group(1)}{match.group(2) or 'px'}"


class Margins(BaseModel):
    model_config = ConfigDict(extra="forbid")
    top: str = "0mm"
    right: str = "0mm"
    bottom: str = "0mm"
    left: str = "0mm"

    @field_validator("top", "right", "bottom", "left", mode="before")
    @classmethod
    def _length(cls, value: str | float | int) -> str:
        return normalize_length(value)


class PageOptions(BaseModel):
    """Page settings shared by every engine. Unknown keys are refused (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid")

    paper: str = "A4"
    width: str | None = None
    height: str | None = None
    orientation: Literal["portrait", "landscape"] = "portrait"
    scale: float = Field(default=1.0, ge=0.1, le=2.0)
    margin: Margins = Margins()
    header_html: str | None = None
    footer_html: str | None = None
    print_background: bool = True
    page_ranges: str | None = None
    tagged: bool = False
    outline: bool = False
    timeout_s: float | None = Field(default=None, gt=0)

    @field_validator("paper")
    @classmethod
    def _paper(cls, value: str) -> str:
        if value.upper() not in PAPER_SIZES_MM:
            raise ValueError(f"unknown paper {value!r}; one of {', '.join(PAPER_SIZES_MM)}")
        return value.upper()

    @field_validator("margin", mode="before")
    @classmethod
    def _margin(cls, value: object) -> object:
        if isinstance(value, str | int | float):  # one length for all four sides
            return {"top": value, "right": value, "bottom": value, "left": value}
        return value

    @field_validator("width", "height", mode="before")
    @classmethod
    def _size(cls, value: str | float | int | None) -> str | None:
        return None if value is None else normalize_length(value)


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int
    engine: str
    render_ms: float


class Renderer(Protocol):
    """An engine that turns a full HTML document into a PDF."""

    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def render_pdf(self, html: str, options: PageOptions, *, timeout_s: float) -> RenderedPdf:
        """Render ``html``; raise RenderTimeout / RenderFailed / QueueFull from pressroom.core.errors."""
        ...
