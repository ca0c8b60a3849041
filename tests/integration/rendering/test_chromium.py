"""ChromiumRenderer against the real OS Chromium, checked with poppler (pdfinfo, pdftotext).

Loopback servers started here record every connection: the network tests assert that a render never
reached the "private" one. One warm renderer serves the whole module (session-scoped).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pressroom.aio import LoopThread
from pressroom.config import default_chromium_path
from pressroom.core.errors import QueueFull, RenderTimeout, ValidationFailed
from pressroom.net.gate import NetworkGate
from pressroom.rendering.base import PageOptions, RenderedPdf, StaticAsset
from pressroom.rendering.chromium import ASSET_PREFIX, LAUNCH_ARGS, ChromiumRenderer
from tests.integration.rendering.conftest import CANARY_TEXT, Canary, serve
from tests.rendering_support import TEST_FAMILY, renamed_font

CHROMIUM = default_chromium_path()

pytestmark = pytest.mark.chromium

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
if not shutil.which("pdftotext") or not shutil.which("pdfinfo"):
    pytest.skip("poppler-utils (pdftotext, pdfinfo) are not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def private_server() -> Iterator[Canary]:
    """Stands for anything internal: no render may ever reach it."""
    yield from serve(Canary())


@pytest.fixture(scope="session")
def public_server(private_server: Canary) -> Iterator[Canary]:
    """Stands for a public host the operator allowed (its host:port is in allow_private)."""
    css = b'body::after { content: "PUBLIC-CSS-OK"; }'
    routes = {
        "/style.css": (200, {"Content-Type": "text/css"}, css),
        "/to-private.css": (302, {"Location": f"http://127.0.0.1:{private_server.port}/style.css"}, b""),
        "/to-localhost.css": (302, {"Location": f"http://localhost:{private_server.port}/x.css"}, b""),
        "/to-file.css": (302, {"Location": "file:///etc/passwd"}, b""),
        "/to-metadata.css": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
    }
    yield from serve(Canary(routes=routes))


ASSETS = {f"{ASSET_PREFIX}test.css": b'body::before { content: "ASSET-CSS-OK"; }'}


@pytest.fixture(scope="session")
def engine_loop() -> Iterator[LoopThread]:
    loop = LoopThread("test-chromium")
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def renderer(engine_loop: LoopThread, public_server: Canary) -> Iterator[ChromiumRenderer]:
    gate = NetworkGate(render_public_hosts=["127.0.0.1"], allow_private=[f"127.0.0.1:{public_server.port}"])
    instance = ChromiumRenderer(
        executable_path=CHROMIUM, concurrency=2, queue_size=8, gate=gate, asset_resolver=ASSETS.get
    )
    engine_loop.run(instance.start(), 60)
    yield instance
    engine_loop.run(instance.close(), 60)


def pdf_text(data: bytes) -> str:
    return _poppler("pdftotext", data, "-layout")


def pdf_info(data: bytes) -> str:
    return _poppler("pdfinfo", data)


def _poppler(tool: str, data: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        command = [tool, *args, handle.name] + (["-"] if tool == "pdftotext" else [])
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


# ------------------------------------------------------------------------------------------------ helpers


def render(loop: LoopThread, renderer: ChromiumRenderer, html: str, timeout_s: float = 15, **options: Any) -> Any:
    return loop.run(renderer.render_pdf(html, PageOptions(**options), timeout_s=timeout_s), 60)


def page_size(info: str) -> tuple[float, float]:
    match = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert match, info
    return float(match.group(1)), float(match.group(2))


THREE_PAGES = "".join(
    f'<section style="page-break-after: always"><h1>Section {n}</h1></section>' for n in (1, 2, 3)
).replace(' style="page-break-after: always"><h1>Section 3', "><h1>Section 3")


# ----------------------------------------------------------------------------------------- page geometry


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (595.28, 841.89)),
        ({"paper": "Letter"}, (612.0, 792.0)),
        ({"paper": "A4", "orientation": "landscape"}, (841.89, 595.28)),
        ({"paper": "Legal"}, (612.0, 1008.0)),
        ({"width": "100mm", "height": "50mm"}, (283.46, 141.73)),
        ({"width": "4in", "height": "6in", "orientation": "landscape"}, (432.0, 288.0)),
    ],
)
def test_page_size(engine_loop: LoopThread, renderer: ChromiumRenderer, options: dict[str, Any], expected: Any) -> None:
    pdf = render(engine_loop, renderer, "<p>Hello size</p>", **options)
    width, height = page_size(pdf_info(pdf.data))
    # Chromium quantizes page sizes to steps of 0.96 pt (its own A4 is 595.92 x 842.88).
    assert width == pytest.approx(expected[0], abs=1.0)
    assert height == pytest.approx(expected[1], abs=1.0)
    assert pdf.pages == 1 and pdf.engine == "chromium" and pdf.render_ms > 0
    assert "Hello size" in pdf_text(pdf.data)


def test_header_footer_page_numbers(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    pdf = render(
        engine_loop,
        renderer,
        THREE_PAGES,
        header_html="<div>ACME report</div>",
        footer_html='<div style="text-align:center">Page {page} of {pages}</div>',
    )
    assert pdf.pages == 3
    text = pdf_text(pdf.data)
    for number in (1, 2, 3):
        assert f"Section {number}" in text
        assert f"Page {number} of 3" in text
    assert text.count("ACME report") == 3


def test_chromium_span_placeholders(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    footer = '<span class="pageNumber"></span>/<span class="totalPages"></span>'
    pdf = render(engine_loop, renderer, THREE_PAGES, footer_html=footer)
    assert "2/3" in pdf_text(pdf.data)


def test_page_ranges(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    pdf = render(engine_loop, renderer, THREE_PAGES, page_ranges="2-3")
    assert pdf.pages == 2
    text = pdf_text(pdf.data)
    assert "Section 1" not in text and "Section 3" in text


def test_scale_shrinks_content(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    html = "".join(f"<p style='font-size:20px'>Line {n}</p>" for n in range(120))
    full = render(engine_loop, renderer, html, scale=1.0)
    half = render(engine_loop, renderer, html, scale=0.5)
    assert half.pages < full.pages


def test_tagged_and_outline(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    pdf = render(engine_loop, renderer, "<h1>Title</h1><h2>Part</h2><p>x</p>", tagged=True, outline=True)
    assert b"/StructTreeRoot" in pdf.data
    assert b"/Outlines" in pdf.data


def test_invalid_page_ranges_refused(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    with pytest.raises(ValidationFailed):
        render(engine_loop, renderer, "<p>x</p>", page_ranges="1-2; rm -rf")


def test_assets_served_by_resolver(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    html = f'<link rel="stylesheet" href="{ASSET_PREFIX}test.css"><p>body</p>'
    assert "ASSET-CSS-OK" in pdf_text(render(engine_loop, renderer, html).data)


# ------------------------------------------------------------------------------------------------ network

ATTACKS = """
<link rel="preconnect" href="{base}"><link rel="dns-prefetch" href="{base}">
<link rel="stylesheet" href="{base}/link.css">
<style>@import url("{base}/import.css"); @font-face {{ font-family: X; src: url("{base}/font.woff"); }}
  body {{ font-family: X; background: url("{base}/bg.png"); }}</style>
