"""One contract, every blob store: the filesystem store, the S3 store (against moto's S3 server) and the
in-memory fake the in-process tests use. What a service may rely on holds for each, so a test on the fake
means what it would on a production store."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressroom.config import StorageSettings
from pressroom.core.errors import StorageKeyInvalid
from pressroom.storage.base import BlobStore
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.storage.keys import asset_key, document_key, upload_key
from pressroom.storage.memory import MemoryBlobStore
from pressroom.storage.s3 import S3BlobStore
from tests.support import MotoServer

ACCOUNT = "acc_0123456789abcdef"
OTHER = "acc_fedcba9876543210"
REFUSED = [
    "",
    "/acc_1/job_1/x",
    "acc_1//x",
    "acc_1/./x",
    "acc_1/../acc_2/x",
    "..",
    "acc_1/job\x00/x",
    "acc_1/job\\x",
    "acc_1",  # an account's prefix alone, nothing below it
    "outside/job_1/x",  # not under an account's prefix
    "assets/outside/x",
    "uploads/acc_1",
    "acc_1/" + "x" * 1100,
    "acc_1/\ud800",
]


@pytest.fixture(params=["filesystem", "s3", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
    elif request.param == "memory":
        yield MemoryBlobStore()
    else:
        moto: MotoServer = request.getfixturevalue("moto")
        s3 = S3BlobStore.from_url(moto.storage_url(f"c-{uuid.uuid4().hex[:10]}"), StorageSettings())
        s3.ensure_bucket()
        yield s3


def test_round_trip_overwrite_and_delete(store: BlobStore) -> None:
    key = document_key(ACCOUNT, "job_1", "application/pdf")
    assert not store.exists(key)
    store.put(key, b"%PDF-1.7 one", "application/pdf")
    assert store.exists(key) and store.get(key) == b"%PDF-1.7 one"
    store.put(key, b"%PDF-1.7 two", "application/pdf")  # a re-run overwrites the same blob
    assert store.get(key) == b"%PDF-1.7 two"
    store.delete(key)
    store.delete(key)  # deleting twice is fine
    assert not store.exists(key)


def test_a_missing_blob_is_a_key_error(store: BlobStore) -> None:
    with pytest.raises(KeyError):
        store.get(asset_key(ACCOUNT, "ast_missing"))


def test_bytes_come_back_exactly(store: BlobStore) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB of every byte value
    key = upload_key(ACCOUNT, "upl_1")
    store.put(key, data, "application/octet-stream")
    assert store.get(key) == data
    store.put(document_key(ACCOUNT, "job_empty", "application/pdf"), b"", "application/pdf")
    assert store.get(document_key(ACCOUNT, "job_empty", "application/pdf")) == b""


def test_every_store_refuses_the_same_keys(store: BlobStore) -> None:
    for key in REFUSED:
        with pytest.raises(StorageKeyInvalid):
            store.put(key, b"x", "text/plain")
        with pytest.raises(StorageKeyInvalid):
            store.get(key)
        with pytest.raises(StorageKeyInvalid):
            store.exists(key)
        with pytest.raises(StorageKeyInvalid):
            store.delete(key)


def test_legacy_keys_under_an_account_stay_readable(store: BlobStore) -> None:
    # Rows written before keys were made of ids alone: <account>/<job>/<file name> with user text.
    key = f"{ACCOUNT}/job_1/Rapport d'été (final).pdf"
    store.put(key, b"old", "application/pdf")
    assert store.exists(key) and store.get(key) == b"old"
    store.delete(key)
    assert not store.exists(key)


def test_accounts_do_not_share_blobs(store: BlobStore) -> None:
    mine, theirs = asset_key(ACCOUNT, "ast_1"), asset_key(OTHER, "ast_1")
    store.put(mine, b"mine", "image/png")
    assert not store.exists(theirs)
    store.put(theirs, b"theirs", "image/png")
    store.delete(theirs)
    assert store.get(mine) == b"mine"


def test_local_path_is_none_or_the_file_that_holds_the_blob(store: BlobStore) -> None:
    key = upload_key(ACCOUNT, "upl_local")
    store.put(key, b"%PDF-1.7 local", "application/octet-stream")
    path = store.local_path(key)
    if path is not None:  # the filesystem store; remote (S3) and in-memory stores answer None
        assert Path(path).read_bytes() == b"%PDF-1.7 local"
    else:
        assert store.name in ("s3", "memory")


def test_concurrent_writers_leave_one_whole_blob(store: BlobStore) -> None:
    key = document_key(ACCOUNT, "job_race", "application/pdf")
    payloads = [bytes([index]) * 200_000 for index in range(4)]
    threads = [threading.Thread(target=store.put, args=(key, data, "application/pdf")) for data in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get(key) in payloads  # never a mix of two writes
