"""Image sizes read from headers (pressroom.core.images): exact for real files of every accepted format,
and the declared size of forged headers, read without decoding (the checks upload limits rely on)."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from pressroom.core.images import ImageSize, image_size
from tests.bomb_support import png_header


def _saved(fmt: str, size: tuple[int, int], mode: str = "RGB", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white").save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode", "options", "name"),
    [
        ("PNG", "RGB", {}, "png"),
        ("PNG", "P", {}, "png"),
        ("JPEG", "RGB", {}, "jpeg"),
        ("JPEG", "RGB", {"progressive": True}, "jpeg"),
        ("JPEG", "CMYK", {}, "jpeg"),
        ("JPEG", "RGB", {"exif": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00", "dpi": (300, 300)}, "jpeg"),
        ("GIF", "P", {}, "gif"),
        ("WEBP", "RGB", {}, "webp"),  # lossy: VP8
        ("WEBP", "RGBA", {"lossless": True}, "webp"),  # VP8L
        ("WEBP", "RGB", {"exif": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"}, "webp"),  # extended: VP8X
    ],
)
def test_real_images_report_their_size(fmt: str, mode: str, options: dict[str, object], name: str) -> None:
    data = _saved(fmt, (321, 123), mode, **options)
    assert image_size(data) == ImageSize(name, 321, 123)


def test_forged_headers_report_what_they_declare() -> None:
    assert image_size(png_header(100_000, 100_000)) == ImageSize("png", 100_000, 100_000)
    jpeg = bytearray(_saved("JPEG", (10, 10)))
    sof = next(i for i in range(2, len(jpeg) - 1) if jpeg[i] == 0xFF and jpeg[i + 1] in (0xC0, 0xC2))
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)  # height, width
    assert image_size(bytes(jpeg)) == ImageSize("jpeg", 65_000, 65_000)
    webp = bytearray(_saved("WEBP", (10, 10), exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"))
    webp[24:30] = (16_383).to_bytes(3, "little") * 2  # VP8X canvas: 16384 x 16384
    assert image_size(bytes(webp)) == ImageSize("webp", 16_384, 16_384)


def test_a_gif_frame_beyond_its_logical_screen_counts() -> None:
    """A 10 x 10 screen whose one frame declares 60,000 x 60,000 at an offset: the frame is what decoders
    allocate for."""
    gif = bytearray(_saved("GIF", (10, 10), "P"))
    frame = gif.index(b"\x2c")  # the first image descriptor (PIL writes no extension before it here)
    gif[frame + 1 : frame + 9] = struct.pack("<HHHH", 5, 7, 60_000, 60_000)
    assert image_size(bytes(gif)) == ImageSize("gif", 60_005, 60_007)
    assert image_size(bytes(gif[: frame + 4])) == ImageSize("gif", 10, 10)  # a cut-short descriptor


@pytest.mark.parametrize(
    "data",
    [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a\x01", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"%PDF-1.7"],
)
def test_cut_short_or_other_files_have_no_size(data: bytes) -> None:
    assert image_size(data) is None
