from __future__ import annotations

import httpx


def test_template_crud_roundtrip(api: httpx.Client) -> None:
    created = api.post("/v1/templates", json={"name": "Letter", "body": "<p>Hello {{name}}</p>"})
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["id"].startswith("tpl_") and template["kind"] == "html"

    fetched = api.get(f"/v1/templates/{template['id']}").json()
    assert fetched["body"] == "<p>Hello {{name}}</p>"

    patched = api.patch(f"/v1/templates/{template['id']}", json={"name": "Letter v2", "css": "p{color:red}"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Letter v2" and patched.json()["css"] == "p{color:red}"

    assert api.delete(f"/v1/templates/{template['id']}").status_code == 204
    gone = api.get(f"/v1/templates/{template['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"


def test_syntax_error_on_save_is_422_with_line_and_column(api: httpx.Client) -> None:
    response = api.post("/v1/templates", json={"name": "Broken", "body": "<p>\n{{#if ok}}\nyes\n"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "TEMPLATE_SYNTAX_ERROR"
    assert error["details"]["line"] >= 2 and error["details"]["column"] >= 1


def test_syntax_error_on_patch_keeps_the_old_body(api: httpx.Client) -> None:
    template = api.post("/v1/templates", json={"name": "Ok", "body": "{{a}}"}).json()
    response = api.patch(f"/v1/templates/{template['id']}", json={"body": "{{#each}}"})
    assert response.status_code == 422
    assert api.get(f"/v1/templates/{template['id']}").json()["body"] == "{{a}}"


def test_header_footer_syntax_is_checked_too(api: httpx.Client) -> None:
    response = api.post("/v1/templates", json={"name": "H", "body": "x", "options": {"footer_html": "{{#with a}}"}})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "TEMPLATE_SYNTAX_ERROR"


def test_unknown_option_and_bad_paper_are_400(api: httpx.Client) -> None:
    for options in ({"papper": "A4"}, {"paper": "B7"}, {"margin": "ten"}, {"scale": 9}):
        response = api.post("/v1/templates", json={"name": "x", "body": "x", "options": options})
        assert response.status_code == 400, options
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert response.json()["error"]["details"][0]["field"].startswith("options")


def test_external_id_upserts(api: httpx.Client) -> None:
    first = api.post("/v1/templates", json={"name": "A", "body": "1", "external_id": "crm-42"})
    assert first.status_code == 201
    second = api.post("/v1/templates", json={"name": "B", "body": "2", "external_id": "crm-42"})
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["name"] == "B" and second.json()["body"] == "2"


def test_folders_and_filtered_paginated_listing(api: httpx.Client) -> None:
    folder = api.post("/v1/folders", json={"name": "Invoices"})
    assert folder.status_code == 201
    folder_id = folder.json()["id"]
    for index in range(3):
        body = {"name": f"in-folder-{index}", "body": "x", "folder_id": folder_id}
        assert api.post("/v1/templates", json=body).status_code == 201
    page = api.get("/v1/templates", params={"folder_id": folder_id, "limit": 2}).json()
    assert page["total"] == 3 and len(page["data"]) == 2 and page["limit"] == 2
    rest = api.get("/v1/templates", params={"folder_id": folder_id, "limit": 2, "offset": 2}).json()
    assert len(rest["data"]) == 1
    assert {t["folder_id"] for t in page["data"] + rest["data"]} == {folder_id}

    renamed = api.patch(f"/v1/folders/{folder_id}", json={"name": "Bills"})
    assert renamed.json()["name"] == "Bills"
    assert any(f["id"] == folder_id for f in api.get("/v1/folders").json()["data"])
    assert api.delete(f"/v1/folders/{folder_id}").status_code == 204
    assert api.get(f"/v1/folders/{folder_id}").status_code == 404


def test_unknown_folder_is_404(api: httpx.Client) -> None:
    response = api.post("/v1/templates", json={"name": "x", "body": "x", "folder_id": "fld_nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "FOLDER_NOT_FOUND"


def test_other_tenants_templates_and_folders_are_404(api: httpx.Client, api_b: httpx.Client) -> None:
    template = api.post("/v1/templates", json={"name": "mine", "body": "x"}).json()
    folder = api.post("/v1/folders", json={"name": "mine"}).json()
    for path in (f"/v1/templates/{template['id']}", f"/v1/folders/{folder['id']}"):
        assert api_b.get(path).status_code == 404
        assert api_b.patch(path, json={"name": "stolen"}).status_code == 404
        assert api_b.delete(path).status_code == 404
    assert template["id"] not in {t["id"] for t in api_b.get("/v1/templates?limit=100").json()["data"]}
    assert api.get(f"/v1/templates/{template['id']}").json()["name"] == "mine"
