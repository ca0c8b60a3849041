"""Assets over HTTP: upload/list/get/delete, limits (413/415), tenant scoping, and their use in renders by
both engines (images in the body and in Chromium's footer band, uploaded fonts by family name, CSS)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.rendering_support import TEST_FAMILY, fonts, image_count, image_sizes, png, renamed_font, text

ENGINES = ["chromium", "weasyprint"]


def upload(api: httpx.Client, filename: str, data: bytes, content_type: str, name: str | None = None) -> Any:
    form = {"name": name} if name else None
    return api.post("/v1/assets", files={"file": (filename, data, content_type)}, data=form)


def pdf_of(api: httpx.Client, html: str, **options: Any) -> bytes:
    response = api.post(
        "/v1/documents/transform",
        json={"html": html, "options": options},
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code in (200, 201), response.text
    assert response.content.startswith(b"%PDF")
    return response.content


def test_upload_list_get_content_delete(api: httpx.Client) -> None:
    logo = png()
    created = upload(api, "logo-crud.png", logo, "image/png")
    assert created.status_code == 201, created.text
    asset = created.json()
    assert asset["kind"] == "image" and asset["content_type"] == "image/png"
    assert asset["reference"] == "asset:logo-crud.png" and asset["size_bytes"] == len(logo)

    listed = api.get("/v1/assets", params={"kind": "image", "limit": 100}).json()
    assert asset["id"] in [row["id"] for row in listed["data"]]
    assert api.get(f"/v1/assets/{asset['id']}").json()["name"] == "logo-crud.png"
    content = api.get(f"/v1/assets/{asset['id']}/content")
    assert content.content == logo and content.headers["content-type"] == "image/png"
    assert "sandbox" in content.headers["content-security-policy"]

    # Same name again: the content is replaced, the id kept (200, not 201).
    replaced = upload(api, "logo-crud.png", png((0, 0, 255)), "image/png")
    assert replaced.status_code == 200 and replaced.json()["id"] == asset["id"]
    assert replaced.json()["sha256"] != asset["sha256"]

    assert api.delete(f"/v1/assets/{asset['id']}").status_code == 204
    gone = api.get(f"/v1/assets/{asset['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ASSET_NOT_FOUND"


def test_types_are_sniffed_not_trusted(api: httpx.Client) -> None:
    refused = upload(api, "evil.png", b"#!/bin/sh\necho pwned\n", "image/png")
    assert refused.status_code == 415, refused.text
    assert refused.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    # A PNG declared as something else is still a PNG; CSS needs the text/css type or a .css name.
    assert upload(api, "sniffed.bin", png(), "application/octet-stream", name="sniffed.png").json()["kind"] == "image"
    assert upload(api, "theme.css", b"p { color: red }", "text/plain").json()["kind"] == "css"
    bad_name = upload(api, "x.png", png(), "image/png", name="../etc/passwd")
    assert bad_name.status_code == 400 and bad_name.json()["error"]["code"] == "VALIDATION_ERROR"


def test_too_large_is_413(api: httpx.Client) -> None:
    big = png() + b"\0" * (10 * 1024 * 1024)
    response = upload(api, "big.png", big, "image/png")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_assets_are_tenant_scoped(api: httpx.Client, api_b: httpx.Client) -> None:
    mine = upload(api, "private-logo.png", png(size=(37, 23)), "image/png").json()
    assert api_b.get(f"/v1/assets/{mine['id']}").status_code == 404
    assert api_b.delete(f"/v1/assets/{mine['id']}").status_code == 404
    # B names A's asset: refused with a clear error...
    response = api_b.post("/v1/documents/transform", json={"html": '<img src="asset:private-logo.png">'})
    assert response.status_code == 404 and response.json()["error"]["code"] == "ASSET_NOT_FOUND"
    # ...and writing the engine-side URL by hand loads nothing: only the render's own assets are served.
    url = f"https://assets.pressroom.invalid/u/{mine['id']}/private-logo.png"
    for engine in ENGINES:
        pdf = pdf_of(api_b, f'<p>probe</p><img src="{url}" width="40" height="20">', engine=engine)
        assert (37, 23) not in image_sizes(pdf), engine  # (Chromium draws its broken-image icon instead)


@pytest.mark.parametrize("engine", ENGINES)
def test_image_font_and_css_assets_in_a_render(api: httpx.Client, engine: str) -> None:
    upload(api, "brand.png", png(), "image/png")
    upload(api, "brand-font.ttf", renamed_font(), "font/ttf")
    upload(api, "brand.css", b'.stamp::after { content: "CSS-ASSET-OK"; }', "text/css")
    html = (
        '<link rel="stylesheet" href="asset:brand.css">'
        f'<img src="asset:brand.png" width="80" height="40"><p class="stamp">x</p>'
        f"<p style=\"font-family: '{TEST_FAMILY}'\">Set in the uploaded font</p>"
    )
    pdf = pdf_of(api, html, engine=engine)
    assert image_count(pdf) >= 1
    assert "CSS-ASSET-OK" in text(pdf)
    names = [row["name"].replace("-", "") for row in fonts(pdf)]  # WeasyPrint names it by family
    assert any("PressroomTestSans" in name for name in names), names
    assert all(row["emb"] == "yes" for row in fonts(pdf))


def test_woff2_font_upload(api: httpx.Client) -> None:
    asset = upload(api, "brand-font.woff2", renamed_font("Pressroom Woff Sans", flavor="woff2"), "font/woff2").json()
    assert asset["kind"] == "font" and asset["content_type"] == "font/woff2"
    assert asset["font_family"] == "Pressroom Woff Sans"
    for engine in ENGINES:
        pdf = pdf_of(api, "<p style=\"font-family: 'Pressroom Woff Sans'\">woff2 text</p>", engine=engine)
        assert any("PressroomWoffSans" in row["name"].replace("-", "") for row in fonts(pdf)), engine


def test_footer_band_uses_assets_and_fonts_with_chromium(api: httpx.Client) -> None:
    upload(api, "band-logo.png", png((0, 120, 0)), "image/png")
    upload(api, "band-font.ttf", renamed_font("Pressroom Band Sans"), "font/ttf")
    footer = (
        '<div style="font-family: \'Pressroom Band Sans\'"><img src="asset:band-logo.png" height="12"> '
        "Page {page} of {pages}</div>"
    )
    html = '<p>one</p><p style="page-break-before: always">two</p>'
    for engine in ENGINES:
        pdf = pdf_of(api, html, engine=engine, footer_html=footer, margin="20mm")
        assert "Page 2 of 2" in text(pdf), engine
        assert image_count(pdf) >= 2, engine  # the logo on both pages
        assert any("PressroomBandSans" in row["name"].replace("-", "") for row in fonts(pdf)), engine
