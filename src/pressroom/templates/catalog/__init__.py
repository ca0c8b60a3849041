"""Starter templates shipped with Pressroom (package data): one directory per template with
``template.json`` (name, description, options, sample data), ``body.hbs`` and ``style.css``.

Each renders well in both engines (plain CSS that Chromium and WeasyPrint lay out alike); previews of
their first pages are in docs/catalog/. An entry's fields are those of ``POST /v1/templates``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel

SLUGS = ("invoice", "quote", "receipt", "letter", "certificate", "report", "shipping-label")


class CatalogTemplate(BaseModel):
    slug: str
    name: str
    description: str
    body: str
    css: str
    options: dict[str, Any]
    sample_data: dict[str, Any]
    engines: list[str] = ["chromium", "weasyprint"]


@cache
def load_catalog() -> tuple[CatalogTemplate, ...]:
    root = resources.files(__name__)
    entries = []
    for slug in SLUGS:
        folder = root.joinpath(slug)
        meta = json.loads(folder.joinpath("template.json").read_text(encoding="utf-8"))
        entries.append(
            CatalogTemplate(
                slug=slug,
                body=folder.joinpath("body.hbs").read_text(encoding="utf-8"),
                css=folder.joinpath("style.css").read_text(encoding="utf-8"),
                **meta,
            )
        )
    return tuple(entries)
