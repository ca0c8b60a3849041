"""PDF/A: conversion and validation with pikepdf's PDF/A module (an allowlist validator built from the
veraPDF rule catalogue - Pressroom does not judge its own output).

Levels 1b/2b/3b are produced by ``pikepdf.pdfa.save``: it adds the XMP identification and an sRGB
OutputIntent, adds CIDSets, fixes annotation print flags, then *re-reads the written bytes and validates
them*. Any finding (a violation, or a construct the validator cannot vouch for) makes the conversion a
422 ``PDFA_NOT_POSSIBLE`` that lists the findings - never a silently lower level.

The ``u`` levels (2u, 3u) add "every font maps to Unicode"; the ``a`` levels (1a, 2a, 3a) add "the
document is tagged (structure tree, MarkInfo) and declares its language". Pressroom checks those
prerequisites itself, validates the file against the matching ``b`` rules, then declares the stronger
conformance. The full accessibility semantics of level ``a`` (reading order, alt text) are not machine-
checked here: see docs/pdf-operations.md.
"""

from __future__ import annotations

import io
import re
from typing import Any, Literal

import pikepdf

from pressroom.core.errors import PdfaNotPossible
from pressroom.pdf.cleanup import drop_empty_resources

Level = Literal["1a", "1b", "2a", "2b", "2u", "3a", "3b", "3u"]
LEVELS: tuple[str, ...] = ("1a", "1b", "2a", "2b", "2u", "3a", "3b", "3u")
_LEVEL = re.compile(r"^(?:pdf/?a-?)?([123])-?([abu])$", re.IGNORECASE)

# Findings the validator reports on PDF/A-3 constructs it does not model (attachments, XMP extension
# schemas, the 1.7 page mode that shows them); everything else it reports is a real refusal.
_EXTENSION_NAMESPACES = ("pdfaExtension", "pdfaSchema", "pdfaProperty", "pdfaType", "pdfaField", "fx")


def normalize_level(value: str) -> Level:
    """'PDF/A-2b', 'pdfa-2b', '2B', '2b' -> '2b'; an unknown level is a 422 listing the supported ones."""
    match = _LEVEL.match(value.strip().replace(" ", ""))
    level = f"{match.group(1)}{match.group(2).lower()}" if match else ""
    if level not in LEVELS:
        raise PdfaNotPossible(
            f"Unknown PDF/A level {value!r}", details={"pdf_format": value, "supported": [f"PDF/A-{x}" for x in LEVELS]}
        )
    return level  # type: ignore[return-value]


def _fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    found: dict[tuple[int, int], pikepdf.Object] = {}
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        if resources is None:
            continue
        fonts = resources.get("/Font")
        if fonts is None:
            continue
        for _name, font in fonts.items():
            found[font.objgen if font.is_indirect else (id(font), 0)] = font
    return list(found.values())


def prerequisites(pdf: pikepdf.Pdf, level: Level) -> list[str]:
    """Why ``level`` cannot be honoured for this document (empty when it can be attempted)."""
    problems: list[str] = []
    if pdf.is_encrypted:
        problems.append("PDF/A forbids encryption")
    if level[0] in "12" and len(pdf.attachments):
        problems.append(f"PDF/A-{level[0]} does not allow arbitrary embedded files (use PDF/A-3b)")
    if level[1] in "ua":
        missing = [str(font.get("/BaseFont", "?")) for font in _fonts(pdf) if "/ToUnicode" not in font]
        if missing:
            problems.append(f"PDF/A-{level} needs a Unicode map for every font; missing for {', '.join(missing[:5])}")
    if level[1] == "a":
        mark_info = pdf.Root.get("/MarkInfo")
        marked = isinstance(mark_info, pikepdf.Dictionary) and bool(mark_info.get("/Marked", False))
        if "/StructTreeRoot" not in pdf.Root or not marked:
            problems.append(
                f"PDF/A-{level} needs a tagged PDF (structure tree); this document is not tagged "
                "(render it with options.tagged=true, or ask for a 'b' level)"
            )
        if "/Lang" not in pdf.Root:
            problems.append(f"PDF/A-{level} needs the document language (set metadata.language)")
    return problems


