"""Fixtures-free helpers for the rendering suites: test images and fonts, poppler readings of PDFs."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image

DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TEST_FAMILY = "Pressroom Test Sans"


def png(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def renamed_font(family: str = TEST_FAMILY, flavor: str | None = None) -> bytes:
    """DejaVu Sans under another family (and PostScript) name: a font no fontconfig knows, so text set in it
    can only come from the uploaded file; ``pdffonts`` shows its PostScript name."""
    font = TTFont(str(DEJAVU_SANS))
    postscript = family.replace(" ", "")
    for record in font["name"].names:
        if record.nameID in (1, 16) or record.nameID == 4:
            record.string = family
        elif record.nameID == 6:
            record.string = postscript
    font.flavor = flavor
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        command = [tool, *args, handle.name] + (["-"] if tool == "pdftotext" else [])
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def text(pdf: bytes, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return _poppler("pdftotext", pdf, "-layout", *pages)


def fonts(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts rows: name, type, emb (yes/no)."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    rows = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 5:
            # name type [encoding...] emb sub uni object ID: the three yes/no columns come before "object ID".
            flags = [p for p in parts if p in ("yes", "no")]
            rows.append({"name": parts[0], "emb": flags[0] if flags else "?"})
    return rows


def image_count(pdf: bytes) -> int:
    return len(image_sizes(pdf))


def image_sizes(pdf: bytes) -> list[tuple[int, int]]:
    """(width, height) in pixels of every image drawn (pdfimages -list)."""
    rows = _poppler("pdfimages", pdf, "-list").splitlines()[2:]
    return [(int(row.split()[3]), int(row.split()[4])) for row in rows]


def pages(pdf: bytes) -> int:
    for line in _poppler("pdfinfo", pdf).splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise AssertionError("pdfinfo printed no page count")
