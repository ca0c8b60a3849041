"""watermark: text, image or PDF-page overlays on all or chosen pages.

Text and images are laid out by WeasyPrint on a transparent page of the target page's size: the text is
real text in an embedded (subset) font, so the result stays extractable and PDF/A-compatible (a
non-embedded base-14 font would not be). The overlay page is added as a Form XObject on top of each
chosen page; overlays are cached per (parameters, page size) inside the worker process.
"""

from __future__ import annotations

import base64
import html
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import pikepdf

from pressroom.core.errors import InvalidPageRange
from pressroom.pdf.cleanup import drop_empty_resources

TEST_TEXT = "TEST"
_CACHE: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_CACHE_SIZE = 32


@dataclass(frozen=True)
class TextMark:
    text: str
    font_size: float = 72.0
    color: str = "#FF0000"
    opacity: float = 0.3
    angle: float = 45.0
    position: Literal["center", "top", "bottom"] = "center"


@dataclass(frozen=True)
class ImageMark:
    image: bytes
    mime_type: str
    width_pt: float | None = None
    opacity: float = 0.3
    angle: float = 0.0
    position: Literal["center", "top", "bottom"] = "center"


def test_mark() -> TextMark:
    """The mark every output made with a test key carries."""
    return TextMark(text=TEST_TEXT, font_size=96, color="#D00000", opacity=0.25, angle=45)


def _page_size(page: pikepdf.Page) -> tuple[float, float]:
    box = page.mediabox
    width = abs(float(box[2]) - float(box[0]))
    height = abs(float(box[3]) - float(box[1]))
    return round(width, 2), round(height, 2)


def _align(position: str) -> str:
    return {"top": "flex-start", "bottom": "flex-end"}.get(position, "center")


def _overlay_html(mark: TextMark | ImageMark, width: float, height: float) -> str:
    page = f"@page {{ size: {width}pt {height}pt; margin: 0 }}"
    box = (
        f"html, body {{ margin: 0; padding: 0; width: {width}pt; height: {height}pt; }}"
        f"body {{ display: flex; align-items: {_align(mark.position)}; justify-content: center; }}"
    )
    style = f"opacity: {mark.opacity}; transform: rotate({-mark.angle}deg); margin: 12pt;"
    if isinstance(mark, TextMark):
        element = (
            f"<div style=\"{style} font: bold {mark.font_size}pt 'DejaVu Sans', sans-serif; "
            f'color: {html.escape(mark.color)}; white-space: nowrap;">{html.escape(mark.text)}</div>'
        )
    else:
        source = f"data:{mark.mime_type};base64,{base64.b64encode(mark.image).decode()}"
        size = f"width: {mark.width_pt}pt;" if mark.width_pt else f"max-width: {width * 0.8}pt;"
        element = f'<img style="{style} {size}" src="{source}">'
    return f"<html><head><style>{page}{box}</style></head><body>{element}</body></html>"


def _overlay_pdf(mark: TextMark | ImageMark, width: float, height: float) -> bytes:
    key = (mark, width, height)
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    import weasyprint  # type: ignore[import-untyped]  # imported on first use: it is heavy and most jobs never watermark

    # No base_url and a fetcher that refuses everything: the overlay needs nothing but its own data: URI.
    def no_fetch(url: str) -> dict[str, object]:
        if url.startswith("data:"):
            return weasyprint.default_url_fetcher(url)  # type: ignore[no-any-return]
        raise ValueError("watermarks fetch nothing")

    data: bytes = weasyprint.HTML(string=_overlay_html(mark, width, height), url_fetcher=no_fetch).write_pdf()
    _CACHE[key] = data
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return data


def apply_mark(pdf: pikepdf.Pdf, mark: TextMark | ImageMark, indices: list[int] | None = None) -> int:
    """Overlay ``mark`` on the pages at ``indices`` (all when None); returns the number of pages marked.

    One Form XObject per distinct page size, shared by every page of that size.
    """
    forms: dict[tuple[float, float], pikepdf.Object] = {}
    opened: list[pikepdf.Pdf] = []
    chosen = range(len(pdf.pages)) if indices is None else sorted(set(indices))
    try:
        for index in chosen:
            page = pdf.pages[index]
            size = _page_size(page)
            if size not in forms:
                source = pikepdf.open(io.BytesIO(_overlay_pdf(mark, *size)))
                opened.append(source)
                drop_empty_resources(source)
                forms[size] = pdf.copy_foreign(source.pages[0].as_form_xobject())
            page.add_overlay(forms[size], pikepdf.Rectangle(page.mediabox))
        return len(chosen)
    finally:
        for document in opened:
            document.close()


def apply_pdf_overlay(
    pdf: pikepdf.Pdf, overlay_pdf: pikepdf.Pdf, page_number: int = 1, indices: list[int] | None = None
) -> int:
    """Overlay one page of another PDF (scaled to fit each page, aspect kept) on the chosen pages."""
    if not 1 <= page_number <= len(overlay_pdf.pages):
        raise InvalidPageRange(
            f"The overlay PDF has no page {page_number}",
            details={"page": page_number, "page_count": len(overlay_pdf.pages)},
        )
    form = pdf.copy_foreign(overlay_pdf.pages[page_number - 1].as_form_xobject())
    chosen = range(len(pdf.pages)) if indices is None else sorted(set(indices))
    for index in chosen:
        page = pdf.pages[index]
        page.add_overlay(form, pikepdf.Rectangle(page.mediabox))
    return len(chosen)
