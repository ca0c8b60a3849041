"""preview: one page as a PNG at a given DPI, rendered by PDFium."""

from __future__ import annotations

import io

import pypdfium2 as pdfium  # type: ignore[import-untyped]

from pressroom.core.errors import InvalidPageRange, InvalidPdf, PdfEncrypted, WrongPassword


def render_png(data: bytes, page_number: int = 1, dpi: int = 96, password: str | None = None) -> tuple[bytes, int, int]:
    """PNG bytes of page ``page_number`` (1-based) at ``dpi``; returns (png, width_px, height_px)."""
    try:
        document = pdfium.PdfDocument(data, password=password or None)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            if password:
                raise WrongPassword("The password does not open this PDF") from None
            raise PdfEncrypted("The PDF is encrypted: give its password") from None
        raise InvalidPdf(f"The PDF cannot be read: {exc}") from None
    try:
        count = len(document)
        if not 1 <= page_number <= count:
            raise InvalidPageRange(
                f"Page {page_number} is out of range 1-{count}",
                details={"page": page_number, "page_count": count},
            )
        page = document[page_number - 1]
        try:
            bitmap = page.render(scale=dpi / 72, draw_annots=True, may_draw_forms=True)
            image = bitmap.to_pil()
        finally:
            page.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
        return buffer.getvalue(), image.width, image.height
    finally:
        document.close()
