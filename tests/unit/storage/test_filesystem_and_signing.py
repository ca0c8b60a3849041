from __future__ import annotations

from pathlib import Path

import pytest

from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.storage.signing import UrlSigner


def test_put_get_delete(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put("acc_1/job_1/doc.pdf", b"%PDF-1", "application/pdf")
    assert store.exists("acc_1/job_1/doc.pdf") and store.get("acc_1/job_1/doc.pdf") == b"%PDF-1"
    store.put("acc_1/job_1/doc.pdf", b"%PDF-2", "application/pdf")  # overwrite is atomic
    assert store.get("acc_1/job_1/doc.pdf") == b"%PDF-2"
    store.delete("acc_1/job_1/doc.pdf")
    assert not store.exists("acc_1/job_1/doc.pdf")
    with pytest.raises(KeyError):
        store.get("acc_1/job_1/doc.pdf")
    store.delete("acc_1/job_1/doc.pdf")  # deleting twice is fine
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "root")
    for key in ("../outside", "acc_1/../../outside", "..", "outside", "assets/outside", "uploads/x/outside"):
        with pytest.raises(ValueError):
            store.put(key, b"x", "text/plain")
        with pytest.raises(ValueError):
            store.local_path(key)
    assert not (tmp_path / "outside").exists()


def test_local_path_is_the_file_holding_the_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put("uploads/acc_1/upl_1", b"%PDF-1.7 bytes", "application/octet-stream")
    path = Path(store.local_path("uploads/acc_1/upl_1"))
    assert path.read_bytes() == b"%PDF-1.7 bytes" and path.is_relative_to(tmp_path.resolve())
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_signed_links_expire_and_resist_tampering() -> None:
    signer = UrlSigner("secret", "http://host/")
    url, expires = signer.url("doc_1", ttl_s=60, now=1000.0)
    assert url.startswith("http://host/v1/files/doc_1?expires=1060&signature=")
    signature = url.rsplit("=", 1)[1]
    assert signer.verify("doc_1", expires, signature, now=1059)
    assert not signer.verify("doc_1", expires, signature, now=1061)  # expired
    assert not signer.verify("doc_2", expires, signature, now=1000)  # another document
    assert not signer.verify("doc_1", expires + 1, signature, now=1000)  # extended expiry
    assert not UrlSigner("other", "http://host").verify("doc_1", expires, signature, now=1000)
