"""Content-Encoding decoded under the byte cap, a megabyte at a time.

httpx decodes each received chunk whole: 5 KB sent as ``Content-Encoding: deflate, deflate`` came out as
one 2 GiB chunk (4 GB peak RSS) before the caller could compare anything with its cap. Here the raw bytes
go through one bounded decoder per coding (the last listed is undone first), each producing at most
``_PIECE`` bytes per step, and the caller's cap is checked after every piece.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

import brotli  # type: ignore[import-untyped]

_PIECE = 1 << 20
_MAX_CODINGS = 2  # "gzip" or e.g. "deflate, gzip"; more is not something servers send for real


class UnsupportedEncoding(ValueError):
    """A Content-Encoding Pressroom does not decode (or too many of them)."""


def _zlib_stage(wbits: int) -> Callable[[bytes], Iterator[bytes]]:
    decoder: Any = zlib.decompressobj(wbits)

    def feed(data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            # A full piece may leave output pending inside zlib even when all input was consumed, so only a
            # short piece with nothing left over ends the step.
            out = decoder.decompress(pending or decoder.unconsumed_tail, _PIECE)
            pending = b""
            if out:
                yield out
            if not decoder.unconsumed_tail and len(out) < _PIECE:
                return

    return feed


def _brotli_stage() -> Callable[[bytes], Iterator[bytes]]:
    decoder = brotli.Decompressor()

    def feed(data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            out = decoder.process(pending, output_buffer_limit=_PIECE)
            pending = b""
            if out:
                yield out
            if decoder.is_finished() or not out:
                return

    return feed


def _stage(coding: str) -> Callable[[bytes], Iterator[bytes]]:
    if coding in ("gzip", "x-gzip"):
        return _zlib_stage(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _zlib_stage(32 + zlib.MAX_WBITS)  # zlib-wrapped (gzip header auto-detected too)
    if coding == "br":
        return _brotli_stage()
    raise UnsupportedEncoding(coding)


class BoundedDecoder:
    """Undo ``content_encoding`` on raw body chunks, yielding pieces of at most 1 MiB."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > _MAX_CODINGS:
            raise UnsupportedEncoding(content_encoding)
        self._stages = [_stage(coding) for coding in reversed(codings)]

    def feed(self, raw: bytes) -> Iterator[bytes]:
        try:
            yield from self._through(0, raw)
        except (zlib.error, brotli.error) as exc:
            raise UnsupportedEncoding(f"corrupt encoded body: {exc}") from None

    def _through(self, level: int, data: bytes) -> Iterator[bytes]:
        if level == len(self._stages):
            yield data
            return
        for piece in self._stages[level](data):
            yield from self._through(level + 1, piece)
