"""Blob store on the local filesystem: the embedded default (under the data dir)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from pressroom.core.errors import StorageFailed, StorageFull, StorageKeyInvalid, StorageUnavailable
from pressroom.storage.keys import check_key

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
# Errors another attempt cannot fix (an operator must): the job fails once with a stable code.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR})


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """OS errors as the service's storage errors, so the job runner can tell a deterministic failure (full
    disk, permission denied) from a passing one (an I/O error on a network filesystem)."""
    try:
        yield
    except (FileNotFoundError, StorageKeyInvalid):
        raise
    except OSError as exc:
        reason = {"key": key, "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno))}
        if exc.errno in _NO_SPACE:
            raise StorageFull("The file store has no space left", details=reason) from exc
        if exc.errno == errno.ENAMETOOLONG:
            raise StorageKeyInvalid("The storage key is too long for the filesystem", details=reason) from exc
        if exc.errno in _REFUSED:
            raise StorageFailed(f"The file store refused the operation: {exc.strerror}", details=reason) from exc
        raise StorageUnavailable(f"The file store failed: {exc.strerror}", details=reason) from exc


class FilesystemBlobStore:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._prefix = str(self.root) + os.sep

    def _path(self, key: str) -> str:
        # Keys are built from generated ids (storage.keys), never from user text; these guards keep a bug
        # from escaping the root. check_key refuses '..', NUL and the like, as the S3 store does; the
        # lexical check stays as a second guard (no symlink resolution: nothing in the store is a link,
        # so a lookup costs no system call).
        path = os.path.normpath(self._prefix + check_key(key))
        if not path.startswith(self._prefix):
            raise StorageKeyInvalid(f"storage key escapes the store: {key!r}", details={"key": key})
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        with _translated(key):
            self._write(path, data)

    @staticmethod
    def _write(path: str, data: bytes) -> None:
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
            with _translated(key), open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def local_path(self, key: str) -> str:
        """The file that holds ``key`` (which may not exist): a process on this host can open it directly."""
        return self._path(key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with _translated(key), contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))
