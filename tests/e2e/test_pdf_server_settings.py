"""PDF operations under operator settings, over HTTP against a `pressroom serve` of its own:

* PAdES B-T: PRESSROOM_PDF__TIMESTAMP_URL names a timestamp authority on a loopback port (pyHanko's TSA
  implementation behind http.server, started by the test). Signatures are checked by pdfsig, OpenSSL and
  pyHanko; a failing authority is a 502 TIMESTAMP_FAILED, never a 500.
* Size limits: an upload over PRESSROOM_PDF__MAX_INPUT_BYTES, or more sources than
  PRESSROOM_PDF__MAX_SOURCES, is a 413 PDF_LIMIT_EXCEEDED saying which limit, and the server carries on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.pdf_fixtures import text_pdf
from tests.pdf_support import (
    TimestampAuthority,
    openssl_signature_dump,
    pyhanko_timestamp_verdict,
    run_tool,
    self_signed_pkcs12,
)
from tests.support import CHROMIUM, ServerProcess, have_chromium, pdftotext

pytestmark = pytest.mark.skipif(not have_chromium(), reason=f"Chromium is not installed ({CHROMIUM})")
MAX_INPUT_BYTES = 64 * 1024


@dataclass
class Signing:
    api: httpx.Client
    tsa: TimestampAuthority
    key_id: str
    cert_pem: bytes


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signing]:
    tsa = TimestampAuthority().start()
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("pdf-settings"),
        env_extra={
            "PRESSROOM_PDF__TIMESTAMP_URL": tsa.url,
            "PRESSROOM_PDF__MAX_INPUT_BYTES": str(MAX_INPUT_BYTES),
            "PRESSROOM_PDF__MAX_SOURCES": "3",
        },
    )
    server.start()
    try:
        server.cli("accounts", "create", "stamped", "--plan", "enterprise")
        api = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.create_key('stamped')}"}, timeout=60
        )
        p12, cert = self_signed_pkcs12()
        created = api.post(
            "/v1/signing-keys", data={"name": "bt", "password": "secret"}, files={"file": ("k.p12", p12)}
        )
        assert created.status_code == 201, created.text
        yield Signing(api, tsa, created.json()["id"], cert)
    finally:
        server.stop()
        tsa.stop()


def sign(signing: Signing) -> httpx.Response:
    return signing.api.post(
        "/v1/documents/sign",
        data={"source": '{"type": "file", "index": 0}', "key_id": signing.key_id, "reason": "B-T"},
        files={"file_0": ("in.pdf", text_pdf(["stamp me"]), "application/pdf")},
    )


def test_api_signatures_are_pades_b_t(signing: Signing) -> None:
    signing.tsa.mode = "ok"
    response = sign(signing)
    assert response.status_code == 201, response.text
    pdf = httpx.get(response.json()["download_url"]).content
    report = run_tool("pdfsig", pdf=pdf).stdout
    assert "Signature Validation: Signature is Valid." in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    cms = openssl_signature_dump(pdf)
    assert "id-smime-aa-timeStampToken" in cms and "Pressroom Test TSA" in cms
    verdict = pyhanko_timestamp_verdict(pdf, signing.cert_pem, signing.tsa.cert_pem)
    assert verdict["signature_valid"] and verdict["has_token"] and verdict["token_valid"]


@pytest.mark.parametrize("mode", ["garbage", "error"])
def test_a_failing_authority_is_a_502_timestamp_failed(signing: Signing, mode: str) -> None:
    signing.tsa.mode = mode
    response = sign(signing)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "TIMESTAMP_FAILED" and error["details"]["timestamp_url"] == signing.tsa.url
    signing.tsa.mode = "ok"
    assert sign(signing).status_code == 201  # the server (and its sandbox) carry on


def test_an_oversized_upload_is_a_413_naming_the_byte_limit(signing: Signing) -> None:
    big = text_pdf(["padding"]).replace(b"%%EOF", b"%" + b"x" * MAX_INPUT_BYTES + b"\n%%EOF")
    response = signing.api.post(
        "/v1/documents/split",
        data={"source": '{"type": "file", "index": 0}', "pages": "1"},
        files={"file_0": ("big.pdf", big, "application/pdf")},
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "PDF_LIMIT_EXCEEDED"
    assert (error["details"]["limit"], error["details"]["max_bytes"]) == ("bytes", MAX_INPUT_BYTES)
    small = signing.api.post(
        "/v1/documents/split",
        data={"source": '{"type": "file", "index": 0}', "pages": "1"},
        files={"file_0": ("small.pdf", text_pdf(["fits"]), "application/pdf")},
    )
    assert small.status_code == 201, small.text


def test_more_sources_than_allowed_is_a_413_naming_the_source_limit(signing: Signing) -> None:
    count = 4
    response = signing.api.post(
        "/v1/documents/merge",
        data={"sources": json.dumps([{"type": "file", "index": i} for i in range(count)])},
        files={f"file_{i}": (f"{i}.pdf", text_pdf([f"p{i}"]), "application/pdf") for i in range(count)},
    )
    assert response.status_code == 413, response.text
    details = response.json()["error"]["details"]
    assert response.json()["error"]["code"] == "PDF_LIMIT_EXCEEDED"
    assert (details["limit"], details["max_sources"]) == ("sources", 3)


def test_stored_sources_are_read_together_with_the_same_answers(signing: Signing) -> None:
    """A merge of stored documents reads all their rows in one query: order, repeats, 404 for an unknown id as
    one by one (the query is scoped to the account) - and the sync answer still carries its report."""
    ids = []
    for word in ("alpha", "beta"):
        stored = signing.api.post(
            "/v1/documents/split",
            data={"source": '{"type": "file", "index": 0}', "pages": "1"},
            files={"file_0": (f"{word}.pdf", text_pdf([word]), "application/pdf")},
        )
        assert stored.status_code == 201, stored.text
        ids.append(stored.json()["id"])
    body = {
        "sources": [{"type": "document", "id": i} for i in (ids[1], ids[0], ids[1])],
        "options": {"pdf": {"encryption": {"user_password": "pw"}}},
    }
    merged = signing.api.post("/v1/documents/merge", json=body)
    assert merged.status_code == 201, merged.text
    assert merged.json()["report"]["steps"] == ["merge", "encrypt"]
    pdf = httpx.get(merged.json()["download_url"]).content
    assert re.findall(r"alpha|beta", pdftotext(pdf, "-upw", "pw")) == ["beta", "alpha", "beta"]
    missing = signing.api.post(
        "/v1/documents/merge",
        json={"sources": [{"type": "document", "id": ids[0]}, {"type": "document", "id": "doc_nope"}]},
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DOCUMENT_NOT_FOUND"
