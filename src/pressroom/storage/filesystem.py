"""Blob store on the local filesystem: the embedded default (under the data dir)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class FilesystemBlobStore:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._prefix = str(self.root) + os.sep

    def _path(self, key: str) -> str:
        # Keys come from services, never from users; this guard keeps a bug from escaping the root. It is
        # lexical (no symlink resolution: nothing in the store is a link), so a lookup costs no system call.
        path = os.path.normpath(self._prefix + key)
        if not path.startswith(self._prefix):
            raise ValueError(f"storage key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        directory = os.path.dirname(path)
        # Write-then-rename: a reader never sees a half-written file, a re-run overwrites atomically.
        tmp = f"{directory}/.tmp-{secrets.token_hex(8)}"
        try:
            fd = os.open(tmp, _CREATE, 0o600)
        except FileNotFoundError:  # the first blob of its directory
            os.makedirs(directory, exist_ok=True)
            fd = os.open(tmp, _CREATE, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def local_path(self, key: str) -> str:
        """The file that holds ``key`` (which may not exist): a process on this host can open it directly."""
        return self._path(key)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))
