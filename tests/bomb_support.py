"""Decompression bombs built by code, in milliseconds: tiny files that declare or inflate to gigabytes.

- :func:`pdf_flate_bomb`: a one-page PDF whose content stream is ``[/FlateDecode /FlateDecode]`` over
  ``expanded`` bytes of spaces (valid content: whoever renders, recompresses or parses it must inflate
  it). 4 GiB fit in ~10 KB. The inner zlib stream is one compressed MiB repeated (a full-flushed deflate
  block is byte-aligned and stands alone), so nothing close to the expanded size is ever compressed here.
- :func:`woff2_bomb` / :func:`woff_bomb`: fonts whose table directory declares huge tables, or declares
  small ones whose compressed data inflates far beyond that (the lie is what fontTools trusted).
- :func:`png_header`: a PNG that declares ``width x height`` pixels in a few dozen bytes.

:func:`outcome_within_memory` runs a call in a forked child whose address space may grow by only a given
headroom: proof that refusing a bomb never inflates it, independent of what the test process did before.
"""

from __future__ import annotations

import io
import os
import pickle
import resource
import struct
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import pikepdf

MIB = 1 << 20
_ADLER_MOD = 65521


def _spaces_adler32(length: int) -> int:
    """adler32 of ``length`` spaces, in closed form (summing 4 GiB byte by byte would take seconds)."""
    a = (1 + 32 * length) % _ADLER_MOD
    b = (length + 32 * (length * (length + 1) // 2)) % _ADLER_MOD
    return (b << 16) | a


def zlib_spaces(mib: int) -> bytes:
    """A valid zlib stream of ``mib`` MiB of spaces, about 1 KB per MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * MIB) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = b"\x03\x00"  # a final, empty block with fixed Huffman codes
    return b"\x78\xda" + block * mib + final + struct.pack(">I", _spaces_adler32(mib * MIB))


def pdf_flate_bomb(expanded_mib: int = 4096) -> bytes:
    """A one-page PDF whose content stream inflates to ``expanded_mib`` MiB (two nested Flate filters)."""
    data = zlib.compress(zlib_spaces(expanded_mib), 9)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.FlateDecode])
    pdf.pages[0].obj.Contents = pdf.make_indirect(stream)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def _base128(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _sfnt_size(declared_bytes: int) -> int:
    """totalSfntSize: the sfnt header, one directory entry and the padded table (a uint32, so capped)."""
    return min(12 + 16 + ((declared_bytes + 3) & ~3), 0xFFFFFFFF)


def _brotli_spaces(mib: int) -> bytes:
    compressor = brotli.Compressor(quality=5, lgwin=24)  # ~50 bytes per 64 MiB
    chunk = b" " * MIB
    parts = [compressor.process(chunk) for _ in range(mib)]
    return b"".join(parts) + compressor.finish()


def woff2_bomb(declared_bytes: int, inflated_mib: int = 0) -> bytes:
    """A WOFF2 with one ``name`` table declaring ``declared_bytes``; its brotli data inflates to
    ``inflated_mib`` MiB of spaces (or to exactly the declared size when 0 and that is small)."""
    table_data = _brotli_spaces(inflated_mib) if inflated_mib else brotli.compress(b" " * min(declared_bytes, MIB))
    directory = bytes([5]) + _base128(declared_bytes)  # known tag 5 = 'name', no transform
    header_size = 48
    length = header_size + len(directory) + len(table_data)
    header = struct.pack(
        ">4sLLHHLLHHLLLLL",
        b"wOF2",
        0x00010000,
        length,
        1,
        0,
        _sfnt_size(declared_bytes),
        len(table_data),
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    return header + directory + table_data


def woff_bomb(declared_bytes: int, inflated_mib: int = 0) -> bytes:
    """A WOFF 1.0 with one zlib-compressed ``name`` table declaring ``declared_bytes`` (inflating to
    ``inflated_mib`` MiB when given)."""
    table = zlib_spaces(inflated_mib) if inflated_mib else zlib.compress(b" " * min(declared_bytes, MIB))
    offset = 44 + 20
    header = struct.pack(
        ">4sLLHHLHHLLLLL",
        b"wOFF",
        0x00010000,
        offset + len(table),
        1,
        0,
        _sfnt_size(declared_bytes),
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    entry = struct.pack(">4sLLLL", b"name", offset, len(table), declared_bytes, 0)
    return header + entry + table


def png_header(width: int, height: int) -> bytes:
    """A PNG declaring ``width x height`` RGB pixels: signature, IHDR and a tiny (truncated) IDAT + IEND.
    Nothing needs the pixels: the declared size alone is what decoders allocate by."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def outcome_within_memory(call: Callable[[], Any], headroom: int) -> str:
    """Run ``call`` in a forked child limited (``RLIMIT_AS``) to its current address space + ``headroom``;
    the name of the exception it raised, "MemoryError" when an allocation hit the cap, or "ok"."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            resource.setrlimit(resource.RLIMIT_AS, (_address_space() + headroom, resource.RLIM_INFINITY))
            try:
                call()
                outcome = "ok"
            except MemoryError:
                outcome = "MemoryError"
            except BaseException as exc:
                outcome = type(exc).__name__
            os.write(write_end, pickle.dumps(outcome))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return str(pickle.loads(data)) if data else "died"
