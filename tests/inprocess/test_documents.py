"""Generating and storing documents, in process, on the fake renderer and the in-memory store: what reaches
the engine, what is stored where, download links, listing, deletion, credits, tenant isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from pressroom.core.clock import utcnow
from pressroom.core.errors import RenderFailed
from pressroom.db.models import Document, WebhookDelivery
from pressroom.storage.keys import account_prefixes
from tests.inprocess.conftest import App, Tenant
from tests.support import pdfinfo, pdftotext, wait_until


def transform(tenant: Tenant, html: str, **body: Any) -> Any:
    return tenant.post("/v1/documents/transform", json={"html": html, **body})


def test_generate_renders_the_template_with_its_data(app: App, tenant: Tenant) -> None:
    template = tenant.post(
        "/v1/templates",
        json={
            "name": "Invoice",
            "body": "<h1>Invoice {{number}}</h1><p>{{customer}}</p>",
            "options": {"paper": "Letter"},
        },
    ).json()
    response = tenant.post(
        "/v1/documents/generate",
        json={"template_id": template["id"], "data": {"number": "INV-7", "customer": "Ada"}, "filename": "inv-7"},
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["status"] == "completed" and document["filename"] == "inv-7.pdf"
    assert document["template_id"] == template["id"] and document["pages"] == 1
    call = app.chromium.calls[-1]
    assert "Invoice INV-7" in call.html and call.options.paper == "LETTER"

    pdf = app.fetch(document["download_url"])  # the signed link needs no key
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "Invoice INV-7" in pdftotext(pdf.content) and pdfinfo(pdf.content)["Pages"] == "1"
    assert document["size_bytes"] == len(pdf.content)
    # Stored under the account's prefix, by id: no user text in the key.
    mine = [key for key in app.store.stored_keys() if key.startswith(account_prefixes(tenant.account_id))]
    assert len(mine) == 1 and "inv-7" not in mine[0] and app.store.get(mine[0]) == pdf.content


def test_binary_answer_and_the_templates_engine(app: App, tenant: Tenant) -> None:
    template = tenant.post(
        "/v1/templates", json={"name": "W", "body": "<p>{{who}}</p>", "options": {"engine": "weasyprint"}}
    )
    assert template.status_code == 201, template.text
    response = tenant.post(
        "/v1/documents/generate",
        json={"template_id": template.json()["id"], "data": {"who": "Grace"}},
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "Grace" in pdftotext(response.content)
    assert app.weasyprint.calls and "Grace" in app.weasyprint.calls[-1].html
    stored = tenant.get(f"/v1/documents/{response.headers['x-document-id']}").json()
    assert stored["size_bytes"] == len(response.content)


def test_page_options_reach_the_engine(app: App, tenant: Tenant) -> None:
    response = transform(
        tenant,
        "<p>one</p><div style='page-break-before: always'>two</div>",
        options={"paper": "A5", "orientation": "landscape", "timeout_s": 7},
    )
    assert response.status_code == 201, response.text
    assert response.json()["pages"] == 2
    options = app.chromium.calls[-1].options
    assert (options.paper, options.orientation, options.timeout_s) == ("A5", "landscape", 7)


def test_render_errors_are_reported_and_nothing_is_charged(app: App, tenant: Tenant) -> None:
    before = tenant.get("/v1/credits").json()["credits_left"]
    app.chromium.fail_with = RenderFailed("the page crashed")
    try:
        response = transform(tenant, "<p>x</p>")
    finally:
        app.chromium.fail_with = None
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "RENDER_FAILED"
    assert tenant.get("/v1/credits").json()["credits_left"] == before
    assert tenant.get("/v1/documents").json()["total"] == 0


def test_template_errors_are_422_before_any_render(app: App, tenant: Tenant) -> None:
    calls = len(app.chromium.calls)
    response = transform(tenant, "{{#if}}")
    assert response.status_code == 422 and response.json()["error"]["code"] == "TEMPLATE_SYNTAX_ERROR"
    assert len(app.chromium.calls) == calls


def test_each_document_debits_one_credit(tenant: Tenant) -> None:
    first = transform(tenant, "<p>a</p>").json()
    second = transform(tenant, "<p>b</p>").json()
    assert (first["credits_charged"], first["credits_left"]) == (1, 99)
    assert (second["credits_charged"], second["credits_left"]) == (1, 98)
    assert tenant.get("/v1/credits").json()["credits_left"] == 98
    usage = tenant.get("/v1/usage").json()
    assert usage["documents"]["used"] == 2 and usage["credits_charged"] == 2


def test_documents_list_paginates_newest_first(tenant: Tenant) -> None:
    ids = [transform(tenant, f"<p>{index}</p>").json()["id"] for index in range(3)]
    first = tenant.get("/v1/documents", params={"limit": 2}).json()
    rest = tenant.get("/v1/documents", params={"limit": 2, "offset": 2}).json()
    assert first["total"] == 3 and len(first["data"]) == 2 and len(rest["data"]) == 1
    assert [d["id"] for d in first["data"] + rest["data"]] == ids[::-1]


def test_delete_removes_the_row_and_the_blob(app: App, tenant: Tenant) -> None:
    document = transform(tenant, "<p>bye</p>").json()
    assert any(key.startswith(tenant.account_id) for key in app.store.stored_keys())
    assert tenant.delete(f"/v1/documents/{document['id']}").status_code == 204
    gone = tenant.get(f"/v1/documents/{document['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "DOCUMENT_NOT_FOUND"
    assert not any(key.startswith(tenant.account_id) for key in app.store.stored_keys())
    assert app.fetch(document["download_url"]).status_code == 404


def test_tampered_download_link_is_refused(app: App, tenant: Tenant) -> None:
    url = transform(tenant, "<p>x</p>").json()["download_url"]
    tampered = app.fetch(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
    assert tampered.status_code == 403


def test_other_tenants_documents_are_404(tenant: Tenant, other: Tenant) -> None:
    document = transform(tenant, "<p>secret</p>").json()
    for call in (other.get, other.delete):
        response = call(f"/v1/documents/{document['id']}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "DOCUMENT_NOT_FOUND"
    assert other.get(f"/v1/documents/{document['id']}/download").status_code == 404
    assert other.get("/v1/documents").json()["total"] == 0
    assert tenant.get(f"/v1/documents/{document['id']}").status_code == 200


def test_async_generation_runs_on_the_queue_and_notifies_signed(app: App, tenant: Tenant) -> None:
    response = tenant.post(
        "/v1/documents/transform",
        json={"html": "<p>later</p>", "async": True, "webhook_url": f"{app.receiver.url}/job", "metadata": {"r": 1}},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    job = tenant.wait_for_job(job_id)
    assert job["status"] == "completed" and job["document_id"]
    with app.container.db.session() as session:
        row = session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)).one()
        assert (row.event, row.target, row.payload["document_id"]) == ("job.completed", "request", job["document_id"])
    wait_until(lambda: any(r.path == "/job" and r.json()["job_id"] == job_id for r in app.receiver.received), 20)
    received = next(r for r in app.receiver.received if r.path == "/job" and r.json()["job_id"] == job_id)
    secret = tenant.get("/v1/account").json()["webhook_signing_secret"]
    payload = Webhook(secret).verify(received.body, received.headers)  # an independent verifier
    assert payload["status"] == "completed" and payload["metadata"] == {"r": 1}


def test_retention_sweep_deletes_expired_files_and_keeps_the_row(app: App, tenant: Tenant) -> None:
    kept = transform(tenant, "<p>kept</p>").json()
    old = transform(tenant, "<p>old</p>").json()
    with app.container.db.session() as session:
        session.execute(
            update(Document).where(Document.id == old["id"]).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        old_key = session.get(Document, old["id"]).storage_key  # type: ignore[union-attr]
    assert app.store.exists(old_key)
    # The sweep also runs as a queue chore; called here so the test does not wait for its period.
    app.container.documents.sweep_expired()
    assert not app.store.exists(old_key)
    row = tenant.get(f"/v1/documents/{old['id']}")
    assert row.status_code == 200 and row.json()["status"] == "expired" and row.json()["download_url"] is None
    gone = tenant.get(f"/v1/documents/{old['id']}/download")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "DOCUMENT_EXPIRED"
    assert app.fetch(old["download_url"]).status_code == 410  # the link signed before expiry
    assert app.fetch(kept["download_url"]).status_code == 200
