"""S3BlobStore against moto's standalone S3 server on a loopback port (a real HTTP S3 API, no mocks)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from werkzeug.http import parse_options_header

from pressroom.config import StorageSettings
from pressroom.core.filenames import safe_filename
from pressroom.storage.s3 import S3BlobStore, S3Location
from tests.support import MotoServer

MB = 1024 * 1024


def _store(moto: MotoServer, **settings: Any) -> S3BlobStore:
    store = S3BlobStore.from_url(moto.storage_url(f"b-{uuid.uuid4().hex[:8]}"), StorageSettings(**settings))
    store.ensure_bucket()
    return store


def test_location_parsing() -> None:
    location = S3Location.parse("s3://docs/tenant-a/?endpoint_url=http://127.0.0.1:9000&region=eu-west-3")
    assert (location.bucket, location.prefix, location.endpoint_url, location.region) == (
        "docs",
        "tenant-a",
        "http://127.0.0.1:9000",
        "eu-west-3",
    )
    assert location.addressing_style == "path"  # custom endpoints (MinIO, moto) need path-style
    assert S3Location.parse("s3://docs").addressing_style == "auto"
    for bad in ("file:///tmp", "s3:///nobucket", "s3://b?endpointurl=x"):
        with pytest.raises(ValueError):
            S3Location.parse(bad)


def test_put_get_exists_delete_round_trip(moto: MotoServer) -> None:
    store = _store(moto)
    store.ensure_bucket()  # idempotent
    assert not store.exists("acc_1/job_1/out.pdf")
    store.put("acc_1/job_1/out.pdf", b"%PDF-1.7 one", "application/pdf")
    assert store.exists("acc_1/job_1/out.pdf")
    assert store.get("acc_1/job_1/out.pdf") == b"%PDF-1.7 one"
    store.put("acc_1/job_1/out.pdf", b"%PDF-1.7 two", "application/pdf")  # a re-run overwrites
    assert store.get("acc_1/job_1/out.pdf") == b"%PDF-1.7 two"
    store.delete("acc_1/job_1/out.pdf")
    store.delete("acc_1/job_1/out.pdf")  # deleting twice is fine, like the filesystem store
    with pytest.raises(KeyError):
        store.get("acc_1/job_1/out.pdf")


def test_prefix_keeps_keys_inside_and_bad_keys_are_refused(moto: MotoServer) -> None:
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    store = S3BlobStore.from_url(f"s3://{bucket}/tenant?endpoint_url={moto.endpoint}&region=us-east-1")
    store.ensure_bucket()
    store.put("acc_1/b.pdf", b"x", "application/pdf")
    listed = store._client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["tenant/acc_1/b.pdf"]
    for key in ("", "/abs", "acc_1/../b", "acc_1//b", "./acc_1/b", "b.pdf", "a/b.pdf", "assets/b.pdf"):
        with pytest.raises(ValueError):
            store.put(key, b"x", "application/pdf")


def test_large_blobs_go_up_in_parts(moto: MotoServer) -> None:
    store = _store(moto, multipart_threshold_bytes=5 * MB, multipart_chunk_bytes=5 * MB)
    data = os.urandom(11 * MB + 123)
    store.put("acc_b1/file.pdf", data, "application/pdf")
    assert store.get("acc_b1/file.pdf") == data
    head = store._client.head_object(Bucket=store.location.bucket, Key="acc_b1/file.pdf")
    assert head["ETag"].strip('"').endswith("-3")  # S3's multipart ETag: md5-of-md5s "-" part count
    assert head["ContentType"] == "application/pdf"


def test_a_failed_multipart_upload_is_aborted(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(moto, multipart_threshold_bytes=5 * MB, multipart_chunk_bytes=5 * MB)
    real_upload_part = store._client.upload_part
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("network dropped")
        return real_upload_part(**kwargs)

    monkeypatch.setattr(store._client, "upload_part", flaky)
    with pytest.raises(ConnectionError):
        store.put("acc_b1/broken.pdf", os.urandom(12 * MB), "application/pdf")
    uploads = store._client.list_multipart_uploads(Bucket=store.location.bucket).get("Uploads", [])
    assert uploads == []  # no orphan parts left behind
    assert not store.exists("acc_b1/broken.pdf")


def test_presigned_urls_download_without_credentials_and_refuse_tampering(moto: MotoServer) -> None:
    store = _store(moto)
    store.put("acc_1/job_1/invoice.pdf", b"%PDF-1.7 presigned", "application/pdf")
    url = store.presigned_url("acc_1/job_1/invoice.pdf", 600, "invoice.pdf", "application/pdf")
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"%PDF-1.7 presigned"
    assert response.headers["content-type"] == "application/pdf"
    expected = "attachment; filename=\"invoice.pdf\"; filename*=UTF-8''invoice.pdf"  # RFC 6266, as the API's own
    assert response.headers["content-disposition"] == expected
    assert "X-Amz-Expires=600" in url
    tampered = url.replace("invoice.pdf?", "other.pdf?", 1)
    assert httpx.get(tampered).status_code in (403, 404)


@pytest.mark.parametrize("filename", ["Счёт.pdf", "請求書 2026.pdf", 'a "quoted"; name.pdf'])
def test_presigned_urls_carry_unicode_names_per_rfc_6266(moto: MotoServer, filename: str) -> None:
    # The key holds ids only; the name the user gave travels in the signed response header, Unicode intact.
    store = _store(moto)
    store.put("acc_1/job_2/document.pdf", b"%PDF-1.7 named", "application/pdf")
    response = httpx.get(store.presigned_url("acc_1/job_2/document.pdf", 60, filename, "application/pdf"))
    assert response.status_code == 200 and response.content == b"%PDF-1.7 named"
    raw = response.headers["content-disposition"]
    kind, params = parse_options_header(raw)
    assert kind == "attachment" and "filename*=UTF-8''" in raw
    assert params["filename"] == safe_filename(filename, None, extension="")
    assert params["filename"] == filename or '"' in filename


def test_presigned_urls_use_the_public_endpoint(moto: MotoServer, tmp_path: Path) -> None:
    store = _store(moto, public_endpoint_url="https://files.example.com")
    store.put("acc_1/k.pdf", b"x", "application/pdf")
    url = store.presigned_url("acc_1/k.pdf", 60, "k.pdf", "application/pdf")
    assert urlsplit(url).netloc == "files.example.com"
    assert store.get("acc_1/k.pdf") == b"x"  # the servers themselves keep using the internal endpoint
