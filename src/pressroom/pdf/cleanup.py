"""Harmless leftovers some producers write, removed before validation."""

from __future__ import annotations

import pikepdf


def drop_empty_resources(document: pikepdf.Pdf) -> int:
    """Delete empty /Pattern and /Shading resource dictionaries (WeasyPrint writes them on every page and
    form). They mean nothing, but PDF/A validators cannot vouch for them. Returns how many were removed."""
    removed = 0
    for obj in document.objects:
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        resources = obj.get("/Resources")
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        for key in ("/Pattern", "/Shading"):
            value = resources.get(key)
            if isinstance(value, pikepdf.Dictionary) and len(value) == 0:
                del resources[key]
                removed += 1
    return removed
