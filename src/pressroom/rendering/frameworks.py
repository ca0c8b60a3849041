"""CSS frameworks served locally (package data), never from a CDN at render time.

``tailwind``: the Tailwind v4 browser build (``@tailwindcss/browser``) runs inside the page and compiles the
utilities the document uses - Chromium only (WeasyPrint runs no JavaScript). ``bootstrap``: Bootstrap's CSS,
for both engines. Both are fetched from the npm registry at development time and vendored with their
licences (``rendering/static/README.md``); they are served under ``<asset_prefix>_pressroom/``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from pressroom.rendering.base import StaticAsset

Framework = Literal["none", "tailwind", "bootstrap"]
BUILTIN_DIR = "_pressroom/"
_FILES = {
    "tailwind.browser.js": ("tailwind/tailwind.browser.js", "text/javascript"),
    "bootstrap.min.css": ("bootstrap/bootstrap.min.css", "text/css"),
}
# Tailwind's browser build compiles asynchronously after the scripts ran; it marks the end of each build
# with a performance measure, which is what the renderer waits for before printing.
TAILWIND_READY = "performance.getEntriesByName('Build utilities', 'measure').length > 0"


@cache
def _read(name: str) -> bytes:
    path, _ = _FILES[name]
    return resources.files("pressroom.rendering").joinpath("static", path).read_bytes()


def builtin_asset(url: str, prefix: str) -> StaticAsset | None:
    """The framework file behind ``url`` (``<prefix>_pressroom/<name>``), or None."""
    if not url.startswith(prefix + BUILTIN_DIR):
        return None
    name = url[len(prefix) + len(BUILTIN_DIR) :].split("?", 1)[0]
    if name not in _FILES:
        return None
    return StaticAsset(content_type=_FILES[name][1], data=_read(name))


def head_tags(framework: Framework, prefix: str) -> str:
    """What goes first in ``<head>`` (so the template's own CSS, injected later, wins ties)."""
    base = prefix + BUILTIN_DIR
    if framework == "bootstrap":
        return f'<link rel="stylesheet" href="{base}bootstrap.min.css">'
    if framework == "tailwind":
        return f'<script src="{base}tailwind.browser.js"></script>'
    return ""
