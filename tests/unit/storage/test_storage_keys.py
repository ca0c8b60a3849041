"""The storage-key regression (issue #12, item 1): every user-controlled string against both blob stores.

Keys are built from generated ids only (``pressroom.storage.keys``), and both stores - the filesystem store
and the S3 store against a real S3 server (moto, or the one named by PRESSROOM_TEST_S3_ENDPOINT) - refuse
any key that is not under an account's prefix. Three layers are tried with the same hostile strings
(template and document names, file names, metadata keys and values):

- the key builders refuse anything that is not a generated id;
- the stores refuse every way a buggy caller could splice such a string into a key, or keep it inside the
  account's prefix, and never write elsewhere;
- the real services that store blobs (the job runner for documents, the asset service, the PDF operations'
  upload keys) are driven with those strings, then the store itself is listed: every key lies under the
  account's prefix and holds none of the user's text.

The HTTP-level version of the same test, on all three stacks, is tests/e2e/test_filenames_and_storage_keys.py.
"""

from __future__ import annotations

import io
import random
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pressroom.accounts.service import AccountService
from pressroom.assets.service import AssetService
from pressroom.config import AssetSettings, BillingSettings, JobSettings, StorageSettings
from pressroom.core.clock import utcnow
from pressroom.core.errors import DocumentNotFound, StorageFailed, StorageKeyInvalid, ValidationFailed
from pressroom.core.filenames import safe_filename
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.credits.service import CreditService
from pressroom.db.migrate import upgrade
from pressroom.db.models import Document
from pressroom.db.session import Database
from pressroom.documents.service import DocumentExpired, DocumentService
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.jobs.runner import JobRunner
from pressroom.jobs.service import JobService
from pressroom.queue.embedded import EmbeddedQueue
from pressroom.storage.base import BlobStore
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.storage.keys import (
    account_of,
    account_prefixes,
    asset_key,
    check_key,
    document_key,
    extension_for,
    upload_key,
)
from pressroom.storage.s3 import S3BlobStore
from pressroom.storage.signing import UrlSigner
from tests.support import MotoServer

# What users control and what once reached keys: names without any ASCII letter, paths, NUL, separators of
# other systems, encoded traversal, header injection, bidi overrides, what looks like another account's
# prefix, lone surrogates, very long text.
USER_STRINGS = [
    "Счёт",
    "請求書",
    "/../../",
    "../../../../etc/passwd",
    "..",
    ".",
    "/",
    "",
    " ",
    "\\..\\..\\",
    "C:\\Windows\\evil",
    "a\x00b",
    "\x00",
    "lone\ud800surrogate",
    "invoice\u202efdp.exe",
    "%2e%2e%2f",
    "~/x",
    "line\r\nbreak",
    "acc_0123/../../acc_4567",
    "acc_4567",
    "assets/",
    "uploads/acc_4567/x",
    "x" * 1000,
    "名" * 400,
]
# Any key the services make: "<account>/<job>/document.<ext>", "assets/<account>/<asset>", "uploads/<account>/<upload>".
ID_ONLY_KEY = re.compile(r"^(assets/|uploads/)?acc_[0-9a-f]+/[a-z]+_[0-9a-f]+(/document\.[a-z]+)?$")


def _fuzzed(count: int, seed: int) -> list[str]:
    """Reproducible strings spliced from the fragments keys were attacked with."""
    fragments = ["..", "/", "\\", "\x00", ".", "acc_1", "acc_2", "assets", "uploads", "Счёт", "%2e", "~", " ", "\n"]
    rng = random.Random(seed)
    return ["".join(rng.choice(fragments) for _ in range(rng.randint(1, 7))) for _ in range(count)]


# -- the key builders --------------------------------------------------------------------------------------
def test_keys_are_built_from_generated_ids_only() -> None:
    account, job, asset, upload = new_id("acc"), new_id("job"), new_id("ast"), new_id("upl")
    assert document_key(account, job, "application/pdf") == f"{account}/{job}/document.pdf"
    assert document_key(account, job, "application/zip; charset=binary") == f"{account}/{job}/document.zip"
    assert document_key(account, job, "x-user/whatever") == f"{account}/{job}/document.bin"
    assert asset_key(account, asset) == f"assets/{account}/{asset}"
    assert upload_key(account, upload) == f"uploads/{account}/{upload}"
    assert extension_for("IMAGE/PNG") == ".png"
    for text in USER_STRINGS + _fuzzed(300, seed=1):
        for owner, build in (
            (text, lambda t: document_key(t, job, "application/pdf")),
            (account, lambda t: document_key(account, t, "application/pdf")),
            (account, lambda t: asset_key(account, t)),
            (account, lambda t: upload_key(account, t)),
        ):
            try:
                key = build(text)
            except StorageKeyInvalid:
                continue
            # Only what has the shape of a generated id passes ("acc_4567"): one segment, no path, no text.
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", text), text
            assert check_key(key) == key and account_of(key) == owner
        with pytest.raises(StorageKeyInvalid):
            document_key("Счёт", job, "application/pdf")


