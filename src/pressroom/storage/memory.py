"""Blob store in this process's memory: the fake the in-process tests build on (``bootstrap.Engines``).

Honest about keys: every key goes through :func:`pressroom.storage.keys.check_key`, as the filesystem and
S3 stores do, so a test on this store fails where production would. It shares nothing between processes
(``local_path`` is None, as for a remote store) and keeps every blob until deleted: never a server's store.
"""

from __future__ import annotations

import threading

from pressroom.storage.keys import check_key


class MemoryBlobStore:
    name = "memory"

    def __init__(self) -> None:
        # Job workers (threads) write while request handlers read.
        self._lock = threading.Lock()
        self._blobs: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        # A copy: a caller reusing its bytearray must not change what was stored.
        blob = bytes(data)
        with self._lock:
            self._blobs[key] = (blob, content_type)

    def get(self, key: str) -> bytes:
        check_key(key)
        with self._lock:
            try:
                return self._blobs[key][0]
            except KeyError:
                raise KeyError(key) from None

    def local_path(self, key: str) -> None:
        """None: no other process can open a blob held here (callers then read it through :meth:`get`)."""
        check_key(key)
        return None

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._blobs.pop(key, None)

    def exists(self, key: str) -> bool:
        check_key(key)
        with self._lock:
            return key in self._blobs

    # What a test may inspect; not part of BlobStore.
    def stored_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._blobs)

    def content_type(self, key: str) -> str:
        with self._lock:
            return self._blobs[key][1]
