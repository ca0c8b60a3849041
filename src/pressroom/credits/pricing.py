"""Prices in credits, computed from a job's request before it runs (a documented table in settings)."""

from __future__ import annotations

from typing import Any

from pressroom.config import PricingSettings


def price(pricing: PricingSettings, operation: str, request: dict[str, Any]) -> int:
    """Base price of the operation plus each priced option present in ``request["options"]["pdf"]``.

    List-valued options (attachments, embed_files) cost their price once per item; merge sources beyond
    the first two count as attachments.
    """
    total = pricing.base.get(operation, 1)
    options = request.get("options") or {}
    pdf_options = options.get("pdf") if isinstance(options, dict) else None
    for name, value in (pdf_options or {}).items() if isinstance(pdf_options, dict) else ():
        unit = pricing.options.get(name)
        if unit is None or value in (None, False, "", [], {}):
            continue
        total += unit * (len(value) if isinstance(value, list) else 1)
    sources = request.get("sources")
    if operation == "merge" and isinstance(sources, list) and len(sources) > 2:
        total += pricing.options.get("attachments", 0) * (len(sources) - 2)
    return total


def used_options(operation: str, request: dict[str, Any]) -> set[str]:
    """Option names a plan may forbid: the ``options.pdf`` keys set, plus the operation's own capability."""
    names: set[str] = set()
    options = request.get("options") or {}
    pdf_options = options.get("pdf") if isinstance(options, dict) else None
    if isinstance(pdf_options, dict):
        names |= {name for name, value in pdf_options.items() if value not in (None, False, "", [], {})}
    names |= {"encrypt": {"encryption"}, "sign": {"sign"}, "pdfa": {"pdf_format"}, "facturx": {"factur_x"}}.get(
        operation, set()
    )
    if "password" in names:
        names.add("encryption")
    return names
