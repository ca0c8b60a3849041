"""Fonts: what the OS provides by name, and uploaded font files made usable by family name.

Installed fonts (``make install`` puts DejaVu, Liberation, Noto core and Inter on Debian) are found by both
engines through fontconfig, by family name. Uploaded TTF/OTF/WOFF/WOFF2 files become ``@font-face`` rules
pointing at their asset URL (or a ``data:`` URL for Chromium's header/footer bands, which load nothing).
"""

from __future__ import annotations

import base64
import importlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

# fontTools ships no type information.
_ttlib: Any = importlib.import_module("fontTools.ttLib")

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


def inspect_font(data: bytes) -> FontInfo | None:
    """Format, family, weight and style read from the font's own tables; None when it is not a font."""
    kind = font_format(data)
    if kind is None:
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
