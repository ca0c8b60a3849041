"""What a blob store can do. Keys are '/'-separated relative paths chosen by the services."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """Raise KeyError when the blob does not exist."""
        ...

    def local_path(self, key: str) -> str | None:
        """A file on this host that holds the blob (another local process may open it), or None when the
        store is remote. The file may be missing: callers handle FileNotFoundError as KeyError."""
        ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...