<img src="{base}/img.png"><img src="file:///etc/passwd"><img src="http://169.254.169.254/latest/meta-data/">
<script src="{base}/script.js"></script>
<iframe src="{base}/frame.html"></iframe><iframe src="file:///etc/passwd"></iframe>
<iframe src="http://localhost:{port}/frame.html"></iframe><iframe src="http://2130706433:{port}/"></iframe>
<object data="{base}/object"></object><embed src="file:///etc/passwd">
<video poster="{base}/poster.png"></video><audio src="{base}/audio.mp3"></audio>
<p id="out">results:</p>
<script>
  const out = (s) => document.getElementById("out").append(" " + s);
  const base = "{base}";
  fetch(base + "/fetch").then(r => r.text()).then(out, () => out("fetch-blocked"));
  fetch("file:///etc/passwd").then(r => r.text()).then(out, () => out("file-blocked"));
  fetch("http://169.254.169.254/latest/meta-data/").then(r => r.text()).then(out, () => out("meta-blocked"));
  const xhr = new XMLHttpRequest(); xhr.open("GET", base + "/xhr", false);
  try {{ xhr.send(); out(xhr.responseText); }} catch (e) {{ out("xhr-blocked"); }}
  try {{ const ws = new WebSocket("ws://127.0.0.1:{port}/ws"); ws.onerror = () => out("ws-blocked"); }}
  catch (e) {{ out("ws-refused"); }}
  const worker = new Worker(URL.createObjectURL(new Blob([
    `fetch("${{base}}/worker-fetch").catch(() => 0); new WebSocket("ws://127.0.0.1:{port}/worker-ws");
     importScripts("${{base}}/import-scripts.js");`])));
  navigator.sendBeacon(base + "/beacon", "x");
  new EventSource(base + "/events");
  window.open(base + "/popup");
  try {{ new RTCPeerConnection({{iceServers: [{{urls: "stun:127.0.0.1:{port}"}}]}}); }}
  catch (e) {{ out("webrtc-refused"); }}
