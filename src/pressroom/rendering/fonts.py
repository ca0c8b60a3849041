"""Fonts: what the OS provides by name, and uploaded font files made usable by family name.

Installed fonts (``make install`` puts DejaVu, Liberation, Noto core and Inter on Debian) are found by both
engines through fontconfig, by family name. Uploaded TTF/OTF/WOFF/WOFF2 files become ``@font-face`` rules
pointing at their asset URL (or a ``data:`` URL for Chromium's header/footer bands, which load nothing).

WOFF and WOFF2 are compressed (zlib per table, one brotli stream): 863 bytes of WOFF2 can inflate to
512 MiB, and fontTools inflates everything it is given before checking a size. So an upload's header and
table directory are read first and refused (413 ``ASSET_LIMIT_EXCEEDED``) when the sizes they declare
exceed ``assets.max_font_bytes``; then the compressed data is inflated a chunk at a time, counted and
dropped, and refused the moment it produces more than it declared. Only a font that passed both reaches
fontTools - and the browsers, whose decoders would inflate it again.
"""

from __future__ import annotations

import base64
import importlib
import io
import logging
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import brotli  # type: ignore[import-untyped]

from pressroom.core.errors import AssetLimitExceeded

# fontTools ships no type information.
_ttlib: Any = importlib.import_module("fontTools.ttLib")
# fontTools logs an error per malformed name record: one hostile upload would write thousands of lines. A
# tenant's broken font is answered to the tenant (the upload is not a font), not logged.
logging.getLogger("fontTools.ttLib.tables._n_a_m_e").setLevel(logging.CRITICAL)
_woff2: Any = importlib.import_module("fontTools.ttLib.woff2")

FontFormat = Literal["truetype", "opentype", "woff", "woff2"]
# The families documented as always available (README, docs/rendering.md); tests check they are installed.
STANDARD_FAMILIES = (
    "DejaVu Sans",
    "DejaVu Serif",
    "DejaVu Sans Mono",
    "Liberation Sans",
    "Liberation Serif",
    "Liberation Mono",
    "Noto Sans",
    "Noto Serif",
    "Inter",
)
_MAGIC: tuple[tuple[bytes, FontFormat], ...] = (
    (b"wOF2", "woff2"),
    (b"wOFF", "woff"),
    (b"OTTO", "opentype"),
    (b"\x00\x01\x00\x00", "truetype"),
    (b"true", "truetype"),
)
_CONTENT_TYPES: dict[FontFormat, str] = {
    "truetype": "font/ttf",
    "opentype": "font/otf",
    "woff": "font/woff",
    "woff2": "font/woff2",
}
_FAMILY_SAFE = re.compile(r"[^\w \-.]", re.UNICODE)
DEFAULT_MAX_FONT_BYTES = 64 * 1024 * 1024  # assets.max_font_bytes


@dataclass(frozen=True)
class FontInfo:
    format: FontFormat
    family: str
    weight: int
    style: Literal["normal", "italic"]

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.format]


def font_format(data: bytes) -> FontFormat | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def inspect_font(data: bytes, max_font_bytes: int = DEFAULT_MAX_FONT_BYTES) -> FontInfo | None:
    """Format, family, weight and style read from the font's own tables; None when it is not a font.

    A WOFF/WOFF2 file that declares, or inflates to, more than ``max_font_bytes`` is refused (413
    ``ASSET_LIMIT_EXCEEDED``) before fontTools inflates it (see the module notes)."""
    kind = font_format(data)
    if kind is None:
        return None
    try:
        if kind == "woff":
            _check_woff(data, max_font_bytes)
        elif kind == "woff2":
            _check_woff2(data, max_font_bytes)
    except _Malformed:
        return None
    try:
        font = _ttlib.TTFont(io.BytesIO(data), lazy=True)
        names = font["name"]
        family = names.getDebugName(16) or names.getDebugName(1)
        os2 = font.get("OS/2")
        weight = int(getattr(os2, "usWeightClass", 400) or 400)
        italic = bool(os2 is not None and os2.fsSelection & 0x01) or bool(font["head"].macStyle & 0x02)
    except (_ttlib.TTLibError, KeyError, AttributeError, AssertionError, ValueError, IndexError, ImportError):
        return None
    if not family:
        return None
    return FontInfo(
        format=kind,
        family=clean_family(family),
        weight=min(900, max(100, weight)),
        style="italic" if italic else "normal",
    )


# -- compressed fonts: sizes checked before inflating -----------------------------------------------------
_INFLATE_CHUNK = 1 << 20
_MAX_TABLES = 1024  # real fonts have a few dozen; the directory is read before anything else
_WOFF_HEADER = struct.Struct(">4sLLHHLHHLLLLL")
_WOFF_ENTRY = struct.Struct(">4sLLLL")
_WOFF2_HEADER = struct.Struct(">4sLLHHLLHHLLLLL")


class _Malformed(Exception):
    """Not a well-formed WOFF/WOFF2 header or directory: treated like any file that is not a font."""


def _too_large(declared: int, limit: int, what: str) -> AssetLimitExceeded:
    return AssetLimitExceeded(
        f"The font {what} {declared} bytes once decompressed; the limit is {limit}",
        details={"limit": "font_bytes", "declared_bytes": declared, "max_font_bytes": limit},
    )


def _inflates_beyond(limit: int, what: str) -> AssetLimitExceeded:
    return AssetLimitExceeded(
        f"The font's {what} decompresses to more than it declares (a decompression bomb)",
        details={"limit": "font_bytes", "reason": "inflates beyond its declared size", "max_font_bytes": limit},
    )


