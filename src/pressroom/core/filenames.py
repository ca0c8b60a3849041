"""Names users give to files: what is kept for display, and how it travels in Content-Disposition.

A user's file name is display metadata only. Storage keys are built from ids Pressroom generated (see
``jobs.runner`` and ``storage.keys``), never from these names, so a name can keep any script the user wrote
in (``Счёт.pdf``, ``請求書.pdf``) and still cannot reach another tenant's files. What is removed here is what
would be dangerous or unreadable wherever the name is shown or saved: control characters (NUL included),
bidirectional overrides that disguise an extension, path separators, the characters Windows refuses in file
names, leading dots and unbounded length.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import quote

from pydantic import AfterValidator

# The documents table holds 255 characters; 200 leaves room and matches the request schemas.
MAX_FILENAME_CHARS = 200
# Most filesystems a user saves to cap a name at 255 bytes (UTF-8 on Linux, macOS).
MAX_FILENAME_BYTES = 255
FALLBACK_STEM = "document"

# Path separators and the characters Windows refuses in file names (the user saves the download).
_SEPARATORS = re.compile(r'[/\\:*?"<>|]+')
_SPACES = re.compile(r"\s+")
# Invisible characters that reorder or hide text: "invoice\u202efdp.exe" shows as "invoiceexe.pdf".
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Unicode categories dropped outright: controls (C0, DEL, C1), unpaired surrogates (not encodable in UTF-8),
# unassigned and private-use code points. Whitespace of any kind becomes a plain space first.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Co"})
# A conservative ASCII fallback for clients that ignore filename* (RFC 6266 section 4.3): token-ish chars.
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+,=@~-]+")


def unsafe_name_reason(name: str) -> str | None:
    """Why ``name`` cannot be stored and read back as text (None when it can): a NUL (PostgreSQL text and
    JSON columns refuse it) or an unpaired surrogate (not encodable in UTF-8). Doors refuse these with a 400;
    everything else is cleaned by :func:`safe_filename` where a file name is made."""
    if "\x00" in name:
        return "must not contain NUL characters"
    if any("\ud800" <= char <= "\udfff" for char in name):
        return "must not contain unpaired surrogate code points"
    return None


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        if char in _BIDI:
            continue
        if char.isspace():  # tabs, CR/LF (a header injection attempt), line separators: one space
            kept.append(" ")
            continue
        if unicodedata.category(char) in _DROPPED_CATEGORIES:
            continue
        kept.append(char)
    text = _SEPARATORS.sub("_", "".join(kept))
    text = _SPACES.sub(" ", text)
    # Leading dots hide the file on Unix and make "." / ".." names; trailing dots and spaces vanish on Windows.
    return text.strip(" ._")


def _bounded(stem: str, extension: str) -> str:
    room_chars = MAX_FILENAME_CHARS - len(extension)
    room_bytes = MAX_FILENAME_BYTES - len(extension.encode("utf-8"))
    stem = stem[:room_chars]
    while len(stem.encode("utf-8")) > room_bytes:
        stem = stem[:-1]
    # A cut may leave a combining mark without its base, or a trailing space or dot.
    while stem and unicodedata.combining(stem[-1]):
        stem = stem[:-1]
    return stem.rstrip(" ._")


def safe_filename(name: str | None, default: str | None, extension: str = ".pdf") -> str:
    """The display file name for ``name`` (else ``default``, else ``"document"``), ending in ``extension``.

    Unicode is kept; see the module docstring for what is removed. The result is never empty, never a path,
    at most :data:`MAX_FILENAME_CHARS` characters and :data:`MAX_FILENAME_BYTES` UTF-8 bytes.
    """
    for candidate in (name, default, FALLBACK_STEM):
        stem = _clean(candidate or "")
        if extension and stem.lower().endswith(extension.lower()):
            stem = _clean(stem[: -len(extension)])
        stem = _bounded(stem, extension)
        if stem:
            return stem + extension
    raise AssertionError("the fallback stem is never empty")  # pragma: no cover


def ascii_fallback(filename: str, default: str = FALLBACK_STEM) -> str:
    """An ASCII approximation of ``filename`` for the ``filename="..."`` parameter: accents folded
    (``Résumé`` -> ``Resume``), anything else replaced by ``_``; the extension is kept."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = folded.rpartition(".")
    if not dot:
        stem, extension = folded, ""
    stem = _ASCII_UNSAFE.sub("_", stem).strip(" ._")
    extension = _ASCII_UNSAFE.sub("", extension)
    if not stem.strip("_"):
        stem = default
    return f"{stem}.{extension}" if extension else stem


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition value per RFC 6266 with the RFC 5987 ``filename*`` parameter.

    ``filename="..."`` carries an ASCII fallback (quoted-string safe: no quote, backslash or control char) for
    old clients; ``filename*=UTF-8''...`` carries the exact name, percent-encoded, which every current browser
    prefers. The name is cleaned first, so a stored name from before the cleaning existed is safe too.
    """
    if disposition not in ("attachment", "inline"):
        raise ValueError(f"unknown disposition {disposition!r}")
    name = safe_filename(filename, None, extension="")
    fallback = ascii_fallback(name)
    encoded = quote(name, safe="")  # RFC 5987 attr-char is a subset of what quote() leaves unescaped
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _storable(value: str) -> str:
    reason = unsafe_name_reason(value)
    if reason is not None:
        raise ValueError(reason)
    return value


# A name or file name as the doors accept it: any Unicode text that can be stored and read back (no NUL,
# no unpaired surrogate); a request that breaks this is a 400 VALIDATION_ERROR naming the field.
StorableName = Annotated[str, AfterValidator(_storable)]