</script>
"""


def test_render_never_reaches_private_addresses(
    engine_loop: LoopThread, renderer: ChromiumRenderer, private_server: Canary
) -> None:
    port = private_server.port
    html = ATTACKS.format(base=f"http://127.0.0.1:{port}", port=port)
    pdf = render(engine_loop, renderer, html)
    time.sleep(1.0)  # let stragglers (beacon, worker, event source, popup) try their luck
    text = pdf_text(pdf.data)
    assert private_server.connections == 0, private_server.hits
    assert private_server.hits == []
    assert CANARY_TEXT not in text
    assert "root:" not in text
    for marker in ("fetch-blocked", "file-blocked", "meta-blocked", "xhr-blocked", "webrtc-refused"):
        assert marker in text


def test_allowed_public_host_is_fetched_through_the_gate(
    engine_loop: LoopThread, renderer: ChromiumRenderer, public_server: Canary
) -> None:
    html = f'<link rel="stylesheet" href="http://127.0.0.1:{public_server.port}/style.css"><p>x</p>'
    assert "PUBLIC-CSS-OK" in pdf_text(render(engine_loop, renderer, html).data)


@pytest.mark.parametrize("path", ["/to-private.css", "/to-localhost.css", "/to-file.css", "/to-metadata.css"])
def test_redirects_from_a_public_host_are_checked(
    engine_loop: LoopThread,
    renderer: ChromiumRenderer,
    public_server: Canary,
    private_server: Canary,
    path: str,
) -> None:
    html = f'<link rel="stylesheet" href="http://127.0.0.1:{public_server.port}{path}"><p>after redirect</p>'
    text = pdf_text(render(engine_loop, renderer, html).data)
    assert f"GET {path}" in public_server.hits
    assert private_server.connections == 0
    assert "root:" not in text and CANARY_TEXT not in text
    assert "after redirect" in text


# ------------------------------------------------------------------------------------ time, load, crashes


def test_timeout_kills_a_busy_page_and_the_pool_stays_usable(
    engine_loop: LoopThread, renderer: ChromiumRenderer
) -> None:
    started = time.perf_counter()
    with pytest.raises(RenderTimeout):
        render(engine_loop, renderer, "<script>while(true){}</script>", timeout_s=1.5)
    assert time.perf_counter() - started < 4
    started = time.perf_counter()
    pdf = render(engine_loop, renderer, "<p>alive after timeout</p>", timeout_s=10)
    assert time.perf_counter() - started < 3
    assert "alive after timeout" in pdf_text(pdf.data)


def test_timeout_while_printing(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    html = "<p>x</p><script>addEventListener('load', () => setTimeout(() => { while (true) {} }, 0));</script>"
    with pytest.raises(RenderTimeout):
        render(engine_loop, renderer, html, timeout_s=1.5)
    assert render(engine_loop, renderer, "<p>ok</p>", timeout_s=10).pages == 1


def test_used_contexts_are_not_kept(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    for _ in range(3):
        render(engine_loop, renderer, "<p>x</p>")
    time.sleep(0.5)
    handle = renderer._current
    assert handle is not None
    assert len(handle.browser.contexts) <= renderer.prewarm_contexts


BUSY_800MS = "<p>busy</p><script>const t = Date.now(); while (Date.now() - t < 800) {}</script>"


def test_queue_full(engine_loop: LoopThread) -> None:
    small = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1, queue_size=1, prewarm_contexts=1)
    engine_loop.run(small.start(), 60)
    try:

        async def burst() -> list[Any]:
            jobs = [small.render_pdf(BUSY_800MS, PageOptions(), timeout_s=10) for _ in range(3)]
            return await asyncio.gather(*jobs, return_exceptions=True)

        results = engine_loop.run(burst(), 60)
        full = [r for r in results if isinstance(r, QueueFull)]
        assert len(full) == 1 and full[0].retry_after >= 1 and full[0].status == 429
        assert sum(isinstance(r, RenderedPdf) for r in results) == 2
    finally:
        engine_loop.run(small.close(), 60)


def test_restart_after(engine_loop: LoopThread) -> None:
    small = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1, restart_after=2, prewarm_contexts=1)
    engine_loop.run(small.start(), 60)
    try:
        first_pid = engine_loop.run(small.browser_pid())
        for _ in range(3):
            engine_loop.run(small.render_pdf("<p>x</p>", PageOptions(), timeout_s=10), 60)
        second_pid = engine_loop.run(small.browser_pid())
        assert first_pid and second_pid and first_pid != second_pid
        time.sleep(0.5)
        assert not _alive(first_pid)
    finally:
        engine_loop.run(small.close(), 60)


def test_crashed_browser_is_relaunched(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    pid = engine_loop.run(renderer.browser_pid())
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    pdf = render(engine_loop, renderer, "<p>after crash</p>")
    assert "after crash" in pdf_text(pdf.data)
    assert engine_loop.run(renderer.browser_pid()) != pid


def test_render_in_flight_during_a_crash_is_retried(engine_loop: LoopThread, renderer: ChromiumRenderer) -> None:
    render(engine_loop, renderer, "<p>warm</p>")
    pid = engine_loop.run(renderer.browser_pid())
    assert pid is not None
    future = engine_loop.submit(renderer.render_pdf(BUSY_800MS, PageOptions(), timeout_s=20))
    time.sleep(0.4)
    os.kill(pid, signal.SIGKILL)
    pdf = future.result(60)
    assert "busy" in pdf_text(pdf.data)


def test_a_dry_pool_is_refilled_while_a_render_runs(engine_loop: LoopThread) -> None:
    """Back-to-back renders leave no idle time: the pool's next context is made during the running render,
    so the render after it does not make its own (each still gets a context of its own)."""
    small = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1, prewarm_contexts=1)
    engine_loop.run(small.start(), 60)
    try:
        time.sleep(1.0)  # the pool's one context is made and warmed

        async def back_to_back() -> list[RenderedPdf]:
            return [await small.render_pdf(BUSY_800MS, PageOptions(), timeout_s=20) for _ in range(3)]

        pdfs = engine_loop.run(back_to_back(), 90)
        assert all("busy" in pdf_text(pdf.data) for pdf in pdfs)
        assert small.stats["cold"] == 0 and small.stats["prewarmed"] + small.stats["claimed"] == 3
    finally:
        engine_loop.run(small.close(), 60)


def test_contexts_are_warmed_only_where_renders_leave_gaps(engine_loop: LoopThread) -> None:
    """A warm-up print costs more CPU than it saves a render that follows closely: renders in quick
    succession (a worker draining a queue) get unwarmed contexts; renders with gaps get warmed ones."""
    small = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1, prewarm_contexts=1)
    engine_loop.run(small.start(), 60)

    def renders(count: int, gap_s: float) -> None:
        for _ in range(count):
            assert engine_loop.run(small.render_pdf("<p>x</p>", PageOptions(), timeout_s=20), 60).pages == 1
            time.sleep(gap_s)

    try:
        time.sleep(1.0)
        before_burst = small.warm_ups
        assert before_burst >= 1  # the first pool, made while nothing ran
        renders(10, 0.0)
        time.sleep(0.6)  # the pool is topped up after the burst, unwarmed: short gaps dominate the average
        assert small.warm_ups == before_burst
        renders(4, 0.6)
        assert small.warm_ups > before_burst  # gaps long enough for a warm-up again
    finally:
        engine_loop.run(small.close(), 60)


@pytest.mark.parametrize("via", ["style", "link"])
def test_web_fonts_are_waited_for(engine_loop: LoopThread, via: str) -> None:
    """Documents that can load a web font keep the fonts.ready wait (skipped only when none can), and the
    face reaches the PDF whether declared in the page or in a linked stylesheet."""
    font_url, css_url = f"{ASSET_PREFIX}u/t/probe.ttf", f"{ASSET_PREFIX}u/t/probe.css"
    face = f'@font-face {{ font-family: "{TEST_FAMILY}"; src: url("{font_url}"); }}'
    assets = {
        font_url: StaticAsset(content_type="font/ttf", data=renamed_font()),
        css_url: StaticAsset(content_type="text/css", data=face.encode()),
    }
    head = f"<style>{face}</style>" if via == "style" else f'<link rel="stylesheet" href="{css_url}">'
    html = f"<!doctype html><html><head>{head}</head><body><p style=\"font-family: '{TEST_FAMILY}'\">Web font</p>"
    small = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1, prewarm_contexts=1)
    engine_loop.run(small.start(), 60)
    try:
        pdf = engine_loop.run(small.render_pdf(html, PageOptions(), timeout_s=20, assets=assets), 60)
    finally:
        engine_loop.run(small.close(), 60)
    assert TEST_FAMILY.replace(" ", "") in _poppler("pdffonts", pdf.data)


# ----------------------------------------------------------------------------------------- the fallback

FULL_CHROMIUM = "/usr/bin/chromium"  # default_chromium_path()'s fallback when headless-shell is absent


@pytest.mark.skipif(not Path(FULL_CHROMIUM).is_file(), reason=f"{FULL_CHROMIUM} (the fallback browser) is absent")
def test_the_full_chromium_fallback_renders_with_our_launch_args(engine_loop: LoopThread) -> None:
    full = ChromiumRenderer(executable_path=FULL_CHROMIUM, concurrency=1, prewarm_contexts=1)
    engine_loop.run(full.start(), 60)
    try:
        pid = engine_loop.run(full.browser_pid())
        assert pid is not None
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        assert Path(command[0]).resolve() == Path("/usr/lib/chromium/chromium")  # the full browser, not the shell
        assert all(arg in command for arg in LAUNCH_ARGS)
        pdf = render(engine_loop, full, "<h1>Full browser</h1>", footer_html="{page}/{pages}")
        assert pdf.pages == 1
        text = pdf_text(pdf.data)
        assert "Full browser" in text and "1/1" in text
    finally:
        engine_loop.run(full.close(), 60)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()
