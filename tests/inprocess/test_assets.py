"""Assets, in process: upload (sniffed, not trusted), replace by name, listing by kind, content, use in a
render (tenant-scoped asset map), deletion, tenant isolation."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from pressroom.rendering.base import ASSET_PREFIX
from pressroom.storage.keys import asset_key
from tests.inprocess.conftest import App, Tenant


def png(color: str = "red", size: tuple[int, int] = (4, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def upload(
    tenant: Tenant, name: str, data: bytes, content_type: str = "image/png", filename: str = "x.png"
) -> httpx.Response:
    return tenant.post("/v1/assets", files={"file": (filename, data, content_type)}, data={"name": name})


def test_upload_list_content_and_delete(app: App, tenant: Tenant) -> None:
    created = upload(tenant, "logo", png())
    assert created.status_code == 201, created.text
    asset = created.json()
    assert asset["id"].startswith("ast_") and asset["name"] == "logo" and asset["kind"] == "image"
    key = asset_key(tenant.account_id, asset["id"])
    assert app.store.get(key) == png()  # stored by id under the account's prefix
    content = tenant.get(f"/v1/assets/{asset['id']}/content")
    assert content.status_code == 200 and content.content == png()
    assert content.headers["content-type"].startswith("image/png")
    css = upload(tenant, "style", b"p { color: red }", "text/css", "s.css")
    assert css.status_code == 201, css.text
    images = tenant.get("/v1/assets", params={"kind": "image"}).json()
    assert [a["id"] for a in images["data"]] == [asset["id"]] and images["total"] == 1
    assert tenant.get("/v1/assets").json()["total"] == 2
    assert tenant.delete(f"/v1/assets/{asset['id']}").status_code == 204
    assert not app.store.exists(key)
    gone = tenant.get(f"/v1/assets/{asset['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ASSET_NOT_FOUND"


def test_same_name_replaces_the_content(tenant: Tenant) -> None:
    first = upload(tenant, "logo", png("red"))
    second = upload(tenant, "logo", png("blue"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert tenant.get(f"/v1/assets/{first.json()['id']}/content").content == png("blue")
    assert tenant.get("/v1/assets").json()["total"] == 1


def test_content_is_sniffed_not_trusted(tenant: Tenant) -> None:
    response = upload(tenant, "fake", b"<html>not an image</html>", "image/png")
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert tenant.get("/v1/assets").json()["total"] == 0


def test_a_render_gets_only_its_own_tenants_assets(app: App, tenant: Tenant, other: Tenant) -> None:
    mine = upload(tenant, "logo", png()).json()
    upload(other, "logo", png("green"))
    response = tenant.post("/v1/documents/transform", json={"html": '<img src="asset:logo">'})
    assert response.status_code == 201, response.text
    call = app.chromium.calls[-1]
    # The page names the asset under the asset origin; the engine is handed this tenant's bytes only.
    assert ASSET_PREFIX in call.html and "asset:logo" not in call.html
    assert [asset.data for asset in call.assets.values()] == [png()]
    assert all(url.startswith(ASSET_PREFIX) and url in call.html for url in call.assets)
    assert mine["name"] == "logo"


def test_other_tenants_assets_are_404(tenant: Tenant, other: Tenant) -> None:
    asset = upload(tenant, "secret", png()).json()
    for path in (f"/v1/assets/{asset['id']}", f"/v1/assets/{asset['id']}/content"):
        response = other.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "ASSET_NOT_FOUND"
    assert other.delete(f"/v1/assets/{asset['id']}").status_code == 404
    assert tenant.get(f"/v1/assets/{asset['id']}").status_code == 200
