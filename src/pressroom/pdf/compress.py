"""compress: object streams + recompressed streams at save time, optional image downsampling/JPEG."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pikepdf
from PIL import Image


@dataclass(frozen=True)
class ImageReport:
    images_seen: int
    images_rewritten: int
    bytes_saved: int


def save_kwargs(*, object_streams: bool = True) -> dict[str, Any]:
    """qpdf's lossless part: Flate everywhere, existing Flate streams recompressed at level 9."""
    pikepdf.settings.set_flate_compression_level(9)
    return {
        "compress_streams": True,
        "recompress_flate": True,
        "stream_decode_level": pikepdf.StreamDecodeLevel.generalized,
        "object_stream_mode": pikepdf.ObjectStreamMode.generate
        if object_streams
        else pikepdf.ObjectStreamMode.preserve,
    }


def recompress_images(pdf: pikepdf.Pdf, *, quality: int = 75, max_dpi: int | None = 150) -> ImageReport:
    """Re-encode 8-bit RGB/grey images as JPEG at ``quality``, downsampled to ``max_dpi``.

    The effective resolution is estimated against the page size (an image is never shown larger than the
    page it is on), so downsampling never drops below ``max_dpi`` at the largest possible placement. An
    image is replaced only when the result is smaller; images with masks, unusual colour spaces or
    bit depths are left alone (their soft masks are kept as they are).
    """
    seen = rewritten = saved = 0
    done: set[tuple[int, int]] = set()
    for page in pdf.pages:
        box = page.mediabox
        page_w_in = abs(float(box[2]) - float(box[0])) / 72 or 1.0
        page_h_in = abs(float(box[3]) - float(box[1])) / 72 or 1.0
        for _name, raw in page.images.items():
            if raw.objgen in done:
                continue
            done.add(raw.objgen)
            seen += 1
            saved_here = _recompress(raw, quality, max_dpi, page_w_in, page_h_in)
            if saved_here > 0:
                rewritten += 1
                saved += saved_here
    return ImageReport(seen, rewritten, saved)


def _recompress(raw: pikepdf.Object, quality: int, max_dpi: int | None, page_w_in: float, page_h_in: float) -> int:
    try:
        if not isinstance(raw, pikepdf.Stream):
            return 0
        image = pikepdf.PdfImage(raw)
        if image.bits_per_component != 8 or image.colorspace not in ("/DeviceRGB", "/DeviceGray"):
            return 0
        if "/Mask" in raw or image.image_mask:
            return 0
        pil = image.as_pil_image()
    except (pikepdf.PdfError, NotImplementedError, ValueError, OSError, pikepdf.UnsupportedImageTypeError):
        return 0
    except Image.DecompressionBombError:  # a JPEG declaring more pixels than PIL decodes: left as it is
        return 0
    before = len(raw.read_raw_bytes())
    if max_dpi:
        scale = min(1.0, max_dpi * page_w_in / pil.width, max_dpi * page_h_in / pil.height)
        if scale < 0.95:
            size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
            pil = pil.resize(size, Image.Resampling.LANCZOS)
    mode = "L" if image.colorspace == "/DeviceGray" else "RGB"
    buffer = io.BytesIO()
    pil.convert(mode).save(buffer, format="JPEG", quality=quality, optimize=True)
    encoded = buffer.getvalue()
    if len(encoded) >= before:
        return 0
    raw.write(encoded, filter=pikepdf.Name.DCTDecode)
    raw.Width, raw.Height = pil.width, pil.height
    raw.ColorSpace = pikepdf.Name.DeviceGray if mode == "L" else pikepdf.Name.DeviceRGB
    raw.BitsPerComponent = 8
    # A soft mask keeps its own resolution: viewers scale it to the image, so it stays valid.
    for key in ("/DecodeParms", "/Decode"):
        if key in raw:
            del raw[key]
    return before - len(encoded)
