"""PDF operations over HTTP against a real `pressroom serve`: every operation is a job, sync or async,
answered with the document object; results checked with qpdf / poppler / pyHanko / factur-x."""

from __future__ import annotations

import base64
import io
import re
import time
from collections import Counter
from typing import Any

import httpx
import pikepdf
from PIL import Image

from tests.e2e.conftest import Stack
from tests.pdf_fixtures import many_pages_pdf, text_pdf
from tests.pdf_support import fixture, pyhanko_verdict, run_tool, self_signed_pkcs12
from tests.support import pdfinfo, pdftotext


def upload(api: httpx.Client, pdf: bytes) -> str:
    """Store a PDF as a document of the caller (a one-source metadata operation on an upload)."""
    response = api.post(
        "/v1/documents/metadata",
        data={"source": '{"type": "file", "index": 0}', "title": "fixture"},
        files={"file_0": ("in.pdf", pdf, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    document_id: str = response.json()["id"]
    return document_id


def fetch(api: httpx.Client, document: dict[str, Any]) -> bytes:
    return httpx.get(document["download_url"]).content


def has_test_mark(pdf: bytes) -> bool:
    """The diagonal TEST mark: poppler extracts rotated letters in no useful order, so count them (the
    sources used with it contain no capital T, E or S)."""
    return Counter("TEST") <= Counter(pdftotext(pdf))


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_merge_multipart_bytedoc_shape_and_document_sources(api: httpx.Client) -> None:
    stored = upload(api, text_pdf(["D1", "D2"]))
    response = api.post(
        "/v1/documents/merge",
        data={
            "sources": f'[{{"type": "file", "index": 1}}, {{"type": "document", "id": "{stored}"}},'
            ' {"type": "file", "index": 0}]',
            "options": '{"filename": "merged.pdf"}',
        },
        files={
            "file_0": ("a.pdf", text_pdf(["A1"]), "application/pdf"),
            "file_1": ("b.pdf", text_pdf(["B1", "B2"], size=(842, 595)), "application/pdf"),
        },
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["filename"] == "merged.pdf" and document["pages"] == 5 and document["job_id"].startswith("job_")
    assert document["report"]["steps"] == ["merge"]
    pdf = fetch(api, document)
    assert int(pdfinfo(pdf)["Pages"]) == 5
    assert re.findall(r"[ABD]\d", pdftotext(pdf)) == ["B1", "B2", "D1", "D2", "A1"]


def test_split_async_and_bad_expression(api: httpx.Client) -> None:
    stored = upload(api, text_pdf(["P1", "P2", "P3", "P4"]))
    accepted = api.post(
        "/v1/documents/split", json={"source": {"type": "document", "id": stored}, "pages": "4,2-3", "async": True}
    )
    assert accepted.status_code == 202, accepted.text
    job = wait_for_job(api, accepted.json()["job_id"])
    assert job["status"] == "completed" and job["operation"] == "split"
    pdf = httpx.get(job["download_url"]).content
    assert re.findall(r"P\d", pdftotext(pdf)) == ["P4", "P2", "P3"]

    bad = api.post("/v1/documents/split", json={"source": {"type": "document", "id": stored}, "pages": "2-9"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "INVALID_PAGE_RANGE" and "out of range 1-4" in bad.json()["error"]["message"]


def test_encrypt_bytedoc_body_verified_by_qpdf_and_pdfinfo(api: httpx.Client) -> None:
    stored = upload(api, text_pdf(["confidential"]))
    response = api.post(
        "/v1/documents/encrypt",
        json={
            "source": {"type": "document", "id": stored},
            "encryption": {
                "user_password": "read-only-pass",
                "owner_password": "admin-pass",
                "permissions": {"printing": True, "modifying": False, "copying": False, "annotating": True},
                "algorithm": "aes256",
            },
            "options": {"filename": "secured-document.pdf"},
        },
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    pdf = response.content
    shown = run_tool("qpdf", "--show-encryption", "--password=read-only-pass", pdf=pdf).stdout
    assert "stream encryption method: AESv3" in shown and "modify other: not allowed" in shown
    assert "extract for any purpose: not allowed" in shown and "print high resolution: allowed" in shown
    assert run_tool("pdfinfo", "-upw", "read-only-pass", pdf=pdf).returncode == 0
    assert run_tool("pdfinfo", pdf=pdf).returncode != 0

    upload_enc = api.post(
        "/v1/documents/split",
        data={"source": '{"type": "file", "index": 0}', "pages": "1"},
        files={"file_0": ("e.pdf", pdf, "application/pdf")},
    )
    assert upload_enc.status_code == 422 and upload_enc.json()["error"]["code"] == "PDF_ENCRYPTED"
    wrong = api.post(
        "/v1/documents/split",
        data={"source": '{"type": "file", "index": 0, "password": "x"}', "pages": "1"},
        files={"file_0": ("e.pdf", pdf, "application/pdf")},
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "WRONG_PASSWORD"


def test_signing_keys_and_pades_signature(api: httpx.Client, api_b: httpx.Client) -> None:
    p12, cert = self_signed_pkcs12()
    created = api.post(
        "/v1/signing-keys",
        data={"name": "legal", "password": "secret"},
        files={"file": ("key.p12", p12, "application/x-pkcs12")},
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["subject"] == "CN=Pressroom Test Signer" and "pkcs12" not in key and "ciphertext" not in key
    assert any(k["id"] == key["id"] for k in api.get("/v1/signing-keys").json()["data"])
    assert api_b.get(f"/v1/signing-keys/{key['id']}").status_code == 404  # another account's key

    stored = upload(api, text_pdf(["sign here"]))
    signed = api.post(
        "/v1/documents/sign",
        json={
            "source": {"type": "document", "id": stored},
            "key_id": key["id"],
            "reason": "Approval",
            "location": "Paris",
            "visible": {"page": 1, "rect": [40, 40, 240, 100], "text": "Signed by Pressroom"},
        },
    )
    assert signed.status_code == 201, signed.text
    pdf = fetch(api, signed.json())
    assert "Signature Validation: Signature is Valid." in run_tool("pdfsig", pdf=pdf).stdout
    assert pyhanko_verdict(pdf, cert) == (True, True)
    tampered = bytearray(pdf)
    tampered[pdf.index(b"sign here")] ^= 0x20
    assert "Signature is Valid" not in run_tool("pdfsig", pdf=bytes(tampered)).stdout
    assert pyhanko_verdict(bytes(tampered), cert)[0] is False

    json_key = api.post(
        "/v1/signing-keys", json={"name": "b64", "pkcs12": base64.b64encode(p12).decode(), "password": "wrong"}
    )
    assert json_key.status_code == 422 and json_key.json()["error"]["code"] == "INVALID_SIGNING_KEY"
    assert api.delete(f"/v1/signing-keys/{key['id']}").status_code == 204
    gone = api.post("/v1/documents/sign", json={"source": {"type": "document", "id": stored}, "key_id": key["id"]})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "SIGNING_KEY_NOT_FOUND"


def test_generate_with_options_pdf_pdfa_and_metadata(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents/transform",
        json={
            "html": "<h1>Archive {{n}}</h1><p>café</p>",
            "data": {"n": 7},
            "options": {
                "pdf": {
                    "pdf_format": "PDF/A-2b",
                    "compress": True,
                    "metadata": {"title": "Archive 7", "author": "Ada", "language": "en"},
                }
            },
        },
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    pdf = response.content
    info = pdfinfo(pdf)
    assert info["Title"] == "Archive 7" and info["Metadata Stream"] == "yes"
    assert "Archive 7" in pdftotext(pdf)
    fonts = run_tool("pdffonts", pdf=pdf).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)
    assert "No syntax or stream encoding errors" in run_tool("qpdf", "--check", pdf=pdf).stdout
    with pikepdf.open(io.BytesIO(pdf)) as document:  # XMP identification, read by pikepdf
        meta = document.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        assert "/OutputIntents" in document.Root

    conflict = api.post(
        "/v1/documents/transform",
        json={"html": "<p>x</p>", "options": {"pdf": {"pdf_format": "PDF/A-2b", "password": "pw"}}},
    )
    assert conflict.status_code == 422
    assert conflict.json()["error"]["details"]["options"] == ["pdf_format", "encryption"]


def test_facturx_from_json_invoice(api: httpx.Client) -> None:
    from facturx import get_facturx_xml_from_pdf, xml_check_xsd

    from tests.unit.pdf.test_pdf_inputs import INVOICE

    source = api.post("/v1/documents/transform", json={"html": "<h1>Facture F-2026-001</h1>"}).json()["id"]
    response = api.post(
        "/v1/documents/facturx",
        json={"source": {"type": "document", "id": source}, "invoice": INVOICE, "profile": "EN 16931"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["report"]["pdf_format"] == "PDF/A-3b"
    pdf = fetch(api, response.json())
    name, xml = get_facturx_xml_from_pdf(pdf, check_xsd=False)
    assert name == "factur-x.xml" and xml_check_xsd(xml, flavor="factur-x", level="en16931")
    xxe = api.post(
        "/v1/documents/facturx",
        json={
            "source": {"type": "document", "id": source},
            "xml": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        },
    )
    assert xxe.status_code == 422 and xxe.json()["error"]["code"] == "INVALID_XML"
    assert "root:" not in xxe.text


def test_preview_png(api: httpx.Client) -> None:
    stored = upload(api, text_pdf(["preview"]))
    response = api.get(f"/v1/documents/{stored}/preview", params={"page": 1, "dpi": 96})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (816, 1056)  # 612 x 792 pt at 96 dpi
    assert image.convert("L").getextrema()[0] < 100
    assert api.get(f"/v1/documents/{stored}/preview", params={"page": 2}).status_code == 422


def test_test_keys_get_a_visible_test_watermark(stack: Stack) -> None:
    key = stack.server.create_key("alpha", mode="test")
    with stack.client(key) as test_api:
        response = test_api.post(
            "/v1/documents/transform", json={"html": "<p>hello</p>"}, headers={"Accept": "application/pdf"}
        )
        assert response.status_code == 200, response.text
        assert has_test_mark(response.content)
        merged = test_api.post(
            "/v1/documents/split",
            data={"source": '{"type": "file", "index": 0}', "pages": "1"},
            files={"file_0": ("a.pdf", text_pdf(["plain"]), "application/pdf")},
            headers={"Accept": "application/pdf"},
        )
        assert merged.status_code == 200 and has_test_mark(merged.content)


def test_bad_inputs_fail_cleanly_and_the_server_lives_on(api: httpx.Client, api_b: httpx.Client) -> None:
    for name in ("truncated.pdf", "not_a_pdf.pdf", "xref_loop.pdf"):
        response = api.post(
            "/v1/documents/split",
            data={"source": '{"type": "file", "index": 0}', "pages": "1"},
            files={"file_0": (name, fixture(name), "application/pdf")},
        )
        assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_PDF", name
    many = api.post(
        "/v1/documents/split",
        data={"source": '{"type": "file", "index": 0}', "pages": "1"},
        files={"file_0": ("many.pdf", many_pages_pdf(), "application/pdf")},
    )
    assert many.status_code == 413 and many.json()["error"]["code"] == "PDF_LIMIT_EXCEEDED"
    bomb = upload(api, fixture("flate_bomb.pdf"))  # copied untouched: nothing expanded
    preview = api.get(f"/v1/documents/{bomb}/preview")
    assert preview.status_code == 413 and preview.json()["error"]["code"] == "PDF_LIMIT_EXCEEDED"
    assert (
        api_b.post("/v1/documents/split", json={"source": {"type": "document", "id": bomb}, "pages": "1"}).status_code
        == 404
    )  # another account's document
    forbidden = api.post(
        "/v1/documents/merge",
        json={"sources": [{"type": "document", "id": bomb}, {"type": "url", "url": "http://127.0.0.1:1/x.pdf"}]},
    )
    assert forbidden.status_code == 422 and forbidden.json()["error"]["code"] == "URL_FORBIDDEN"
    wrong_type = api.post("/v1/documents/merge", content=b"x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    assert upload(api, text_pdf(["alive"]))  # the sandbox replaced its dead worker
