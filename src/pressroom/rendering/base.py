"""What a renderer can do, independent of the engine behind it."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pressroom.core.errors import PayloadTooLarge, ValidationFailed

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

# Templates reference Pressroom's own assets (uploaded images/fonts/CSS, CSS frameworks) under this origin;
# it never resolves on a network (.invalid): every engine answers it from the render's asset map.
ASSET_PREFIX = "https://assets.pressroom.invalid/"

UNIT_PER_INCH = {"in": 1.0, "mm": 25.4, "cm": 2.54, "px": 96.0}
# Any page length or margin beyond this (about 26 m) is a mistake, not a page: refused as VALIDATION_ERROR.
MAX_LENGTH_PX = 100_000
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(in|mm|cm|px)?\s*$")


def normalize_length(value: str | float | int) -> str:
    """'10mm', '1in', 12 (px) -> a CSS length Chromium accepts; raises ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        # `true` is an int to Python: it used to become "Truepx" and fail the job (500) after admission.
        raise ValueError(f"invalid length {value!r}: use a number (px) or a string with in, mm, cm or px")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value <= MAX_LENGTH_PX:
            raise ValueError(f"length must be a number from 0 to {MAX_LENGTH_PX} (px)")
        return f"{value:f}".rstrip("0").rstrip(".") + "px"
    match = _LENGTH.match(value)
    if not match:
        raise ValueError(f"invalid length {value!r}: use a number with in, mm, cm or px")
    unit = match.group(2) or "px"
    if float(match.group(1)) * 96.0 / UNIT_PER_INCH[unit] > MAX_LENGTH_PX:
        raise ValueError(f"length {value!r} is longer than {MAX_LENGTH_PX}px")
    return f"{match.group(1)}{unit}"


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


MAX_WAIT_DELAY_MS = 10_000
PDF_VARIANTS = ("pdf/a-1b", "pdf/a-2b", "pdf/a-3b", "pdf/a-2u", "pdf/a-3u", "pdf/ua-1")
PdfVariant = Literal["pdf/a-1b", "pdf/a-2b", "pdf/a-3b", "pdf/a-2u", "pdf/a-3u", "pdf/ua-1"]


class WaitSelector(BaseModel):
    """Print once an element matching this CSS selector is attached (Chromium)."""

    model_config = ConfigDict(extra="forbid")
    selector: str = Field(min_length=1, max_length=1000)


class WaitExpression(BaseModel):
    """Print once this JavaScript expression is truthy, polled every 50 ms (Chromium)."""

    model_config = ConfigDict(extra="forbid")
    expression: str = Field(min_length=1, max_length=10_000)


class WaitDelay(BaseModel):
    """Print this many milliseconds after the load event (capped; Chromium)."""

    model_config = ConfigDict(extra="forbid")
    delay_ms: int = Field(ge=0, le=MAX_WAIT_DELAY_MS)


WaitFor = Literal["load", "networkidle"] | WaitSelector | WaitExpression | WaitDelay


class PdfAttachment(BaseModel):
    """A file embedded in the PDF (WeasyPrint). ``asset`` names an uploaded asset; the generation service
    turns it into ``content_base64`` before the engine sees it."""

    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=200)
    content_base64: str | None = Field(default=None, max_length=20_000_000)
    asset: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _one_source(self) -> PdfAttachment:
        if (self.content_base64 is None) == (self.asset is None):
            raise ValueError("give exactly one of content_base64 or asset")
        if self.content_base64 is not None:
            try:
                base64.b64decode(self.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("content_base64 is not valid base64") from None
        return self

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64 or "")


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
    # When to print (Chromium; WeasyPrint runs no scripts and prints once the document is laid out).
    wait_for: WaitFor = "load"
    emulate_media: Literal["print", "screen"] = "print"
    # WeasyPrint only: a PDF/A or PDF/UA variant and embedded files.
    pdf_variant: PdfVariant | None = None
    attachments: list[PdfAttachment] = Field(default_factory=list, max_length=50)

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


def to_inches(length: str) -> float:
    """'210mm' -> 8.2677...; lengths come from base.normalize_length (in, mm, cm, px)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(in|mm|cm|px)", length.strip())
    if not match:
        raise ValidationFailed(f"invalid length {length!r}", details={"length": length})
    return float(match.group(1)) / UNIT_PER_INCH[match.group(2)]


def page_size_inches(options: PageOptions) -> tuple[float, float]:
    paper_w, paper_h = (mm / 25.4 for mm in PAPER_SIZES_MM[options.paper])
    width = to_inches(options.width) if options.width else paper_w
    height = to_inches(options.height) if options.height else paper_h
    if options.orientation == "landscape":
        width, height = height, width
    return width, height


@dataclass(frozen=True)
class StaticAsset:
    """A file a render may load under the asset prefix (an uploaded image/font/CSS, a CSS framework)."""

    content_type: str
    data: bytes


# URL (under the asset prefix) -> file, for one render: only these (plus the global frameworks) are served,
# so a template cannot name another tenant's asset.
AssetMap = Mapping[str, StaticAsset]


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int
    engine: str
    render_ms: float
    # What the engine left out or changed and the caller should know (an oversized image WeasyPrint did
    # not draw, SVG <use> copies cut: rendering/limits.py); empty for a faithful render.
    warnings: tuple[str, ...] = ()


class Renderer(Protocol):
    """An engine that turns a full HTML document into a PDF."""

    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def render_pdf(
        self,
        html: str,
        options: PageOptions,
        *,
        timeout_s: float,
        assets: AssetMap | None = None,
        deadline: float | None = None,
    ) -> RenderedPdf:
        """Render ``html``; raise RenderTimeout / RenderFailed / QueueFull from pressroom.core.errors.

        ``assets`` are the files this render may load under the asset prefix (tenant-scoped). ``deadline``
        (``time.monotonic()``, sync requests: rendering/deadline.py) bounds the wait for a slot and the
        render together: past it, QueueFull when the render never started, RenderTimeout when it had."""
        ...


def check_html_size(html: str, max_bytes: int) -> None:
    """Every engine refuses oversized HTML the same way (413), before any work."""
    size = len(html.encode("utf-8"))
    if size > max_bytes:
        raise PayloadTooLarge(f"HTML is {size} bytes; the limit is {max_bytes}", details={"max_bytes": max_bytes})
