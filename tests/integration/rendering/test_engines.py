"""Both engines against the real thing: wait conditions and media (Chromium), paged media, PDF/A and
PDF/UA variants, attachments, timeouts, crashes and back-pressure (WeasyPrint), CSS frameworks, the
context pool, and the fallback when Chromium is missing. PDFs are checked with poppler and qpdf."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from typing import Any

import pikepdf
import pytest

from pressroom.aio import LoopThread
from pressroom.config import NetSettings
from pressroom.core.errors import EngineUnavailable, QueueFull, RenderTimeout, ValidationFailed
from pressroom.rendering.base import ASSET_PREFIX, PageOptions, PdfAttachment, RenderedPdf
from pressroom.rendering.chromium import ChromiumRenderer
from pressroom.rendering.fonts import STANDARD_FAMILIES, installed_families
from pressroom.rendering.frameworks import TAILWIND_READY, head_tags
from pressroom.rendering.html import wrap_document
from pressroom.rendering.registry import EngineRegistry
from pressroom.rendering.weasyprint import WeasyPrintRenderer
from tests.rendering_support import fonts, text

TWO_PAGES = '<h1 id="t">First</h1><p style="page-break-before: always">Second page</p>'


def render(loop: LoopThread, engine: Any, html: str, timeout_s: float = 20, **options: Any) -> RenderedPdf:
    result: RenderedPdf = loop.run(engine.render_pdf(html, PageOptions(**options), timeout_s=timeout_s), 90)
    return result


# ------------------------------------------------------------------------------------ Chromium specifics


@pytest.mark.chromium
@pytest.mark.parametrize(
    "wait",
    [
        {"selector": "#late"},
        {"expression": "window.readyToPrint === true"},
        {"delay_ms": 700},
    ],
)
def test_wait_conditions(loop_thread: LoopThread, chromium: ChromiumRenderer, wait: dict[str, Any]) -> None:
    html = """<p>early</p><script>setTimeout(() => {
      const p = document.createElement("p"); p.id = "late"; p.textContent = "LATE-CONTENT";
      document.body.append(p); window.readyToPrint = true; }, 400);</script>"""
    assert "LATE-CONTENT" not in text(render(loop_thread, chromium, html).data)  # load alone is too early
    assert "LATE-CONTENT" in text(render(loop_thread, chromium, html, wait_for=wait).data)


@pytest.mark.chromium
def test_wait_for_a_selector_that_never_comes_is_a_timeout(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    with pytest.raises(RenderTimeout):
        render(loop_thread, chromium, "<p>x</p>", timeout_s=1.5, wait_for={"selector": "#never"})


@pytest.mark.chromium
def test_emulate_media(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    html = (
        "<style>@media screen { p::after { content: ' SCREEN'; } } "
        "@media print { p::after { content: ' PRINT'; } }</style><p>m</p>"
    )
    assert "PRINT" in text(render(loop_thread, chromium, html).data)
    assert "SCREEN" in text(render(loop_thread, chromium, html, emulate_media="screen").data)


@pytest.mark.chromium
def test_the_pool_serves_renders_from_prewarmed_contexts(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    time.sleep(1.0)  # let the pool refill after the previous tests
    before = dict(chromium.stats)
    for _ in range(3):
        render(loop_thread, chromium, "<p>pooled</p>")
        time.sleep(0.4)  # a refill takes ~0.1-0.3 s on this machine
    assert chromium.stats["prewarmed"] - before["prewarmed"] == 3
    handle = chromium._current
    assert handle is not None
    # Used contexts are closed, never returned to the pool.
    assert len(handle.browser.contexts) <= chromium.prewarm_contexts + 1


@pytest.mark.chromium
def test_one_renderer_process_per_context(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    """The launch flags keep Chromium from spawning a spare and an omnibox-WebUI renderer per context."""
    pid = loop_thread.run(chromium.browser_pid())
    assert pid is not None
    time.sleep(1.0)
    renderers = [p for p in _descendants(pid) if "--type=renderer" in _cmdline(p) and "extension" not in _cmdline(p)]
    handle = chromium._current
    assert handle is not None
    assert len(renderers) <= len(handle.browser.contexts) + 1, (len(renderers), len(handle.browser.contexts))


# -------------------------------------------------------------------------------------------- frameworks


@pytest.mark.chromium
def test_tailwind_runs_in_the_page(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    html = wrap_document(
        '<p class="uppercase tracking-wide">tailwind works</p><p class="hidden">HIDDEN-BY-TAILWIND</p>',
        head_start=head_tags("tailwind", ASSET_PREFIX),
    )
    body = text(render(loop_thread, chromium, html, wait_for={"expression": TAILWIND_READY}).data)
    assert "TAILWIND WORKS" in body and "HIDDEN-BY-TAILWIND" not in body


@pytest.mark.parametrize("engine_name", ["chromium", "weasyprint"])
def test_bootstrap_in_both_engines(loop_thread: LoopThread, request: pytest.FixtureRequest, engine_name: str) -> None:
    engine = request.getfixturevalue("chromium" if engine_name == "chromium" else "weasy")
    html = wrap_document(
        '<p class="text-uppercase">bootstrap works</p><p class="d-none">HIDDEN-BY-BOOTSTRAP</p>',
        head_start=head_tags("bootstrap", ASSET_PREFIX),
    )
    body = text(render(loop_thread, engine, html).data)
    assert "BOOTSTRAP WORKS" in body and "HIDDEN-BY-BOOTSTRAP" not in body


def test_standard_fonts_are_installed() -> None:
    missing = [family for family in STANDARD_FAMILIES if family not in installed_families()]
    assert not missing, f"run scripts/install.sh: missing {missing}"


@pytest.mark.parametrize("engine_name", ["chromium", "weasyprint"])
def test_installed_fonts_by_name(loop_thread: LoopThread, request: pytest.FixtureRequest, engine_name: str) -> None:
    engine = request.getfixturevalue("chromium" if engine_name == "chromium" else "weasy")
    html = "".join(f"<p style=\"font-family: '{family}'\">{family}</p>" for family in ("Inter", "Liberation Serif"))
    pdf = render(loop_thread, engine, html).data
    names = " ".join(row["name"].replace("-", "") for row in fonts(pdf))
    assert "LiberationSerif" in names, names
    # Debian's Inter is CFF-flavoured OpenType (.otf): WeasyPrint embeds it by name, Chromium (Skia)
    # as an unnamed Type 3 font - still Inter's outlines, text still extractable.
    assert ("Inter" in names) if engine_name == "weasyprint" else ("[none]" in names), names
    assert "Inter" in text(pdf)


# -------------------------------------------------------------------------------------------- WeasyPrint


def test_weasyprint_page_geometry_bands_and_ranges(loop_thread: LoopThread, weasy: WeasyPrintRenderer) -> None:
    pdf = render(
        loop_thread,
        weasy,
        wrap_document(TWO_PAGES),
        paper="Letter",
        orientation="landscape",
        header_html="<b>HEAD</b>",
        footer_html="Page {page} of {pages}",
    )
    assert pdf.pages == 2 and pdf.engine == "weasyprint"
    body = text(pdf.data)
    assert body.count("HEAD") == 2 and "Page 1 of 2" in body and "Page 2 of 2" in body
    with pikepdf.open(_file(pdf.data)) as document:
        box = [float(v) for v in document.pages[0].mediabox]
    assert box[2] == pytest.approx(792, abs=1) and box[3] == pytest.approx(612, abs=1)
    second = render(loop_thread, weasy, wrap_document(TWO_PAGES), page_ranges="2")
    assert second.pages == 1 and "Second page" in text(second.data) and "First" not in text(second.data)
    with pytest.raises(ValidationFailed):
        render(loop_thread, weasy, wrap_document(TWO_PAGES), page_ranges="2-1; x")


def test_weasyprint_paged_media_css(loop_thread: LoopThread, weasy: WeasyPrintRenderer) -> None:
    css = (
        "@page { size: A5; margin: 20mm; @bottom-right { content: 'p. ' counter(page) '/' counter(pages); } "
        "@top-center { content: element(title); } } .running { position: running(title); }"
    )
    html = wrap_document('<div class="running">RUNNING-TITLE</div>' + TWO_PAGES, css)
    pdf = render(loop_thread, weasy, html)
    body = text(pdf.data)
    assert "p. 2/2" in body and body.count("RUNNING-TITLE") == 2


PDFA = ["pdf/a-1b", "pdf/a-2b", "pdf/a-3b", "pdf/a-2u", "pdf/a-3u"]


@pytest.mark.parametrize("variant", [*PDFA, "pdf/ua-1"])
def test_weasyprint_pdf_variants(loop_thread: LoopThread, weasy: WeasyPrintRenderer, variant: str) -> None:
    html = wrap_document("<h1>Archive</h1><p>Plain text in DejaVu Sans.</p>", "body { font-family: 'DejaVu Sans'; }")
    html = html.replace("<head>", '<head><title>Archive</title><meta name="description" content="test">', 1)
    html = html.replace("<html>", '<html lang="en">', 1)
    pdf = render(loop_thread, weasy, html, pdf_variant=variant).data
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        check = subprocess.run(["qpdf", "--check", handle.name], capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    assert all(row["emb"] == "yes" for row in fonts(pdf)), fonts(pdf)
    with pikepdf.open(_file(pdf)) as document:
        xmp = str(document.Root.Metadata.read_bytes(), "utf-8")
        if variant.startswith("pdf/a"):
            part, conformance = variant[6], variant[7].upper()
            assert re.search(rf"pdfaid:part[>=\"']+{part}", xmp), xmp[:2000]
            assert re.search(rf"pdfaid:conformance[>=\"']+{conformance}", xmp), xmp[:2000]
            assert len(document.Root.OutputIntents) >= 1
        else:
            assert re.search(r"pdfuaid:part[>=\"']+1", xmp), xmp[:2000]
            assert "/StructTreeRoot" in document.Root and document.Root.MarkInfo.Marked


def test_weasyprint_attachments(loop_thread: LoopThread, weasy: WeasyPrintRenderer) -> None:
    attachment = PdfAttachment(filename="data.xml", content_base64="PGEvPg==", description="the data")
    pdf = render(loop_thread, weasy, wrap_document("<p>x</p>"), pdf_variant="pdf/a-3b", attachments=[attachment])
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf.data)
        handle.flush()
        listing = subprocess.run(["pdfdetach", "-list", handle.name], capture_output=True, text=True, check=True)
    assert "data.xml" in listing.stdout


def test_weasyprint_timeout_frees_the_worker(loop_thread: LoopThread, weasy: WeasyPrintRenderer) -> None:
    huge = wrap_document("<table>" + "<tr><td>cell</td><td>cell</td></tr>" * 60000 + "</table>")
    pids = set(weasy.worker_pids())
    started = time.perf_counter()
    with pytest.raises(RenderTimeout):
        render(loop_thread, weasy, huge, timeout_s=1.0)
    assert time.perf_counter() - started < 4
    assert render(loop_thread, weasy, wrap_document("<p>alive</p>")).pages == 1
    _eventually(lambda: len(weasy.worker_pids()) == 2 and set(weasy.worker_pids()) != pids)


def test_weasyprint_worker_crash_is_retried(loop_thread: LoopThread, weasy: WeasyPrintRenderer) -> None:
    doc = wrap_document("<table>" + "<tr><td>row</td></tr>" * 6000 + "</table><p>CRASH-SURVIVED</p>")
    before = set(weasy.worker_pids())
    future = loop_thread.submit(weasy.render_pdf(doc, PageOptions(), timeout_s=60))
    time.sleep(0.4)
    busy = [pid for pid in before if _cpu_busy(pid)] or list(before)
    for pid in busy:
        os.kill(pid, signal.SIGKILL)
    pdf = future.result(90)
    assert "CRASH-SURVIVED" in text(pdf.data)


def test_weasyprint_back_pressure(loop_thread: LoopThread) -> None:
    small = WeasyPrintRenderer(workers=1, queue_size=1, net=NetSettings())
    loop_thread.run(small.start(), 120)
    try:
        doc = wrap_document("<table>" + "<tr><td>row</td></tr>" * 1500 + "</table>")

        async def burst() -> list[Any]:
            return await asyncio.gather(
                *(small.render_pdf(doc, PageOptions(), timeout_s=60) for _ in range(3)), return_exceptions=True
            )

        results = loop_thread.run(burst(), 120)
        full = [r for r in results if isinstance(r, QueueFull)]
        assert len(full) == 1 and full[0].status == 429 and full[0].retry_after >= 1
        assert sum(isinstance(r, RenderedPdf) for r in results) == 2
    finally:
        loop_thread.run(small.close(), 60)


# -------------------------------------------------------------------------------------------- fallback


def test_missing_chromium_falls_back_to_weasyprint(
    loop_thread: LoopThread, weasy: WeasyPrintRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    missing = ChromiumRenderer(executable_path="/nonexistent/chromium")
    registry = EngineRegistry({"chromium": missing, "weasyprint": weasy}, loop_thread)
    with caplog.at_level(logging.WARNING, logger="pressroom.rendering.registry"):
        registry.start()
    warnings = [r for r in caplog.records if "chromium is not available" in r.getMessage()]
    assert len(warnings) == 1 and "weasyprint" in warnings[0].getMessage()
    assert registry.resolve("chromium") == registry.resolve(None) == "weasyprint"
    pdf = registry.render_pdf(wrap_document("<p>fallback</p>"), PageOptions(), timeout_s=20, engine="chromium")
    assert pdf.engine == "weasyprint" and "fallback" in text(pdf.data)
    loop_thread.run(missing.close(), 30)
    lonely = EngineRegistry({"chromium": missing}, loop_thread)
    lonely.start()
    with pytest.raises(EngineUnavailable):
        lonely.resolve("chromium")


# --------------------------------------------------------------------------------------------- helpers


def _file(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def _eventually(check: Any, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cpu_busy(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "R"
    except OSError:
        return False
