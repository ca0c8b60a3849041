"""Printing with Chromium: PageOptions translated to the arguments of Playwright's ``page.pdf`` (paper,
margins, page ranges, header/footer bands with their placeholders), loading a document and waiting for
what its options ask (selector, expression, delay, web fonts, the bands' fonts), and the print itself.
Pure functions of a page: no browser or pool state lives here."""

from __future__ import annotations

import asyncio
import importlib
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page, PdfMargins

from pressroom.core.errors import ValidationFailed
from pressroom.rendering.base import (
    AssetMap,
    PageOptions,
    WaitDelay,
    WaitExpression,
    WaitSelector,
    page_size_inches,
    to_inches,
)

# When a header (footer) is given and the top (bottom) margin is 0, Chromium would draw it in a zero-high
# band, i.e. not at all; this margin leaves room for one or two lines of 10px text.
HEADER_FOOTER_DEFAULT_MARGIN = "15mm"
HEADER_FOOTER_FONT_SIZE = "10px"
WAIT_POLL_MS = 50

_PAGE_RANGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")
_PLACEHOLDERS = (
    (re.compile(r"\{\{\s*pages\s*\}\}|\{pages\}"), '<span class="totalPages"></span>'),
    (re.compile(r"\{\{\s*page\s*\}\}|\{page\}"), '<span class="pageNumber"></span>'),
    (re.compile(r"\{\{\s*date\s*\}\}|\{date\}"), '<span class="date"></span>'),
    (re.compile(r"\{\{\s*title\s*\}\}|\{title\}"), '<span class="title"></span>'),
)

# pypdfium2 ships no type information; it is only used to count pages.
_pdfium: Any = importlib.import_module("pypdfium2")


@dataclass(frozen=True)
class PdfParams:
    """PageOptions translated to the arguments of Playwright's ``page.pdf``."""

    width: str
    height: str
    margin: dict[str, str]
    scale: float
    print_background: bool
    page_ranges: str
    display_header_footer: bool
    header_template: str
    footer_template: str
    tagged: bool
    outline: bool


def _inch_text(inches: float) -> str:
    # Inches are exact in Playwright (96 px/in); its mm factor (3.78 px/mm) is rounded. Chromium then
    # quantizes to 0.96 pt steps: A4 comes out 595.92 x 841.92 pt, Letter exactly 612 x 792.
    return f"{round(inches, 6)}in"


def translate_placeholders(html: str) -> str:
    """``{page}``/``{pages}``/``{date}``/``{title}`` (and a literal ``{{page}}``...) -> Chromium's spans."""
    for pattern, replacement in _PLACEHOLDERS:
        html = pattern.sub(replacement, html)
    return html


def _band_template(html: str | None, left: str, right: str) -> str:
    if not html:
        return "<span></span>"  # an empty template would make Chromium print its default date/title band
    return (
        f'<div style="font-size:{HEADER_FOOTER_FONT_SIZE};width:100%;box-sizing:border-box;'
        f'padding:0 {right} 0 {left};">{translate_placeholders(html)}</div>'
    )


def pdf_params(options: PageOptions) -> PdfParams:
    """Map engine-agnostic PageOptions onto Chromium's print parameters (validating page_ranges)."""
    if options.page_ranges and not _PAGE_RANGES.match(options.page_ranges):
        raise ValidationFailed(
            f"invalid page_ranges {options.page_ranges!r}: use e.g. '1-3, 5'",
            details={"field": "page_ranges"},
        )
    width, height = page_size_inches(options)
    margin = {side: to_inches(getattr(options.margin, side)) for side in ("top", "right", "bottom", "left")}
    default_band = to_inches(HEADER_FOOTER_DEFAULT_MARGIN)
    if options.header_html and margin["top"] == 0:
        margin["top"] = default_band
    if options.footer_html and margin["bottom"] == 0:
        margin["bottom"] = default_band
    # The header/footer band spans the whole page width: pad it like the body, at least 10 mm.
    left = _inch_text(max(margin["left"], 10 / 25.4))
    right = _inch_text(max(margin["right"], 10 / 25.4))
    bands = bool(options.header_html or options.footer_html)
    return PdfParams(
        width=_inch_text(width),
        height=_inch_text(height),
        margin={side: _inch_text(value) for side, value in margin.items()},
        scale=options.scale,
        print_background=options.print_background,
        page_ranges=(options.page_ranges or "").strip(),
        display_header_footer=bands,
        header_template=_band_template(options.header_html, left, right) if bands else "",
        footer_template=_band_template(options.footer_html, left, right) if bands else "",
        tagged=options.tagged,
        outline=options.outline,
    )


