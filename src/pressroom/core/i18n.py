"""Error messages in English and French, chosen by Accept-Language.

Messages are keyed by error code; an error raised with a specific message keeps it in English (it usually
names the offending value) and the catalogue supplies the localized summary for other languages.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SUPPORTED = ("en", "fr")


@cache
def _catalogue(lang: str) -> dict[str, str]:
    path = Path(__file__).parent / "locales" / f"{lang}.json"
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported language from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return "en"
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, index, tag.split("-")[0]))
    for negative_quality, _, lang in sorted(ranked):
        if negative_quality < 0 and lang in SUPPORTED:
            return lang
    return "en"


def translate(code: str, lang: str, fallback: str) -> str:
    if lang == "en":
        return fallback
    return _catalogue(lang).get(code, fallback)
