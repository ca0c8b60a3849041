"""The uploads of a PDF operation in the blob store: one blob per request, each upload a byte range of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressroom.core.errors import UploadMissing, ValidationFailed
from pressroom.pdfops.sources import Uploads
from pressroom.storage.filesystem import FilesystemBlobStore


def test_byte_ranges_of_one_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put("uploads/acc_1/upl_1", b"firstsecond!", "application/octet-stream")
    uploads = Uploads(
        store,
        [
            {"key": "uploads/acc_1/upl_1", "offset": 0, "length": 5},
            {"key": "uploads/acc_1/upl_1", "offset": 5, "length": 7},
        ],
    )
    assert uploads.data(0) == b"first" and uploads.data(1) == b"second!"
    source = uploads.source(1)  # the sandbox reads the range itself
    assert (source.path, source.offset, source.size) == (store.local_path("uploads/acc_1/upl_1"), 5, 7)
    assert source.missing == UploadMissing.code
    with pytest.raises(ValidationFailed):
        uploads.data(2)
    uploads.delete()
    assert not store.exists("uploads/acc_1/upl_1")


def test_a_plain_key_is_a_whole_blob(tmp_path: Path) -> None:
    """Jobs queued before uploads shared a blob reference one blob per upload by its key."""
    store = FilesystemBlobStore(tmp_path)
    store.put("uploads/acc_1/upl_old", b"%PDF-old", "application/pdf")
    uploads = Uploads(store, ["uploads/acc_1/upl_old"])
    assert uploads.data(0) == b"%PDF-old"
    source = uploads.source(0)
    assert source.offset is None and source.size == len(b"%PDF-old")


def test_a_blob_gone_or_cut_is_upload_missing(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put("uploads/acc_1/short", b"abc", "application/octet-stream")
    cut = Uploads(store, [{"key": "uploads/acc_1/short", "offset": 2, "length": 5}])
    gone = Uploads(store, [{"key": "uploads/acc_1/never", "offset": 0, "length": 5}])
    for uploads in (cut, gone):
        with pytest.raises(UploadMissing):
            uploads.source(0)
        with pytest.raises(UploadMissing):
            uploads.data(0)
