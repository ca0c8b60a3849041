"""Pure pieces of the engines: WeasyPrint's page CSS and bands, page selection, Chromium's launch flags,
frameworks, fonts, asset references and sniffing, engine/feature checks, the starter catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from pressroom.assets.service import RenderAssets, references, sniff
from pressroom.core.errors import UnsupportedMediaType, ValidationFailed
from pressroom.rendering.base import ASSET_PREFIX, PageOptions, PdfAttachment, StaticAsset
from pressroom.rendering.chromium import LAUNCH_ARGS, pdf_params
from pressroom.rendering.chromium.browser import PLAYWRIGHT_DISABLED_FEATURES
from pressroom.rendering.chromium.printing import band_font_faces, may_load_web_fonts
from pressroom.rendering.fonts import clean_family, font_face, font_format, inspect_font
from pressroom.rendering.frameworks import builtin_asset, head_tags
from pressroom.rendering.html import wrap_document
from pressroom.rendering.weasyprint import decorate, page_css, select_pages
from pressroom.templates.catalog import SLUGS, load_catalog
from pressroom.templates.schemas import DocumentOptions
from pressroom.templating import handlebars
from tests.rendering_support import png, renamed_font


def test_page_css_maps_the_options() -> None:
    css = page_css(PageOptions(paper="A4", orientation="landscape", margin="10mm"))
    assert "size: 11.692913in 8.267717in" in css
    assert css.count("0.393701in") == 4
    banded = page_css(PageOptions(footer_html="x"))
    assert "element(prFooter)" in banded and "margin: 0.0in 0.0in 0.590551in 0.0in" in banded
    assert "counter(pages)" in banded


def test_decorate_puts_page_css_first_and_bands_in_body() -> None:
    document = wrap_document("<p>x</p>", "@page { margin: 1in }")
    out = decorate(
        document.replace("<head>", "<head><title>T &amp; Co</title>", 1),
        PageOptions(header_html="{title} {date}", footer_html='{page}/{pages} <span class="pageNumber"></span>'),
    )
    assert out.index("@page { size") < out.index("@page { margin: 1in }")  # the template's own rule wins
    assert '<div id="pr-header" class="pr-band">T &amp; Co 20' in out
    assert '<span class="pr-page"></span>/<span class="pr-pages"></span> <span class="pr-page"></span>' in out


@pytest.mark.parametrize(
    ("ranges", "count", "expected"),
    [("1-3, 5", 6, [0, 1, 2, 4]), ("2-", 4, [1, 2, 3]), ("3", 3, [2]), ("2-9", 3, [1, 2]), ("1,1", 2, [0])],
)
def test_select_pages(ranges: str, count: int, expected: list[int]) -> None:
    assert select_pages(ranges, count) == expected


@pytest.mark.parametrize("ranges", ["0", "5-6", "a", "1-2; 3"])
def test_select_pages_refuses(ranges: str) -> None:
    with pytest.raises(ValidationFailed):
        select_pages(ranges, 3)


def test_launch_flags_keep_playwrights_disabled_features() -> None:
    """Chromium keeps only the last --disable-features: ours must include every feature Playwright disables."""
    ours = next(arg for arg in LAUNCH_ARGS if arg.startswith("--disable-features="))
    features = set(ours.split("=", 1)[1].split(","))
    assert {"SpareRendererForSitePerProcess", "WebUIOmniboxPopup", "PreloadTopChromeWebUI"} <= features
    import playwright

    bundle = Path(playwright.__file__).parent / "driver/package/lib/coreBundle.js"
    if not bundle.exists():  # older layouts keep the switches in their own module
        found = list((Path(playwright.__file__).parent / "driver/package/lib").rglob("chromiumSwitches.js"))
        assert found, "cannot find Playwright's Chromium switches to compare with"
        bundle = found[0]
    source = bundle.read_text()
    block = re.search(r"disabledFeatures = \[(.*?)\]", source, re.DOTALL)
    assert block, "Playwright's disabledFeatures list moved: update PLAYWRIGHT_DISABLED_FEATURES"
    theirs = set(re.findall(r'"([A-Za-z0-9]+)"', block.group(1)))
    assert theirs <= set(PLAYWRIGHT_DISABLED_FEATURES), theirs - set(PLAYWRIGHT_DISABLED_FEATURES)


def test_band_font_faces_are_found_for_priming() -> None:
    face = font_face("Brand", "data:font/ttf;base64,AAAA", "truetype", 700, "italic")
    params = pdf_params(PageOptions(footer_html=f"<style>{face}</style>x"))
    assert band_font_faces(params) == [{"rule": face, "family": "Brand", "weight": "700", "style": "italic"}]
    assert band_font_faces(pdf_params(PageOptions(footer_html="x"))) == []


def test_frameworks_are_served_from_package_data() -> None:
    css = builtin_asset(f"{ASSET_PREFIX}_pressroom/bootstrap.min.css?v=1", ASSET_PREFIX)
    assert css is not None and css.content_type == "text/css" and b"Bootstrap" in css.data[:300]
    js = builtin_asset(f"{ASSET_PREFIX}_pressroom/tailwind.browser.js", ASSET_PREFIX)
    assert js is not None and js.content_type == "text/javascript" and len(js.data) > 100_000
    assert builtin_asset(f"{ASSET_PREFIX}_pressroom/../secret", ASSET_PREFIX) is None
    assert builtin_asset(f"{ASSET_PREFIX}u/x/bootstrap.min.css", ASSET_PREFIX) is None
    assert head_tags("none", ASSET_PREFIX) == ""
    assert "bootstrap.min.css" in head_tags("bootstrap", ASSET_PREFIX)
    assert "<script" in head_tags("tailwind", ASSET_PREFIX)


def test_wrap_document_head_start_goes_first() -> None:
    out = wrap_document("<!doctype html><html><head><style>a{}</style></head><body></body></html>", "b{}", "<x-first>")
    assert out.index("<x-first>") < out.index("a{}") < out.index("b{}")
    assert wrap_document("<p>y</p>", "", "<x-first>").count("<x-first>") == 1


def test_fonts_are_read_from_their_own_tables() -> None:
    info = inspect_font(renamed_font("Brand Sans"))
    assert info is not None and info.family == "Brand Sans" and info.format == "truetype"
    assert info.weight == 400 and info.style == "normal" and info.content_type == "font/ttf"
    woff2 = renamed_font("Brand Sans", flavor="woff2")
    assert font_format(woff2) == "woff2" and inspect_font(woff2) is not None
    assert inspect_font(b"wOF2 not really a font") is None
    assert clean_family('Evil"; } body { x') == "Evil  body  x"


def test_sniffing_assets() -> None:
    assert sniff(png(), "a.bin", None).kind == "image"
    assert sniff(b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", None).kind == "image"
    assert sniff(renamed_font(), "f.ttf", None).font_family == "Pressroom Test Sans"
    assert sniff(b"p { color: red }", "x.css", None).kind == "css"
    with pytest.raises(UnsupportedMediaType):
        sniff(b"p { color: red }", "x.txt", "text/plain")
    with pytest.raises(UnsupportedMediaType):
        sniff(b"MZ\x90\x00binary", "x.css", "text/css")


def test_references_and_rewriting() -> None:
    found = references('<img src="asset:logo.png">', "url(asset:bg-1.jpg) srcset='asset:a.png 2x'", None)
    assert found == {"logo.png", "bg-1.jpg", "a.png"}
    assert references("see https://x/asset:no.png and myasset:no.png") == set()
    assets = RenderAssets(
        urls={"logo.png": f"{ASSET_PREFIX}u/ast_1/logo.png"},
        files={f"{ASSET_PREFIX}u/ast_1/logo.png": StaticAsset("image/png", b"\x89PNG")},
    )
    assert assets.rewrite('<img src="asset:logo.png">') == f'<img src="{ASSET_PREFIX}u/ast_1/logo.png">'
    assert assets.rewrite_band('<img src="asset:logo.png">') == '<img src="data:image/png;base64,iVBORw==">'
    assert assets.rewrite("asset:other.png") == "asset:other.png"


def test_engine_feature_checks() -> None:
    with pytest.raises(ValidationError, match="needs engine 'chromium'"):
        DocumentOptions.model_validate({"engine": "weasyprint", "framework": "tailwind"})
    with pytest.raises(ValidationError, match="need engine 'weasyprint'"):
        DocumentOptions.model_validate({"engine": "chromium", "pdf_variant": "pdf/a-3b"})
    DocumentOptions.model_validate({"engine": "weasyprint", "pdf_variant": "pdf/a-3b", "framework": "bootstrap"})
    with pytest.raises(ValidationError):
        DocumentOptions.model_validate({"wait_for": {"delay_ms": 60_000}})
    with pytest.raises(ValidationError):
        PdfAttachment(filename="x", content_base64="!!", asset=None)
    with pytest.raises(ValidationError):
        PdfAttachment(filename="x", content_base64="eA==", asset="y")


def test_catalog_entries_are_valid_templates() -> None:
    entries = load_catalog()
    assert [entry.slug for entry in entries] == list(SLUGS)
    for entry in entries:
        DocumentOptions.model_validate(entry.options)
        handlebars.compile(entry.body).render(entry.sample_data)
        assert entry.css.strip() and entry.description


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<style>p { font-family: sans-serif; }</style><p>system fonts only</p>", False),
        ("<p style=\"font-family: 'DejaVu Sans'\">named system font</p>", False),
        ('<style>@font-face { font-family: X; src: url("asset:x.woff2"); }</style>', True),
        ("<STYLE>@FONT-FACE{font-family:X;src:url(x.ttf)}</STYLE>", True),
        ('<link rel="stylesheet" href="asset:brand.css">', True),
        ('<style>@import url("asset:brand.css");</style>', True),
        ('<script>document.fonts.add(new FontFace("X", "url(x.ttf)"))</script>', True),
        ("<svg><style>@font-face { font-family: Y; src: url(y.woff); }</style></svg>", True),
    ],
)
def test_which_documents_wait_for_web_fonts(html: str, expected: bool) -> None:
    """Skipping document.fonts.ready is only safe when nothing in the document can load a web font."""
    assert may_load_web_fonts(html) is expected