def _clean(pdf: pikepdf.Pdf, level: Level) -> None:
    """Remove harmless keys Chromium/Skia and WeasyPrint write that the validator cannot vouch for."""
    drop_empty_resources(pdf)
    preferences = pdf.Root.get("/ViewerPreferences")
    if isinstance(preferences, pikepdf.Dictionary) and "/Type" in preferences:
        del preferences["/Type"]  # not a ViewerPreferences key in any PDF version
    if level[0] == "1":
        for page in pdf.pages:
            if "/Tabs" in page.obj:  # PDF 1.5 key; meaningless in a 1.4 file
                del page.obj["/Tabs"]


def _findings(report: Any) -> list[dict[str, str]]:
    return [{"rule": f.rule, "kind": f.kind, "where": f.where, "message": f.message[:300]} for f in report.findings]


def convert(pdf: pikepdf.Pdf, level: Level, save_kwargs: dict[str, Any] | None = None) -> bytes:
    """Make ``pdf`` PDF/A at ``level`` and return the validated bytes (422 with the findings otherwise)."""
    from pikepdf import pdfa as engine

    problems = prerequisites(pdf, level)
    if problems:
        raise PdfaNotPossible(
            f"PDF/A-{level} cannot be honoured: {'; '.join(problems)}",
            details={"pdf_format": f"PDF/A-{level}", "reasons": problems},
        )
    _clean(pdf, level)
    flavour = f"{level[0]}b"
    kwargs = dict(save_kwargs or {})
    if level[0] == "1":  # PDF 1.4: no object streams (compress still recompresses the streams)
        kwargs.pop("object_stream_mode", None)
    buffer = io.BytesIO()
    try:
        engine.save(pdf, buffer, flavour, **kwargs)
    except engine.PdfaError as exc:
        findings = _findings(exc.report)
        summary = "; ".join(f"{f['message']} ({f['where']})" for f in findings[:5])
        raise PdfaNotPossible(
            f"PDF/A-{level} cannot be honoured for this document: {summary}",
            details={"pdf_format": f"PDF/A-{level}", "findings": findings[:50]},
        ) from None
    data = buffer.getvalue()
    if level[1] != "b":
        data = _declare_conformance(data, level[1].upper())
    return data


def _declare_conformance(data: bytes, conformance: str) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["pdfaid:conformance"] = conformance
        out = io.BytesIO()
        pdf.save(out, preserve_pdfa=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()


def validate(data: bytes, flavour: str, *, allow_attachments: bool = False) -> list[dict[str, str]]:
    """Findings of the validator on ``data`` (empty = passed). With ``allow_attachments`` the validator's
    known blind spots on PDF/A-3 attachments and XMP extension schemas are filtered out."""
    from pikepdf import pdfa as engine

    report = engine.validate_written(io.BytesIO(data), flavour)
    findings = _findings(report)
    if allow_attachments:
        findings = [f for f in findings if not _known_gap(f)]
    return findings


def _known_gap(finding: dict[str, str]) -> bool:
    if finding["rule"] == "pikepdf:embedded-file":
        return True
    if finding["rule"] == "pikepdf:schema-Catalog" and "/UseAttachments" in finding["message"]:
        return True
    if finding["rule"].endswith("6.6.2.3.1-1"):
        message = finding["message"]
        return any(f"namespace {ns}=" in message or f"property {ns}:" in message for ns in _EXTENSION_NAMESPACES)
    return False


def pdfa_identification(data: bytes) -> tuple[str | None, str | None]:
    """(part, conformance) from the XMP, for reports and tests."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        meta = pdf.open_metadata()
        return meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
