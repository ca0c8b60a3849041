from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import INVOICE_DATA, Stack
from tests.support import page_size_pt, pdfinfo, pdftotext


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "canceled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s}s")


def test_generate_sync_returns_document_json(api: httpx.Client, invoice_template: dict[str, Any]) -> None:
    response = api.post(
        "/v1/documents/generate",
        json={"template_id": invoice_template["id"], "data": INVOICE_DATA, "filename": "inv-001"},
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["status"] == "completed"
    assert document["id"].startswith("doc_") and document["job_id"].startswith("job_")
    assert document["filename"] == "inv-001.pdf"
    assert document["pages"] == 1 and document["size_bytes"] > 1000
    assert document["template_id"] == invoice_template["id"]
    assert document["expires_at"] and document["created_at"]

    pdf = httpx.get(document["download_url"]).content  # signed URL: no API key
    assert pdf.startswith(b"%PDF-")
    text = pdftotext(pdf)
    assert "Invoice INV-2026-001" in text and "Ada Lovelace" in text and "Gadget" in text
    assert int(pdfinfo(pdf)["Pages"]) == 1


def test_generate_binary_when_client_accepts_pdf(api: httpx.Client, invoice_template: dict[str, Any]) -> None:
    response = api.post(
        "/v1/documents/generate",
        json={"template_id": invoice_template["id"], "data": INVOICE_DATA},
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    document_id = response.headers["x-document-id"]
    assert "Ada Lovelace" in pdftotext(response.content)
    stored = api.get(f"/v1/documents/{document_id}").json()
    assert stored["size_bytes"] == len(response.content)


def test_transform_renders_raw_html_with_data(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents/transform",
        json={
            "html": "<h2>{{title}}</h2>",
            "css": "h2{font-size:30px}",
            "data": {"title": "Quarterly <report>"},
        },
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    assert "Quarterly <report>" in pdftotext(response.content)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"paper": "A4"}, (595, 842)),
        ({"paper": "Letter"}, (612, 792)),
        ({"paper": "A4", "orientation": "landscape"}, (842, 595)),
        ({"paper": "Legal"}, (612, 1008)),
        ({"width": "100mm", "height": "50mm"}, (283, 142)),
    ],
)
def test_paper_sizes_measured_by_pdfinfo(api: httpx.Client, options: dict[str, Any], expected: tuple[int, int]) -> None:
    response = api.post(
        "/v1/documents/transform",
        json={"html": "<p>size</p>", "options": options},
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    width, height = page_size_pt(response.content)
    assert abs(width - expected[0]) <= 1.5 and abs(height - expected[1]) <= 1.5


def test_header_and_footer_carry_page_number_and_total(api: httpx.Client) -> None:
    body = "".join(f'<section style="page-break-after: always">Part {i}</section>' for i in range(1, 4))
    response = api.post(
        "/v1/documents/transform",
        json={
            "html": body,
            "data": {"company": "Acme"},
            "options": {
                "header_html": '<div style="font-size:10px">{{company}} report</div>',
                "footer_html": '<div style="font-size:10px">Page <span class="pageNumber"></span>'
                ' of <span class="totalPages"></span></div>',
                "margin": {"top": "20mm", "bottom": "20mm", "left": "10mm", "right": "10mm"},
            },
        },
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    pdf = response.content
    assert int(pdfinfo(pdf)["Pages"]) == 3
    for page in (1, 2, 3):
        text = pdftotext(pdf, "-f", str(page), "-l", str(page))
        assert f"Page {page} of 3" in text
        assert "Acme report" in text
        assert f"Part {page}" in text


def test_page_ranges_keep_only_the_chosen_pages(api: httpx.Client) -> None:
    body = "".join(f'<section style="page-break-after: always">Sheet {i}</section>' for i in range(1, 5))
    response = api.post(
        "/v1/documents/transform",
        json={"html": body, "options": {"page_ranges": "2-3"}},
        headers={"Accept": "application/pdf"},
    )
    pdf = response.content
    assert int(pdfinfo(pdf)["Pages"]) == 2
    text = pdftotext(pdf)
    assert "Sheet 2" in text and "Sheet 3" in text and "Sheet 1" not in text


def test_async_generate_then_poll(api: httpx.Client, invoice_template: dict[str, Any]) -> None:
    response = api.post(
        "/v1/documents/generate",
        json={
            "template_id": invoice_template["id"],
            "data": INVOICE_DATA,
            "async": True,
            "metadata": {"order": 7},
        },
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending" and accepted["status_url"] == f"/v1/jobs/{accepted['job_id']}"
    job = wait_for_job(api, accepted["job_id"])
    assert job["status"] == "completed", job
    assert job["metadata"] == {"order": 7} and job["error"] is None
    assert job["started_at"] and job["completed_at"] and job["attempts"] == 1
    pdf = httpx.get(job["download_url"]).content
    assert "INV-2026-001" in pdftotext(pdf)
    listed = api.get("/v1/jobs", params={"limit": 100}).json()
    assert job["id"] in {j["id"] for j in listed["data"]}


def test_async_failure_is_reported_on_the_job(api: httpx.Client) -> None:
    response = api.post("/v1/documents/transform", json={"html": "{{> missing_partial}}", "async": True})
    job = wait_for_job(api, response.json()["job_id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "TEMPLATE_RENDER_ERROR"
    assert job["document_id"] is None


def test_webhook_is_signed_the_standard_webhooks_way(
    stack: Stack, api: httpx.Client, invoice_template: dict[str, Any]
) -> None:
    before = len(stack.receiver.received)
    response = api.post(
        "/v1/documents/generate",
        json={
            "template_id": invoice_template["id"],
            "data": INVOICE_DATA,
            "async": True,
            "webhook_url": f"{stack.receiver.url}/hooks/pressroom",
            "metadata": {"ref": "abc"},
        },
    )
    job_id = response.json()["job_id"]
    received = stack.receiver.wait_for(before + 1)[before]
    assert received.path == "/hooks/pressroom"
    secret = api.get("/v1/account").json()["webhook_signing_secret"]
    payload = Webhook(secret).verify(received.body, received.headers)  # independent verifier; raises if bad
    assert payload["job_id"] == job_id and payload["status"] == "completed"
    assert payload["metadata"] == {"ref": "abc"} and payload["error"] is None
    assert httpx.get(payload["download_url"]).content.startswith(b"%PDF-")
    with pytest.raises(Exception):  # noqa: B017 - the library raises its own WebhookVerificationError
        Webhook(secret).verify(received.body + b" ", received.headers)


def test_webhook_retries_with_the_same_id(stack: Stack, api: httpx.Client) -> None:
    stack.receiver.statuses.extend([500])
    before = len(stack.receiver.received)
    api.post(
        "/v1/documents/transform",
        json={"html": "<p>retry</p>", "async": True, "webhook_url": f"{stack.receiver.url}/retry"},
    )
    first, second = stack.receiver.wait_for(before + 2, timeout_s=45)[before : before + 2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.json()["status"] == "completed"


def test_webhook_to_a_private_address_is_refused_at_submission(api: httpx.Client) -> None:
    for url in (
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "file:///etc/passwd",
        "http://10.0.0.1/",
    ):
        response = api.post("/v1/documents/transform", json={"html": "x", "async": True, "webhook_url": url})
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "URL_FORBIDDEN"


def test_documents_listing_filter_and_delete(api: httpx.Client, invoice_template: dict[str, Any]) -> None:
    made = api.post("/v1/documents/generate", json={"template_id": invoice_template["id"], "data": INVOICE_DATA})
    document = made.json()
    page = api.get("/v1/documents", params={"template_id": invoice_template["id"]}).json()
    assert page["total"] >= 1 and all(d["template_id"] == invoice_template["id"] for d in page["data"])
    assert api.get("/v1/documents", params={"status": "completed", "limit": 1}).json()["limit"] == 1
    link = api.get(f"/v1/documents/{document['id']}/download").json()
    assert link["expires_in"] > 0 and httpx.get(link["download_url"]).status_code == 200
    assert api.delete(f"/v1/documents/{document['id']}").status_code == 204
    assert api.get(f"/v1/documents/{document['id']}").status_code == 404
    assert httpx.get(link["download_url"]).status_code == 404


def test_tampered_or_expired_download_links_are_403(api: httpx.Client) -> None:
    document = api.post("/v1/documents/transform", json={"html": "<p>signed</p>"}).json()
    url = document["download_url"]
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    base = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    tampered_sig = httpx.get(base, params={"expires": query["expires"][0], "signature": "A" * 43})
    assert tampered_sig.status_code == 403
    assert tampered_sig.json()["error"]["code"] == "DOWNLOAD_LINK_INVALID"
    extended = httpx.get(base, params={"expires": int(query["expires"][0]) + 99999, "signature": query["signature"][0]})
    assert extended.status_code == 403
    expired = httpx.get(base, params={"expires": 1, "signature": query["signature"][0]})
    assert expired.status_code == 403


def test_other_tenants_documents_and_jobs_are_404(api: httpx.Client, api_b: httpx.Client) -> None:
    document = api.post("/v1/documents/transform", json={"html": "<p>private</p>"}).json()
    for path in (
        f"/v1/documents/{document['id']}",
        f"/v1/jobs/{document['job_id']}",
        f"/v1/documents/{document['id']}/download",
    ):
        response = api_b.get(path)
        assert response.status_code == 404, path
    assert api_b.delete(f"/v1/documents/{document['id']}").status_code == 404
    assert document["id"] not in {d["id"] for d in api_b.get("/v1/documents?limit=100").json()["data"]}
    assert api.get(f"/v1/documents/{document['id']}").status_code == 200
