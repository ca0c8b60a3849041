"""Uploaded fonts and images are checked before anything inflates them (issue #12, item 3).

The bombs are built by code (tests/bomb_support.py): a 456-byte WOFF2 whose brotli data inflates to
512 MiB (the issue's was 863 bytes), fonts whose directories declare tables of ~4 GiB, a PNG header
declaring 100,000 x 100,000 pixels. Each refusal runs in a forked child whose address space may grow by
only 64 MiB, so "refused before inflating" is measured, not assumed; the same call through fontTools
alone hits that cap, which shows the bound bites.
"""

from __future__ import annotations

import importlib
import io
import zlib
from functools import cache
from typing import Any

import pytest

from pressroom.assets.service import sniff
from pressroom.core.errors import AssetLimitExceeded, UnsupportedMediaType
from pressroom.rendering.fonts import inspect_font
from tests.bomb_support import MIB, outcome_within_memory, png_header, woff2_bomb, woff_bomb
from tests.rendering_support import png, renamed_font

_ttlib: Any = importlib.import_module("fontTools.ttLib")
HEADROOM = 64 * MIB


@cache
def brand_font(flavor: str | None) -> bytes:
    """A real font in each format (fontTools' WOFF2 encoder takes seconds: made once)."""
    return renamed_font("Brand Sans", flavor=flavor)


@pytest.fixture(scope="module")
def woff2_512() -> bytes:
    data = woff2_bomb(1000, inflated_mib=512)
    assert len(data) < 1000  # the was 863 bytes
    return data


def _refusal(data: bytes) -> AssetLimitExceeded:
    with pytest.raises(AssetLimitExceeded) as caught:
        inspect_font(data)
    assert caught.value.status == 413 and caught.value.code == "ASSET_LIMIT_EXCEEDED"
    assert caught.value.details["limit"] == "font_bytes"
    return caught.value


def test_fonttools_alone_would_inflate_the_woff2_bomb(woff2_512: bytes) -> None:
    """The control: what the upload path did before (fontTools reads the whole brotli stream first)."""
    assert outcome_within_memory(lambda: _ttlib.TTFont(io.BytesIO(woff2_512), lazy=True), HEADROOM) == "MemoryError"


def test_a_woff2_that_inflates_beyond_what_it_declares_is_refused_within_64_mib(woff2_512: bytes) -> None:
    refused = _refusal(woff2_512)
    assert refused.details["reason"] == "inflates beyond its declared size"
    assert outcome_within_memory(lambda: inspect_font(woff2_512), HEADROOM) == "AssetLimitExceeded"


def test_a_woff_that_inflates_beyond_what_it_declares_is_refused_within_64_mib() -> None:
    bomb = woff_bomb(MIB, inflated_mib=512)
    assert outcome_within_memory(lambda: _ttlib.TTFont(io.BytesIO(bomb))["name"], HEADROOM) == "MemoryError"
    assert _refusal(bomb).details["reason"] == "inflates beyond its declared size"
    assert outcome_within_memory(lambda: inspect_font(bomb), HEADROOM) == "AssetLimitExceeded"


@pytest.mark.parametrize("build", [woff2_bomb, woff_bomb], ids=["woff2", "woff"])
def test_declared_sizes_up_to_4_gib_are_refused_from_the_directory_alone(build: Any) -> None:
    bomb = build(0xFFFFFFF0)
    assert len(bomb) < 2000
    assert _refusal(bomb).details["declared_bytes"] >= 0xFFFFFFF0
    assert outcome_within_memory(lambda: inspect_font(bomb), HEADROOM) == "AssetLimitExceeded"


def test_the_font_limit_is_the_setting() -> None:
    """A real WOFF2 (DejaVu Sans, ~750 KB of tables) over a 100 KB ``assets.max_font_bytes``."""
    woff2 = brand_font("woff2")
    with pytest.raises(AssetLimitExceeded) as caught:
        inspect_font(woff2, max_font_bytes=100_000)
    assert caught.value.details["max_font_bytes"] == 100_000 and caught.value.details["declared_bytes"] > 100_000


@pytest.mark.parametrize("flavor", [None, "woff", "woff2"])
def test_real_fonts_still_pass(flavor: str | None) -> None:
    info = inspect_font(brand_font(flavor))
    assert info is not None and info.family == "Brand Sans"


def test_malformed_compressed_fonts_are_not_fonts() -> None:
    """Broken directories or compressed data: the upload is not a font (415 from the asset service), never a
    500 and never inflated."""
    woff2 = brand_font("woff2")
    corrupt = woff2[:1000] + bytes(b ^ 0x5A for b in woff2[1000:1200]) + woff2[1200:]  # in the brotli data
    assert inspect_font(corrupt) is None
    assert inspect_font(woff2[:40]) is None  # cut inside the header
    woff = brand_font("woff")
    stored_bigger = woff_bomb(10, inflated_mib=0)  # compressed data longer than the table it declares
    assert inspect_font(stored_bigger) is None
    assert inspect_font(woff[:200]) is None
    assert inspect_font(b"wOFF" + zlib.compress(b"x") * 3) is None


def test_sniffing_refuses_images_by_their_declared_pixels() -> None:
    with pytest.raises(AssetLimitExceeded) as caught:
        sniff(png_header(100_000, 100_000), "huge.png", "image/png")
    assert caught.value.status == 413
    assert caught.value.details == {
        "limit": "pixels",
        "width": 100_000,
        "height": 100_000,
        "max_pixels": 89_478_485,
    }
    assert sniff(png(size=(400, 300)), "ok.png", None).kind == "image"
    assert sniff(png(size=(400, 300)), "ok.png", None, max_image_pixels=400 * 300).kind == "image"
    with pytest.raises(AssetLimitExceeded):
        sniff(png(size=(400, 300)), "ok.png", None, max_image_pixels=400 * 300 - 1)


def test_sniffing_refuses_font_bombs_and_passes_the_font_limit_on(woff2_512: bytes) -> None:
    with pytest.raises(AssetLimitExceeded):
        sniff(woff2_512, "bomb.woff2", "font/woff2")
    with pytest.raises(AssetLimitExceeded):
        sniff(brand_font("woff2"), "f.woff2", None, max_font_bytes=100_000)
    with pytest.raises(UnsupportedMediaType):  # a broken font is not an asset kind at all
        sniff(woff_bomb(10), "broken.woff", None)
