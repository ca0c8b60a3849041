"""Templates and folders, in process: CRUD, validation errors, upserts, pagination, tenant isolation."""

from __future__ import annotations

from sqlalchemy import select

from pressroom.db.models import WebhookDelivery
from tests.inprocess.conftest import App, Tenant


def test_template_crud(tenant: Tenant) -> None:
    created = tenant.post("/v1/templates", json={"name": "Letter", "body": "<p>Hello {{name}}</p>"})
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["id"].startswith("tpl_") and template["kind"] == "html"
    path = f"/v1/templates/{template['id']}"
    assert tenant.get(path).json()["body"] == "<p>Hello {{name}}</p>"
    patched = tenant.patch(path, json={"name": "Letter v2", "css": "p{color:red}"})
    assert patched.status_code == 200 and patched.json()["name"] == "Letter v2"
    assert patched.json()["body"] == "<p>Hello {{name}}</p>"  # untouched fields stay
    assert tenant.delete(path).status_code == 204
    gone = tenant.get(path)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"


def test_syntax_errors_are_422_and_keep_the_old_body(tenant: Tenant) -> None:
    bad = tenant.post("/v1/templates", json={"name": "Bad", "body": "<p>\n{{#if x}}open"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "TEMPLATE_SYNTAX_ERROR"
    assert bad.json()["error"]["details"]["line"] >= 2
    template = tenant.post("/v1/templates", json={"name": "Ok", "body": "{{a}}"}).json()
    patched = tenant.patch(f"/v1/templates/{template['id']}", json={"body": "{{#each}}"})
    assert patched.status_code == 422
    assert tenant.get(f"/v1/templates/{template['id']}").json()["body"] == "{{a}}"


def test_unknown_options_are_400(tenant: Tenant) -> None:
    for options in ({"paper": "A99"}, {"colour": "red"}):
        response = tenant.post("/v1/templates", json={"name": "x", "body": "x", "options": options})
        assert response.status_code == 400, options
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_external_id_upserts(tenant: Tenant) -> None:
    first = tenant.post("/v1/templates", json={"name": "A", "body": "1", "external_id": "ext-1"})
    second = tenant.post("/v1/templates", json={"name": "B", "body": "2", "external_id": "ext-1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"] and second.json()["body"] == "2"


def test_templates_paginate_and_filter_by_folder(tenant: Tenant) -> None:
    folder = tenant.post("/v1/folders", json={"name": "Invoices"})
    assert folder.status_code == 201, folder.text
    folder_id = folder.json()["id"]
    for index in range(3):
        body = {"name": f"in-{index}", "body": "x", "folder_id": folder_id}
        assert tenant.post("/v1/templates", json=body).status_code == 201
    tenant.post("/v1/templates", json={"name": "outside", "body": "x"})
    first = tenant.get("/v1/templates", params={"folder_id": folder_id, "limit": 2}).json()
    rest = tenant.get("/v1/templates", params={"folder_id": folder_id, "limit": 2, "offset": 2}).json()
    assert (first["total"], len(first["data"]), first["limit"], len(rest["data"])) == (3, 2, 2, 1)
    names = {t["name"] for t in first["data"] + rest["data"]}
    assert names == {"in-0", "in-1", "in-2"}
    assert tenant.get("/v1/templates").json()["total"] == 4
    too_big = tenant.get("/v1/templates", params={"limit": 10_000})
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "VALIDATION_ERROR"


def test_folders_crud_and_unknown_folder(tenant: Tenant) -> None:
    folder_id = tenant.post("/v1/folders", json={"name": "A"}).json()["id"]
    renamed = tenant.patch(f"/v1/folders/{folder_id}", json={"name": "Bills"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Bills"
    assert [f["id"] for f in tenant.get("/v1/folders").json()["data"]] == [folder_id]
    assert tenant.delete(f"/v1/folders/{folder_id}").status_code == 204
    missing = tenant.get(f"/v1/folders/{folder_id}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "FOLDER_NOT_FOUND"
    orphan = tenant.post("/v1/templates", json={"name": "x", "body": "x", "folder_id": folder_id})
    assert orphan.status_code == 404 and orphan.json()["error"]["code"] == "FOLDER_NOT_FOUND"


def test_other_tenants_templates_and_folders_are_404(tenant: Tenant, other: Tenant) -> None:
    template = tenant.post("/v1/templates", json={"name": "mine", "body": "x"}).json()
    folder = tenant.post("/v1/folders", json={"name": "mine"}).json()
    for path in (f"/v1/templates/{template['id']}", f"/v1/folders/{folder['id']}"):
        assert other.get(path).status_code == 404
        assert other.patch(path, json={"name": "stolen"}).status_code == 404
        assert other.delete(path).status_code == 404
    assert other.get("/v1/templates").json()["total"] == 0
    assert other.get("/v1/folders").json()["total"] == 0
    assert tenant.get(f"/v1/templates/{template['id']}").json()["name"] == "mine"


def test_template_events_are_written_to_the_outbox(app: App) -> None:
    tenant = app.tenant(role="admin")  # webhook endpoints are an admin's to manage
    hook = tenant.post(
        "/v1/webhooks", json={"url": f"{app.receiver.url}/tpl", "events": ["template.created", "template.deleted"]}
    )
    assert hook.status_code == 201, hook.text
    template = tenant.post("/v1/templates", json={"name": "evented", "body": "x"}).json()
    tenant.patch(f"/v1/templates/{template['id']}", json={"name": "changed"})  # not subscribed
    tenant.delete(f"/v1/templates/{template['id']}")
    with app.container.db.session() as session:
        rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == hook.json()["id"])).all()
        events = sorted((row.event, row.payload["data"]["template_id"]) for row in rows)
    # Written in the transaction of each change; the update is not subscribed to.
    assert events == [("template.created", template["id"]), ("template.deleted", template["id"])]
