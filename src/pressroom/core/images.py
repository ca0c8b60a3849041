"""Image dimensions read from the file header, without decoding a pixel.

A 400-byte PNG can declare 100,000 x 100,000 pixels: 40 GB once decoded. Whoever decodes images (PIL,
WeasyPrint, Chromium, pyHanko) allocates by the declared size, so uploads are checked here first, by
reading a few header bytes: PNG's IHDR, the SOFn segment of a JPEG, GIF's logical screen and frame
descriptors, WebP's VP8/VP8L/VP8X chunk. No I/O, no decompression.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageSize:
    format: str  # "png" | "jpeg" | "gif" | "webp"
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


# JPEG start-of-frame markers (baseline, progressive, lossless...); C4, C8 and CC are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> ImageSize | None:
    """The declared size of a PNG, JPEG, GIF or WebP image; None when the header is not one of them or is
    cut short (such a file fails later, in whatever tries to decode it, without allocating)."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return ImageSize("png", width, height)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return _gif(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
    except struct.error:
        return None
    return None


def _jpeg(data: bytes) -> ImageSize | None:
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return ImageSize("jpeg", width, height)
        if length < 2:
            return None
        index += 2 + length
    return None


def _gif(data: bytes) -> ImageSize:
    """The logical screen, grown to hold every frame: a frame's own descriptor may place it beyond the
    screen (up to 65535 x 65535 + its offset), and Pillow grows its canvas to match. Walking the blocks
    skips the LZW data sub-block by sub-block, without decoding it."""
    width, height, packed = struct.unpack("<HHB", data[6:11])
    index = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    while index < len(data):
        block = data[index]
        if block == 0x21:  # extension: label, then data sub-blocks
            index = _skip_sub_blocks(data, index + 2)
        elif block == 0x2C and index + 10 <= len(data):  # image descriptor: left, top, width, height, packed
            left, top, frame_w, frame_h, frame_packed = struct.unpack("<HHHHB", data[index + 1 : index + 10])
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            index += 10 + (3 << ((frame_packed & 7) + 1) if frame_packed & 0x80 else 0)
            index = _skip_sub_blocks(data, index + 1)  # after the LZW minimum code size
        else:
            break  # the trailer, a cut-short descriptor or not GIF any more: decoders stop here too
    return ImageSize("gif", width, height)


def _skip_sub_blocks(data: bytes, index: int) -> int:
    while index < len(data) and data[index]:
        index += 1 + data[index]
    return index + 1


def _webp(data: bytes) -> ImageSize | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: 14-bit width and height after the key frame start code
        width, height = struct.unpack("<HH", data[26:30])
        return ImageSize("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":  # lossless: 14-bit width-1 and height-1 packed after the signature byte
        (bits,) = struct.unpack("<I", data[21:25])
        return ImageSize("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:  # extended: 24-bit canvas width-1 and height-1
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageSize("webp", width, height)
    return None
