"""Storage keys: built only from ids Pressroom generated, and checked by every store before use.

No user text (a template name, a file name, metadata) ever becomes part of a key: names are display
metadata kept on the rows. Every key of an account lives under a prefix made of that account's id, so
no name can reach another tenant's files or the root of a shared bucket. :func:`check_key` is the second
line of defence, applied by both stores to every key they are given (including keys read back from rows
written before this rule).
"""

from __future__ import annotations

import re

from pressroom.core.errors import StorageKeyInvalid

# S3's limit on a key, in UTF-8 bytes; the filesystem store's paths stay well under PATH_MAX with it.
MAX_KEY_BYTES = 1024
# One segment of a key built here: an id as core.ids makes them (prefix_hex), or a fixed word.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# An account's id as accounts.service makes it (core.ids.new_id("acc")): the first segment of every key's
# account prefix. Nothing a user writes can take this shape and also be a key's first segment.
_ACCOUNT = re.compile(r"acc_[0-9a-f]{1,64}")
# The areas that hold an account's blobs below their own first segment ("assets/<account>/...").
_AREAS = ("assets", "uploads")
# What the stores refuse in any key: control characters (NUL included) and the backslash (a separator for
# some S3 clients and tools).
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")

# The suffix of a stored document comes from its content type, never from its name.
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/zip": ".zip",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "text/html": ".html",
    "application/json": ".json",
    "application/xml": ".xml",
}


def check_key(key: str) -> str:
    """``key`` unchanged when a store may use it, else :class:`StorageKeyInvalid` (a deterministic error:
    a job that meets it fails once). Refused: empty keys, a leading ``/``, empty, ``.`` or ``..`` segments,
    control characters, backslashes, more than :data:`MAX_KEY_BYTES` bytes, unpaired surrogates, and any
    key that does not lie under an account's prefix (:func:`account_of`).

    Segments after the account prefix are not required to be ids: rows written before keys were made of
    ids alone (``<account>/<job>/<file name>``) must stay readable and deletable."""
    if not isinstance(key, str) or not key:
        raise StorageKeyInvalid("Empty storage key", details={"key": repr(key)})
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise StorageKeyInvalid("Storage key is not valid text", details={"key": repr(key)[:200]}) from None
    if size > MAX_KEY_BYTES:
        raise StorageKeyInvalid(f"Storage key longer than {MAX_KEY_BYTES} bytes", details={"bytes": size})
    if key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")) or _FORBIDDEN.search(key):
        raise StorageKeyInvalid(f"Invalid storage key: {key[:200]!r}", details={"key": repr(key)[:200]})
    account_of(key)
    return key


def account_of(key: str) -> str:
    """The account whose prefix ``key`` lies under (``<account>/...``, ``assets/<account>/...`` or
    ``uploads/<account>/...``, with at least one segment below the prefix), else
    :class:`StorageKeyInvalid`: no store holds anything at its root or in an area shared by accounts."""
    parts = key.split("/")
    if parts[0] in _AREAS:
        parts = parts[1:]
    if len(parts) < 2 or not _ACCOUNT.fullmatch(parts[0]):
        raise StorageKeyInvalid(
            f"Storage key outside any account's prefix: {key[:200]!r}", details={"key": repr(key)[:200]}
        )
    return parts[0]


def _id(value: str, what: str) -> str:
    if not (_ACCOUNT if what == "account" else _ID).fullmatch(value):
        raise StorageKeyInvalid(f"A storage key part ({what}) is not a generated id: {value[:100]!r}")
    return value


def extension_for(content_type: str) -> str:
    """The key suffix for a stored file of ``content_type`` (``.bin`` when unknown)."""
    return _EXTENSIONS.get(content_type.split(";")[0].strip().lower(), ".bin")


def document_key(account_id: str, job_id: str, content_type: str) -> str:
    """Where a job's output lives. Derived from the job id alone, so a re-run after a crash overwrites the
    same blob instead of leaking one."""
    return f"{_id(account_id, 'account')}/{_id(job_id, 'job')}/document{extension_for(content_type)}"


def asset_key(account_id: str, asset_id: str) -> str:
    return f"assets/{_id(account_id, 'account')}/{_id(asset_id, 'asset')}"


def upload_key(account_id: str, upload_id: str) -> str:
    """One request's uploaded files for a PDF operation (a blob of byte ranges)."""
    return f"uploads/{_id(account_id, 'account')}/{_id(upload_id, 'upload')}"


def account_prefixes(account_id: str) -> tuple[str, ...]:
    """Every prefix under which an account's blobs live (what the storage-key tests assert)."""
    account = _id(account_id, "account")
    return (f"{account}/", *(f"{area}/{account}/" for area in _AREAS))
