"""Issue #12 item 4: what one render may use, on the real engines.

* A 20000 x 20000 PNG (a ~1 MB zlib bomb) fails a Chromium render at once with 422 RENDER_RESOURCE_LIMIT
  (before: 11.6 s and +3 GB), whether inline (data:) or served as an asset; WeasyPrint leaves it out and
  says so in the result's warnings (before: silently).
* A JS allocation loop (JS heap) and typed arrays (outside the heap) end with RENDER_RESOURCE_LIMIT, the
  renderer gone and the engine still rendering (before: +4 GB).
* Nested SVG <use> (10^7 copies) renders, with a warning (before: a hang until the render timeout).
"""

from __future__ import annotations

import base64
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressroom.aio import LoopThread
from pressroom.core.errors import RenderResourceLimit
from pressroom.rendering.base import PageOptions, RenderedPdf, StaticAsset
from pressroom.rendering.chromium import ASSET_PREFIX, ChromiumRenderer
from pressroom.rendering.weasyprint import WeasyPrintRenderer
from tests.integration.rendering.conftest import CHROMIUM
from tests.support import pdftotext

pytestmark = pytest.mark.chromium

MEMORY_MB = 512


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid RGB PNG of ``width`` x ``height`` black pixels: ~1 MB, 1.2 GB once decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 3)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    return bomb_png()


@pytest.fixture(scope="module")
def limited(loop_thread: LoopThread) -> Iterator[ChromiumRenderer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    renderer = ChromiumRenderer(executable_path=CHROMIUM, concurrency=2, queue_size=4, max_memory_mb=MEMORY_MB)
    loop_thread.run(renderer.start(), 60)
    yield renderer
    loop_thread.run(renderer.close(), 60)


def render(loop: LoopThread, renderer: ChromiumRenderer | WeasyPrintRenderer, html: str, **kw: object) -> RenderedPdf:
    return loop.run(renderer.render_pdf(html, PageOptions(), timeout_s=30, **kw), 60)  # type: ignore[arg-type]


def still_renders(loop: LoopThread, renderer: ChromiumRenderer) -> None:
    assert "still here" in pdftotext(render(loop, renderer, "<p>still here</p>").data)


def test_a_png_bomb_inline_fails_at_once(loop_thread: LoopThread, limited: ChromiumRenderer, png_bomb: bytes) -> None:
    html = f'<p>x</p><img src="data:image/png;base64,{base64.b64encode(png_bomb).decode()}">'
    started = time.perf_counter()
    with pytest.raises(RenderResourceLimit) as raised:
        render(loop_thread, limited, html)
    assert time.perf_counter() - started < 5  # refused from the header, never decoded
    error = raised.value
    assert error.status == 422 and error.code == "RENDER_RESOURCE_LIMIT"
    assert error.details["limit"] == "image_pixels" and error.details["width"] == 20_000
    still_renders(loop_thread, limited)


def test_a_png_bomb_as_an_asset_fails_at_once(
    loop_thread: LoopThread, limited: ChromiumRenderer, png_bomb: bytes
) -> None:
    url = ASSET_PREFIX + "asset_bomb.png"
    assets = {url: StaticAsset("image/png", png_bomb)}
    started = time.perf_counter()
    with pytest.raises(RenderResourceLimit) as raised:
        render(loop_thread, limited, f'<p>x</p><img src="{url}">', assets=assets)
    assert time.perf_counter() - started < 5
    assert raised.value.details["limit"] == "image_pixels"
    still_renders(loop_thread, limited)


def test_a_normal_image_still_renders(loop_thread: LoopThread, limited: ChromiumRenderer) -> None:
    small = base64.b64encode(bomb_png(200, 100)).decode()
    pdf = render(loop_thread, limited, f'<p>with image</p><img src="data:image/png;base64,{small}">')
    assert pdf.pages == 1 and pdf.warnings == ()


@pytest.mark.parametrize(
    "script",
    [
        "const a = []; while (true) { a.push(new Array(1e6).fill(1.5)); }",  # the JS heap: V8's own cap
        "const a = []; for (let i = 0; i < 400; i++) { a.push(new Uint8Array(5e7).fill(1)); }",  # off-heap
    ],
    ids=["js-heap", "typed-arrays"],
)
def test_a_page_beyond_its_memory_is_stopped(loop_thread: LoopThread, limited: ChromiumRenderer, script: str) -> None:
    started = time.perf_counter()
    with pytest.raises(RenderResourceLimit) as raised:
        render(loop_thread, limited, f"<p>hungry</p><script>{script}</script>")
    assert time.perf_counter() - started < 20
    assert raised.value.details == {"limit": "memory", "max_memory_mb": MEMORY_MB}
    still_renders(loop_thread, limited)  # on a replaced browser


USE_BOMB = (
    '<svg width="200" height="50"><defs><g id="a0"><rect width="1" height="1"/></g>'
    + "".join(f'<g id="a{i}">' + f'<use href="#a{i - 1}"/>' * 10 + "</g>" for i in range(1, 8))
    + '</defs><use href="#a7"/></svg><p>after the drawing</p>'
)


def test_nested_svg_use_renders_with_a_warning(loop_thread: LoopThread, limited: ChromiumRenderer) -> None:
    started = time.perf_counter()
    pdf = render(loop_thread, limited, USE_BOMB)
    assert time.perf_counter() - started < 10  # before: until the render timeout
    assert "after the drawing" in pdftotext(pdf.data)
    assert len(pdf.warnings) == 1 and "<use>" in pdf.warnings[0]
    plain = render(loop_thread, limited, '<svg><defs><circle id="c" r="5"/></defs><use href="#c"/></svg><p>x</p>')
    assert plain.warnings == ()


def test_weasyprint_says_it_left_the_image_out(
    loop_thread: LoopThread, weasy: WeasyPrintRenderer, png_bomb: bytes
) -> None:
    inline = f'<p>text stays</p><img src="data:image/png;base64,{base64.b64encode(png_bomb).decode()}">'
    pdf = render(loop_thread, weasy, inline)
    assert "text stays" in pdftotext(pdf.data)
    assert len(pdf.warnings) == 1 and "20000 x 20000" in pdf.warnings[0]
    url = ASSET_PREFIX + "asset_bomb.png"
    served = render(loop_thread, weasy, f'<p>x</p><img src="{url}">', assets={url: StaticAsset("image/png", png_bomb)})
    assert len(served.warnings) == 1 and "asset_bomb.png" in served.warnings[0]


def test_nested_svg_use_in_a_loaded_svg_file_renders_with_a_warning(
    loop_thread: LoopThread, limited: ChromiumRenderer
) -> None:
    svg = USE_BOMB.split("<p>", 1)[0].replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    url = ASSET_PREFIX + "asset_uses.svg"
    assets = {url: StaticAsset("image/svg+xml", svg.encode())}
    started = time.perf_counter()
    pdf = render(loop_thread, limited, f'<img src="{url}"><p>after the image</p>', assets=assets)
    assert time.perf_counter() - started < 10
    assert "after the image" in pdftotext(pdf.data)
    assert len(pdf.warnings) == 1 and "<use>" in pdf.warnings[0]
