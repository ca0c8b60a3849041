"""A renderer without a browser: the fake the in-process tests build on (``bootstrap.Engines``).

It keeps the :class:`~pressroom.rendering.base.Renderer` contract a caller can observe: the HTML size
limit (413), the page size and orientation of :class:`PageOptions`, the time limit (``timeout_s``, the
options' own ``timeout_s``, the sync ``deadline``) and the errors it raises - and it answers with a real,
valid PDF (pikepdf) whose pages hold the document's visible text, so ``pdftotext`` finds it. It lays out
nothing: text is wrapped at a fixed width, a new page starts at every element styled
``page-break-before: always`` / ``break-before: page`` (and when a page is full), CSS and scripts are
ignored. Every call is recorded (:attr:`FakeRenderer.calls`) so a test can assert what reached the engine.

Never a server's engine: ``bootstrap`` builds it only when a test passes it in.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import io
import re
import time
from dataclasses import dataclass, field

import pikepdf

from pressroom.core.errors import PressroomError, QueueFull, RenderTimeout, ValidationFailed
from pressroom.rendering.base import (
    AssetMap,
    PageOptions,
    RenderedPdf,
    StaticAsset,
    check_html_size,
    page_size_inches,
)

# An opening tag whose style starts a new page (the CSS page breaks templates use).
_PAGE_BREAK = re.compile(
    r"<[a-zA-Z][^>]*style\s*=\s*[\"'][^\"']*(?:page-break-before\s*:\s*always|break-before\s*:\s*page)[^>]*>",
    re.IGNORECASE,
)
_INVISIBLE = re.compile(r"<(script|style|head|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/h[1-6]|/li|/tr|/table|/section|/article)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_PAGE_RANGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")

FONT_SIZE = 10.0
LEADING = 12.0
MARGIN_PT = 36.0
WRAP_CHARS = 90


@dataclass(frozen=True)
class RenderCall:
    """What one ``render_pdf`` call handed the engine."""

    html: str
    options: PageOptions
    timeout_s: float
    assets: dict[str, StaticAsset]
    deadline: float | None


@dataclass
class FakeRenderer:
    """``name`` is the engine it stands in for ("chromium", "weasyprint"): the registry picks engines by name.

    ``render_s`` is how long a render takes (slept on the event loop, so the time limit and the sync
    deadline behave as with a real engine); ``fail_with`` is raised by every render while set.
    """

    name: str = "chromium"
    render_s: float = 0.0
    max_html_bytes: int = 5 * 1024 * 1024
    max_timeout_s: float = 120.0
    fail_with: PressroomError | None = None
    calls: list[RenderCall] = field(default_factory=list)
    started: bool = False
    closed: bool = False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def render_pdf(
        self,
        html: str,
        options: PageOptions,
        *,
        timeout_s: float,
        assets: AssetMap | None = None,
        deadline: float | None = None,
    ) -> RenderedPdf:
        check_html_size(html, self.max_html_bytes)
        self.calls.append(RenderCall(html, options, timeout_s, dict(assets or {}), deadline))
        if options.page_ranges and not _PAGE_RANGES.match(options.page_ranges):
            raise ValidationFailed(
                f"invalid page_ranges {options.page_ranges!r}: use e.g. '1-3, 5'", details={"field": "page_ranges"}
            )
        if deadline is not None and time.monotonic() >= deadline:
            raise QueueFull("Too many renders waiting; retry later", retry_after=1)
        limit = min(timeout_s, options.timeout_s or timeout_s, self.max_timeout_s)
        if deadline is not None:
            limit = min(limit, deadline - time.monotonic())
        started = time.perf_counter()
        if self.render_s > limit:
            await asyncio.sleep(max(limit, 0.0))
            raise RenderTimeout(f"Rendering took longer than {limit:.1f}s")
        if self.render_s:
            await asyncio.sleep(self.render_s)
        if self.fail_with is not None:
            raise self.fail_with
        data, pages = text_pdf(html, options)
        return RenderedPdf(data=data, pages=pages, engine=self.name, render_ms=(time.perf_counter() - started) * 1000)


def visible_text(html: str) -> str:
    """The text a reader would see, one block per line (no layout: tags dropped, entities decoded)."""
    text = _BLOCK_END.sub("\n", _INVISIBLE.sub("", html))
    lines = (" ".join(html_lib.unescape(_TAG.sub("", line)).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def text_pdf(html: str, options: PageOptions) -> tuple[bytes, int]:
    """(PDF bytes, page count): the page size of ``options``, the visible text of ``html`` in Helvetica."""
    width_in, height_in = page_size_inches(options)
    width, height = width_in * 72, height_in * 72
    per_page = max(1, int((height - 2 * MARGIN_PT) // LEADING))
    pages: list[list[str]] = []
    for section in _PAGE_BREAK.split(html):
        lines = [wrapped for line in visible_text(section).splitlines() for wrapped in _wrap(line)]
        for start in range(0, max(len(lines), 1), per_page):
            pages.append(lines[start : start + per_page])
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type1,
            BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )
    for lines in pages:
        stream = [f"BT /F1 {FONT_SIZE:g} Tf {LEADING:g} TL {MARGIN_PT:g} {height - MARGIN_PT:g} Td".encode()]
        stream += [b"(" + _pdf_string(line) + b") '" for line in lines]
        stream.append(b"ET")
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, round(width, 2), round(height, 2)],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pikepdf.Stream(pdf, b"\n".join(stream)),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue(), len(pages)


def _wrap(line: str) -> list[str]:
    return [line[i : i + WRAP_CHARS] for i in range(0, len(line), WRAP_CHARS)] or [""]


def _pdf_string(text: str) -> bytes:
    # WinAnsi (cp1252) is what the standard Helvetica speaks; other characters show as '?'.
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