def _check_declared(sizes: list[int], total_sfnt: int, limit: int) -> None:
    declared = max(sum(sizes), total_sfnt)
    if declared > limit:
        raise _too_large(declared, limit, "declares")


def _check_woff(data: bytes, limit: int) -> None:
    """WOFF 1.0: a directory of zlib-compressed tables (+ optional zlib metadata)."""
    if len(data) < _WOFF_HEADER.size:
        raise _Malformed
    header = _WOFF_HEADER.unpack_from(data)
    num_tables, total_sfnt = header[3], header[5]
    meta_offset, meta_length, meta_orig = header[8], header[9], header[10]
    if num_tables > _MAX_TABLES or len(data) < _WOFF_HEADER.size + num_tables * _WOFF_ENTRY.size:
        raise _Malformed
    entries = [_WOFF_ENTRY.unpack_from(data, _WOFF_HEADER.size + i * _WOFF_ENTRY.size) for i in range(num_tables)]
    _check_declared([entry[3] for entry in entries] + [meta_orig], total_sfnt, limit)
    for _tag, offset, comp_length, orig_length, _checksum in entries:
        if comp_length > orig_length:  # the spec's "stored as is" is equal lengths; fontTools would inflate
            raise _Malformed
        if comp_length < orig_length:
            _zlib_within(data[offset : offset + comp_length], orig_length, limit, "table")
    if meta_length:
        _zlib_within(data[meta_offset : meta_offset + meta_length], meta_orig, limit, "metadata")


def _zlib_within(compressed: bytes, declared: int, limit: int, what: str) -> None:
    decoder = zlib.decompressobj()
    produced = 0
    pending = compressed
    try:
        while not decoder.eof:
            out = decoder.decompress(pending, _INFLATE_CHUNK)
            pending = decoder.unconsumed_tail
            produced += len(out)
            if produced > declared:
                raise _inflates_beyond(limit, what)
            if not pending and len(out) < _INFLATE_CHUNK:
                break
    except zlib.error:
        raise _Malformed from None


def _check_woff2(data: bytes, limit: int) -> None:
    """WOFF2: a directory with base-128 sizes, then one brotli stream holding every table."""
    if len(data) < _WOFF2_HEADER.size:
        raise _Malformed
    header = _WOFF2_HEADER.unpack_from(data)
    flavor, num_tables, total_sfnt, total_compressed = header[1], header[3], header[5], header[6]
    meta_offset, meta_length, meta_orig = header[9], header[10], header[11]
    if num_tables > _MAX_TABLES or flavor == b"ttcf":  # collections: not accepted as assets
        raise _Malformed
    offset = _WOFF2_HEADER.size
    stream_sizes: list[int] = []
    for _ in range(num_tables):
        if offset >= len(data):
            raise _Malformed
        flags = data[offset]
        offset += 1
        if flags & 0x3F == 0x3F:
            tag = data[offset : offset + 4].decode("latin-1")
            offset += 4
        else:
            tag = _woff2.woff2KnownTags[flags & 0x3F]
        orig_length, offset = _base128(data, offset)
        version = flags >> 6
        transformed = version == 0 if tag in ("glyf", "loca") else version != 0
        if transformed:
            transform_length, offset = _base128(data, offset)
            stream_sizes.append(transform_length)
        else:
            stream_sizes.append(orig_length)
        if orig_length > limit:  # a reconstructed table (glyf, loca, hmtx) has its original length
            raise _too_large(orig_length, limit, "declares a table of")
    _check_declared([*stream_sizes, meta_orig], total_sfnt, limit)
    _brotli_within(data[offset : offset + total_compressed], sum(stream_sizes), limit, "table data")
    if meta_length:
        _brotli_within(data[meta_offset : meta_offset + meta_length], meta_orig, limit, "metadata")


def _base128(data: bytes, offset: int) -> tuple[int, int]:
    value = 0
    for index in range(5):
        if offset + index >= len(data):
            raise _Malformed
        byte = data[offset + index]
        if index == 0 and byte == 0x80:  # no leading zeros
            raise _Malformed
        value = (value << 7) | (byte & 0x7F)
        if value > 0xFFFFFFFF:
            raise _Malformed
        if not byte & 0x80:
            return value, offset + index + 1
    raise _Malformed


def _brotli_within(compressed: bytes, declared: int, limit: int, what: str) -> None:
    decoder = brotli.Decompressor()
    produced = 0
    pending = compressed
    try:
        while True:
            out = decoder.process(pending, output_buffer_limit=_INFLATE_CHUNK)
            pending = b""
            produced += len(out)
            if produced > declared:
                raise _inflates_beyond(limit, what)
            if decoder.is_finished() or (not out and decoder.can_accept_more_data()):
                return  # done, or cut short (fontTools refuses that without inflating more)
    except brotli.error:
        raise _Malformed from None


def clean_family(family: str) -> str:
    """A family name safe to put between quotes in CSS."""
    return _FAMILY_SAFE.sub("", family).strip()[:100]


def font_face(family: str, url: str, fmt: str, weight: int = 400, style: str = "normal") -> str:
    return (
        f'@font-face {{ font-family: "{clean_family(family)}"; src: url("{url}") format("{fmt}"); '
        f"font-weight: {int(weight)}; font-style: {'italic' if style == 'italic' else 'normal'}; }}"
    )


def data_url(content_type: str, data: bytes) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


@cache
def installed_families() -> frozenset[str]:
    """Font families fontconfig knows (what both engines can use by name)."""
    if shutil.which("fc-list") is None:
        return frozenset()
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=30).stdout
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(",") if name.strip())