def test_check_key_accepts_only_keys_under_an_accounts_prefix() -> None:
    account = new_id("acc")
    for key in (f"{account}/job_1/document.pdf", f"assets/{account}/ast_1", f"uploads/{account}/upl_1"):
        assert check_key(key) == key and account_of(key) == account
    # Rows written before keys were made of ids keep a file name in their key: still readable, still inside.
    assert check_key(f"{account}/job_1/Счёт 2026.pdf") == f"{account}/job_1/Счёт 2026.pdf"
    for key in (
        "document.pdf",  # the root of the store
        "assets/ast_1",  # an area shared by every account
        f"assets/{account}",  # the prefix itself
        account,
        f"{account}/",
        f"/{account}/x",
        f"{account}/../acc_1/x",
        f"{account}/./x",
        f"{account}//x",
        f"{account}/a\x00b",
        f"{account}/a\\..\\..\\b",
        f"{account}/{'x' * 1100}",
        f"{account}/lone\ud800",
        "ACC_1/x",
        "acc_xyz/x",  # not an id accounts.service makes
        f"other/{account}/x",
    ):
        with pytest.raises(StorageKeyInvalid) as refused:
            check_key(key)
        assert refused.value.code == "STORAGE_KEY_INVALID" and isinstance(refused.value, ValueError)


def test_no_spliced_string_passes_the_check_outside_its_prefix() -> None:
    account = "acc_0a0a"
    for text in USER_STRINGS + _fuzzed(3000, seed=2):
        for key in (text, f"{account}/{text}", f"{account}/job_1/{text}", f"assets/{text}", f"{text}/{account}/x"):
            try:
                check_key(key)
            except StorageKeyInvalid:
                continue
            # Accepted: it must name an account, and no segment may step out of it.
            assert account_of(key).startswith("acc_"), key
            assert ".." not in key.split("/") and "\x00" not in key and not key.startswith("/"), key


# -- both blob stores --------------------------------------------------------------------------------------
S3_PREFIX = "shared-prefix"


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
        return
    moto: MotoServer = request.getfixturevalue("moto")
    # A prefix inside the bucket, as a deployment sharing a bucket would have: nothing may land beside it.
    url = f"s3://k-{uuid.uuid4().hex[:10]}/{S3_PREFIX}?endpoint_url={moto.endpoint}&region=us-east-1"
    s3 = S3BlobStore.from_url(url, StorageSettings())
    s3.ensure_bucket()
    yield s3