def count_pages(pdf: bytes) -> int:
    document = _pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


@dataclass(frozen=True)
class _Job:
    html: str
    options: PageOptions
    params: PdfParams
    assets: AssetMap
    warnings: list[str] = field(default_factory=list)  # filled by the route handler (see _Scope)


async def _load(page: Page, job: _Job) -> None:
    """Load the document and wait for what the options ask (the render deadline bounds every wait)."""
    wait = job.options.wait_for
    await page.set_content(job.html, wait_until="networkidle" if wait == "networkidle" else "load")
    if isinstance(wait, WaitSelector):
        await page.wait_for_selector(wait.selector, state="attached")
    elif isinstance(wait, WaitExpression):
        await page.wait_for_function(wait.expression, polling=WAIT_POLL_MS)
    elif isinstance(wait, WaitDelay):
        await asyncio.sleep(wait.delay_ms / 1000)
    faces = band_font_faces(job.params)
    if faces:
        await page.evaluate(_PRIME_BAND_FONTS, faces)
    if faces or may_load_web_fonts(job.html):
        await page.evaluate(_FONTS_READY)


_FONTS_READY = "document.fonts.ready.then(() => true)"
# Where a document can get a web font from: @font-face rules (in <style>, in an SVG, or in a stylesheet
# behind <link>/@import) or the FontFace API from a script. Without any of these every font is a system
# font, available synchronously, so waiting for document.fonts.ready is a round trip for nothing.
_WEB_FONT_SOURCES = re.compile(r"font-?face|<link|@import|<script", re.IGNORECASE)


def may_load_web_fonts(html: str) -> bool:
    """Whether the document might load a web font (conservative: any stylesheet link or script counts)."""
    return _WEB_FONT_SOURCES.search(html) is not None


# Chromium draws header/footer bands synchronously at print time: a web font declared there is only
# used if the page itself has already loaded the very same face. So the bands' @font-face rules are
# added to the page and used by hidden text, and printing waits for them (measured: without this the
# band falls back to a system font).
_PRIME_BAND_FONTS = """(faces) => {
  const style = document.createElement("style");
  style.textContent = faces.map(f => f.rule).join(" ");
  document.head.appendChild(style);
  for (const face of faces) {
    const probe = document.createElement("span");
    probe.setAttribute("aria-hidden", "true");
    probe.style.cssText = "position:absolute;left:0;top:0;visibility:hidden;font-size:1px;font-family:" +
      JSON.stringify(face.family) + ";font-weight:" + face.weight + ";font-style:" + face.style;
    probe.textContent = "x";
    document.body.appendChild(probe);
  }
}"""
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_FACE_FAMILY = re.compile(r"font-family\s*:\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_FACE_WEIGHT = re.compile(r"font-weight\s*:\s*(\d+)", re.IGNORECASE)
_FACE_ITALIC = re.compile(r"font-style\s*:\s*italic", re.IGNORECASE)


def band_font_faces(params: PdfParams) -> list[dict[str, str]]:
    """The @font-face rules of the header/footer templates, with the family/weight/style each declares."""
    faces = []
    for rule in _FONT_FACE.findall(params.header_template + params.footer_template):
        family = _FACE_FAMILY.search(rule)
        if family:
            weight = _FACE_WEIGHT.search(rule)
            faces.append(
                {
                    "rule": rule,
                    "family": family.group(1),
                    "weight": weight.group(1) if weight else "400",
                    "style": "italic" if _FACE_ITALIC.search(rule) else "normal",
                }
            )
    return faces


async def _print(page: Page, params: PdfParams) -> bytes:
    return await page.pdf(
        width=params.width,
        height=params.height,
        margin=PdfMargins(
            top=params.margin["top"],
            right=params.margin["right"],
            bottom=params.margin["bottom"],
            left=params.margin["left"],
        ),
        scale=params.scale,
        print_background=params.print_background,
        page_ranges=params.page_ranges,
        display_header_footer=params.display_header_footer,
        header_template=params.header_template,
        footer_template=params.footer_template,
        tagged=params.tagged,
        outline=params.outline,
        landscape=False,  # width/height are already swapped for landscape
        prefer_css_page_size=False,
    )
