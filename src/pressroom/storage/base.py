"""What a blob store can do. Keys are '/'-separated relative paths chosen by the services."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """Raise KeyError when the blob does not exist."""
        ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...