def _listed(store: BlobStore) -> list[str]:
    """Every key in the store, read from the store itself (the filesystem, the bucket), not from rows."""
    if isinstance(store, FilesystemBlobStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    assert isinstance(store, S3BlobStore)
    keys: list[str] = []
    for page in store._client.get_paginator("list_objects_v2").paginate(Bucket=store.location.bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    outside = [key for key in keys if not key.startswith(f"{S3_PREFIX}/")]
    assert outside == [], "keys beside the configured prefix of the bucket"
    return sorted(key.removeprefix(f"{S3_PREFIX}/") for key in keys)


def test_both_stores_refuse_any_key_outside_an_accounts_prefix(store: BlobStore) -> None:
    account = new_id("acc")
    inside = f"{account}/job_1/document.pdf"
    store.put(inside, b"%PDF-inside", "application/pdf")
    for text in USER_STRINGS + _fuzzed(60, seed=3):
        for key in (text, f"{text}/{account}/x", f"assets/{text}", f"uploads/{text}/x", f"{account}/{text}/x"):
            try:
                check_key(key)
            except StorageKeyInvalid:
                # Every operation refuses it before any I/O, with the same stable code, in both stores.
                for method, args in (
                    ("put", (key, b"x", "application/pdf")),
                    ("get", (key,)),
                    ("exists", (key,)),
                    ("delete", (key,)),
                    ("local_path", (key,)),
                ):
                    with pytest.raises(StorageKeyInvalid):
                        getattr(store, method)(*args)
                continue
            assert account_of(key).startswith("acc_")
            try:
                store.put(key, b"x", "application/octet-stream")
            except StorageFailed as exc:
                # The filesystem cannot hold both "a/x" and "a/x/b" (ENOTDIR, EISDIR): refused, nothing written.
                assert isinstance(store, FilesystemBlobStore) and exc.details["errno"] in ("ENOTDIR", "EISDIR"), exc
                continue
            assert store.get(key) == b"x"
    if isinstance(store, S3BlobStore):
        with pytest.raises(StorageKeyInvalid):
            store.presigned_url("../x", 60, "x.pdf", "application/pdf")
    listed = _listed(store)
    assert inside in listed and store.get(inside) == b"%PDF-inside"
    # Nothing at the root, in a shared area, or beside the prefix: every blob lies under an account's prefix
    # (a spliced string that has an account id's shape, like "acc_1", names that account: ids never come
    # from users, which is what the service-level test below holds the services to).
    for key in listed:
        assert key.startswith(account_prefixes(account_of(key))), key


# -- the services that store blobs, driven with the same strings --------------------------------------------
class NoWebhooks:
    """These jobs have no webhook URL; a URL would be refused."""

    def check_webhook_url(self, url: str) -> None:
        raise AssertionError(f"no webhook expected: {url}")


class Named:
    """A real job operation whose output carries a user's string as its file name, as a template name, a
    ``filename`` or ``options.filename`` does in generate, transform and the PDF operations."""

    def __call__(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        return Output(data=b"%PDF-1.7 " + ctx.job_id.encode(), filename=request["name"], pages=1)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture()
def services(tmp_path: Path, store: BlobStore) -> Iterator[tuple[Database, JobService, JobRunner, BlobStore]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    registry = OperationRegistry()
    registry.register("named", Named())
    settings = JobSettings(lease_s=30.0, poll_interval_s=0.05, max_attempts=3)
    runner = JobRunner(db, store, registry, settings, retention_days=1)
    queue = EmbeddedQueue(db, runner, settings)
    jobs = JobService(db, runner, queue, NoWebhooks(), CreditService(db, BillingSettings()))
    yield db, jobs, runner, store
    queue.stop()
    db.dispose()


def test_user_strings_through_the_services_never_reach_a_key(services: Any) -> None:
    db, jobs, runner, store = services
    tenants = [AccountService(db).get_or_create(name)[0].id for name in ("tenant-b", "tenant-d")]
    expected: dict[str, set[str]] = {tenant: set() for tenant in tenants}
    assets = AssetService(db, store, AssetSettings())
    for tenant in tenants:
        principal = Principal(tenant, "key_x", "live")
        for text in USER_STRINGS:
            storable = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")  # what the doors let in
            metadata = {storable: storable, "path": "../../" + storable}
            # Sync: the document's key is ids only; its file name is the cleaned text, Unicode kept.
            document = jobs.run_sync(principal, "named", {"name": text}, metadata=metadata)
            assert document.storage_key == document_key(tenant, document.job_id, "application/pdf")
            assert document.filename == safe_filename(text, None, extension="")
            assert store.get(document.storage_key) == b"%PDF-1.7 " + document.job_id.encode()
            expected[tenant].add(document.storage_key)
            # Async, through the runner a worker uses.
            job = jobs.submit(principal, "named", {"name": text}, is_async=True, metadata=metadata)
            assert runner.run(job.id) is True
            done = jobs.get(tenant, job.id)
            assert done.status == "completed", (text, done.error_code)
            expected[tenant].add(document_key(tenant, job.id, "application/pdf"))
            # Assets: the name is a strict pattern (refused when hostile); the upload's file name is ignored.
            try:
                asset, _created = assets.upload(tenant, text, _png(), "image/png")
            except ValidationFailed as exc:
                assert exc.code == "VALIDATION_ERROR", (text, exc)
            else:
                expected[tenant].add(asset.storage_key)
            asset, _created = assets.upload(tenant, text, _png(), "image/png", name="logo.png")
            assert asset.storage_key == asset_key(tenant, asset.id)
            expected[tenant].add(asset.storage_key)
        # The PDF operations keep a request's uploads under a key made the same way.
        key = upload_key(tenant, new_id("upl"))
        store.put(key, b"%PDF-upload", "application/octet-stream")
        expected[tenant].add(key)

    listed = _listed(store)
    assert set(listed) == expected[tenants[0]] | expected[tenants[1]]
    for tenant in tenants:
        mine = [key for key in listed if key.startswith(account_prefixes(tenant))]
        assert set(mine) == expected[tenant]
    assert [key for key in listed if not ID_ONLY_KEY.match(key)] == []
    # Two tenants giving the same hostile name never share a blob.
    assert not expected[tenants[0]] & expected[tenants[1]]


# -- item 10: a deterministic storage error fails the job once ---------------------------------------------
def test_a_missing_bucket_fails_the_job_once_with_a_stable_code(tmp_path: Path, moto: MotoServer) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    # A real S3 answer another attempt cannot change: 404 NoSuchBucket (the bucket was never created).
    store = S3BlobStore.from_url(f"s3://never-{uuid.uuid4().hex[:8]}?endpoint_url={moto.endpoint}&region=us-east-1")
    registry = OperationRegistry()
    calls: list[str] = []

    def operation(ctx: JobContext, request: dict[str, Any]) -> Output:
        calls.append(ctx.job_id)
        return Output(data=b"%PDF-1.7", filename="x.pdf", pages=1)

    registry.register("op", operation)
    settings = JobSettings(lease_s=30.0, poll_interval_s=0.05, max_attempts=3)
    runner = JobRunner(db, store, registry, settings, retention_days=1)
    queue = EmbeddedQueue(db, runner, settings)
    jobs = JobService(db, runner, queue, NoWebhooks(), CreditService(db, BillingSettings()))
    try:
        principal = Principal(AccountService(db).get_or_create("t")[0].id, "key_x", "live")
        job = jobs.submit(principal, "op", {}, is_async=True)
        assert runner.run(job.id) is True
        failed = jobs.get(principal.account_id, job.id)
        assert (failed.status, failed.error_code, failed.attempts) == ("failed", "STORAGE_FAILED", 1)
        assert failed.error_details is not None and failed.error_details["s3_code"] == "NoSuchBucket"
        assert runner.run(job.id) is False and calls == [job.id]  # never run again
        with pytest.raises(StorageFailed) as raised:  # a sync caller gets the same code, once
            jobs.run_sync(principal, "op", {})
        assert raised.value.code == "STORAGE_FAILED" and len(calls) == 2
    finally:
        queue.stop()
        db.dispose()


def test_rows_with_a_refused_legacy_key_answer_cleanly(services: Any) -> None:
    # A document row written before keys were made of ids alone may hold a key the stores now refuse (a
    # traversal the old file-name key let through). It reads as gone (410), lists without a link, deletes
    # and sweeps, instead of a 500 on every page that contains it.
    db, jobs, _runner, store = services
    principal = Principal(AccountService(db).get_or_create("legacy")[0].id, "key_x", "live")
    documents = DocumentService(
        db,
        store,
        UrlSigner("secret", "http://host/"),
        600,
        presigner=store if isinstance(store, S3BlobStore) else None,
    )
    rows = [jobs.run_sync(principal, "named", {"name": f"legacy-{n}"}) for n in range(2)]
    for row in rows:
        with db.session() as session:
            stored = session.get(Document, row.id)
            assert stored is not None
            stored.storage_key = f"{principal.account_id}/{row.job_id}/../../../escape.pdf"
    first, second = (documents.get(principal.account_id, row.id) for row in rows)
    with pytest.raises(DocumentExpired):
        documents.read(principal.account_id, first.id)
    if isinstance(store, S3BlobStore):
        assert documents.link(first) is None
        with pytest.raises(DocumentExpired):
            documents.download_link(principal.account_id, first.id)
    documents.delete(principal.account_id, first.id)
    with pytest.raises(DocumentNotFound):
        documents.get(principal.account_id, first.id)
    with db.session() as session:
        stored = session.get(Document, second.id)
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(seconds=1)
    assert documents.sweep_expired() == 1
    assert documents.get(principal.account_id, second.id).status == "expired"
    # Nothing was written or removed outside the account's prefix on the way.
    assert [key for key in _listed(store) if not key.startswith(account_prefixes(principal.account_id))] == []
