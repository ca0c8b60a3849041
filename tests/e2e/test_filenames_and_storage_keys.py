"""Names are display metadata, storage keys are ids (issue #12, item 1), over HTTP against `pressroom serve`.

- Unicode and hostile template names / file names generate sync (JSON and bytes) and async, download, and
  carry RFC 6266 ``filename*`` with the Unicode name; nothing answers 500 and each job is charged once.
- The storage-key test: every user-controlled string (template names, file names, metadata, asset names and
  upload file names, ``options.filename`` of PDF operations) is tried, then the blob store itself is listed
  - the filesystem store on the sqlite stack, the S3 store (moto) on the postgres-s3 stacks - and every key
  must lie under a prefix of the account that made it.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image
from werkzeug.http import parse_options_header

from pressroom.storage.keys import account_prefixes
from pressroom.storage.s3 import S3Location
from tests.e2e.conftest import Stack
from tests.pdf_fixtures import text_pdf
from tests.support import S3_ENV, pdftotext

# name given by the user -> the display file name Pressroom keeps
HOSTILE_NAMES = {
    "Счёт": "Счёт.pdf",
    "請求書": "請求書.pdf",
    "/../../x": "x.pdf",
    "..": "document.pdf",
    "/../../": "document.pdf",  # the report's attack: this name once wrote at the root shared by all tenants
    "\\..\\..\\": "document.pdf",
    "../../../../etc/passwd": "etc_passwd.pdf",
    "C:\\Windows\\evil": "C_Windows_evil.pdf",
    "invoice\u202efdp.exe": "invoicefdp.exe.pdf",
    "Ж" * 200: "Ж" * 125 + ".pdf",  # 200 characters, bounded to 255 UTF-8 bytes
}
# Any key of any account: "<account>/...", "assets/<account>/...", "uploads/<account>/..."
ACCOUNT_KEY = re.compile(r"^(assets/|uploads/)?acc_[0-9a-f]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def _disposition(response: httpx.Response) -> tuple[str, str, str]:
    """(disposition, the file name an RFC 6266 parser reads, the raw header)."""
    raw = response.headers["content-disposition"]
    kind, params = parse_options_header(raw)
    return kind, params["filename"], raw


def _credits(api: httpx.Client) -> int:
    response = api.get("/v1/credits")
    assert response.status_code == 200, response.text
    left: int = response.json()["credits_left"]
    return left


def _wait(api: httpx.Client, job_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "canceled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s}s")


def _check_download(url: str, expected: str) -> bytes:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, response.text
    kind, filename, raw = _disposition(response)
    assert (kind, filename) == ("attachment", expected)
    assert "filename*=UTF-8''" in raw
    return response.content


def test_unicode_and_hostile_names_generate_download_and_are_charged_once(api: httpx.Client) -> None:
    for name, expected in HOSTILE_NAMES.items():
        created = api.post("/v1/templates", json={"name": name, "body": "<p>{{who}} ok</p>"})
        assert created.status_code == 201, created.text
        template = created.json()
        assert template["name"] == name  # the name itself is kept as written
        before = _credits(api)

        # sync, JSON: the filename comes from the template name
        sync = api.post("/v1/documents/generate", json={"template_id": template["id"], "data": {"who": "Ада"}})
        assert sync.status_code == 201, sync.text
        document = sync.json()
        assert document["filename"] == expected and document["credits_charged"] == 1
        assert "Ада ok" in pdftotext(_check_download(document["download_url"], expected))

        # sync, bytes: inline, the same encoded name
        raw = api.post(
            "/v1/documents/generate",
            json={"template_id": template["id"], "data": {"who": "b"}},
            headers={"Accept": "application/pdf"},
        )
        assert raw.status_code == 200, raw.text
        assert raw.content.startswith(b"%PDF-") and raw.headers["x-credits-charged"] == "1"
        kind, filename, header = _disposition(raw)
        assert (kind, filename) == ("inline", expected) and "filename*=UTF-8''" in header

        # async, the hostile string given as `filename` this time
        accepted = api.post(
            "/v1/documents/generate",
            json={"template_id": template["id"], "filename": name, "async": True, "metadata": {"name": name}},
        )
        assert accepted.status_code == 202, accepted.text
        job = _wait(api, accepted.json()["job_id"])
        assert job["status"] == "completed" and job["credits_charged"] == 1, job
        stored = api.get(f"/v1/documents/{job['document_id']}").json()
        assert stored["filename"] == expected and stored["metadata"] == {"name": name}
        _check_download(api.get(f"/v1/documents/{job['document_id']}/download").json()["download_url"], expected)

        assert before - _credits(api) == 3  # three jobs, each charged once, none refunded or doubled
        listed = api.get("/v1/documents", params={"template_id": template["id"]})
        assert listed.status_code == 200 and {d["filename"] for d in listed.json()["data"]} == {expected}


def test_a_transform_filename_keeps_unicode(api: httpx.Client) -> None:
    response = api.post("/v1/documents/transform", json={"html": "<p>x</p>", "filename": "Отчёт 2026 — итог.pdf"})
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["filename"] == "Отчёт 2026 — итог.pdf"
    _check_download(document["download_url"], "Отчёт 2026 — итог.pdf")


def test_names_that_cannot_be_stored_are_refused_at_the_door(api: httpx.Client) -> None:
    template = api.post("/v1/templates", json={"name": "nul-check", "body": "<p>x</p>"}).json()
    before = _credits(api)
    refused = [
        api.post("/v1/templates", json={"name": "a\u0000b", "body": "<p>x</p>"}),
        api.patch(f"/v1/templates/{template['id']}", json={"name": "a\u0000b"}),
        api.post("/v1/documents/generate", json={"template_id": template["id"], "filename": "a\u0000b"}),
        api.post("/v1/documents/transform", json={"html": "<p>x</p>", "filename": "a\u0000b", "async": True}),
        api.post(
            "/v1/documents/merge",
            data={"sources": '[{"type": "file", "index": 0}]', "options": '{"filename": "a\\u0000b"}'},
            files={"file_0": ("in.pdf", text_pdf(["N1"]), "application/pdf")},
        ),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert _credits(api) == before  # nothing was charged
    assert api.get(f"/v1/templates/{template['id']}").json()["name"] == "nul-check"


# -- the storage-key test -----------------------------------------------------------------------------------
def _store_keys(stack: Stack) -> list[str]:
    """Every key in the stack's blob store, read from the store itself (not from Pressroom's rows)."""
    url = stack.server.env_extra.get("PRESSROOM_STORAGE_URL")
    if url and url.startswith("s3://"):
        location = S3Location.parse(url)
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=location.endpoint_url,
            region_name=location.region,
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys
    root: Path = stack.server.data_dir / "storage"
    return [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def _account_id(api: httpx.Client) -> str:
    account_id: str = api.get("/v1/account").json()["id"]
    return account_id


def _hostile_operations(api: httpx.Client, marker: str) -> None:
    """Everything a tenant controls that could end up near a file name, each tried at least once."""
    names = [*HOSTILE_NAMES, f"{marker}/../../../{marker}", f"/{marker}", "./.", "%2e%2e%2f", "~/x"]
    asset = api.post("/v1/assets", files={"file": ("logo.png", _png(), "image/png")}, data={"name": "logo-keys.png"})
    assert asset.status_code in (200, 201), asset.text
    for name in names:
        template = api.post("/v1/templates", json={"name": name, "body": "<img src='asset:logo-keys.png'>{{x}}"}).json()
        for body in (
            {"template_id": template["id"], "filename": name, "metadata": {name: name, "path": "../../" + name}},
            {"template_id": template["id"], "async": True, "metadata": {"filename": name}},
        ):
            response = api.post("/v1/documents/generate", json=body)
            assert response.status_code in (201, 202), response.text
            if response.status_code == 202:
                assert _wait(api, response.json()["job_id"])["status"] == "completed"
        merged = api.post(
            "/v1/documents/merge",
            data={
                "sources": '[{"type": "file", "index": 0}, {"type": "file", "index": 1}]',
                "options": json.dumps({"filename": name}),
            },
            files={
                "file_0": (name, text_pdf(["K1"]), "application/pdf"),
                "file_1": ("../../" + name, text_pdf(["K2"]), "application/pdf"),
            },
        )
        assert merged.status_code == 201, merged.text
        # Asset names are a strict pattern (written in templates as asset:NAME): a hostile one is refused (the
        # multipart parser may already have cut a Windows path to its last part, which is then a valid name).
        named = api.post("/v1/assets", files={"file": (name, _png(), "image/png")})
        if named.status_code == 400:
            assert named.json()["error"]["code"] == "VALIDATION_ERROR", named.text
        else:
            assert named.status_code in (200, 201) and re.fullmatch(r"[A-Za-z0-9._-]+", named.json()["name"])
        # A valid asset name with a hostile upload file name: the file name is ignored.
        kept = api.post("/v1/assets", files={"file": (name, _png(), "image/png")}, data={"name": "logo-keys.png"})
        assert kept.status_code in (200, 201), kept.text


def test_no_storage_key_ever_lies_outside_its_accounts_prefix(
    stack: Stack, api: httpx.Client, api_b: httpx.Client
) -> None:
    before = set(_store_keys(stack))
    _hostile_operations(api, "alpha")
    _hostile_operations(api_b, "beta")
    after = set(_store_keys(stack))
    created = after - before
    assert created, "the operations stored nothing?"
    prefixes = account_prefixes(_account_id(api)) + account_prefixes(_account_id(api_b))
    outside = sorted(key for key in created if not key.startswith(prefixes))
    assert outside == []
    # Not only the keys made here: nothing in the whole store lies outside an account's prefix.
    stray = sorted(
        key for key in after if not ACCOUNT_KEY.match(key) and not key.rsplit("/", 1)[-1].startswith(".tmp-")
    )
    assert stray == []
    # And no key carries any of the user's text.
    assert not [key for key in created if any(marker in key for marker in ("alpha", "beta", "..", "Счёт", "請求書"))]


@pytest.mark.parametrize("document_name", ["Счёт.pdf"])
def test_stored_documents_of_each_tenant_stay_separate(
    api: httpx.Client, api_b: httpx.Client, document_name: str
) -> None:
    # The report's attack: two tenants whose names reduce to the same string (or to a path) wrote the same
    # storage key, and one overwrote the other's document. Now each download is its own document.
    downloads = []
    for client, text in ((api, "TENANT-ALPHA"), (api_b, "TENANT-BETA")):
        response = client.post("/v1/documents/transform", json={"html": f"<p>{text}</p>", "filename": document_name})
        assert response.status_code == 201, response.text
        downloads.append((response.json()["download_url"], text))
    for url, text in downloads:
        assert text in pdftotext(httpx.get(url, timeout=60).content)
