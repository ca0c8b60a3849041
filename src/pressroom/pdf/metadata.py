"""metadata: title, author, subject, keywords, creator, producer, language - Info dict and XMP in sync."""

from __future__ import annotations

import datetime
from typing import Any

import pikepdf
from pikepdf.models.metadata import encode_pdf_date

FIELDS = ("title", "author", "subject", "keywords", "creator", "producer", "language")
_INFO_KEYS = {
    "title": "/Title",
    "author": "/Author",
    "subject": "/Subject",
    "keywords": "/Keywords",
    "creator": "/Creator",
    "producer": "/Producer",
}


def set_metadata(pdf: pikepdf.Pdf, values: dict[str, Any]) -> None:
    """Write the given fields into the Info dictionary, then mirror the whole Info dict into XMP.

    pikepdf's ``load_from_docinfo`` maps Info keys to their XMP twins (dc:title, dc:creator, pdf:Producer,
    xmp:CreatorTool, pdf:Keywords, dc:description...), so both places say the same thing - which PDF/A
    requires and which readers that prefer one or the other both honour.
    """
    info = pdf.docinfo
    for field, key in _INFO_KEYS.items():
        value = values.get(field)
        if value is not None:
            info[key] = pikepdf.String(str(value))
    info["/ModDate"] = pikepdf.String(encode_pdf_date(datetime.datetime.now(datetime.UTC)))
    language = values.get("language")
    if language:
        pdf.Root.Lang = pikepdf.String(str(language))
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta.load_from_docinfo(info, delete_missing=False, raise_failure=False)
        if language:
            meta["dc:language"] = [str(language)]


def read_metadata(pdf: pikepdf.Pdf) -> dict[str, str]:
    info = pdf.docinfo
    found = {field: str(info[key]) for field, key in _INFO_KEYS.items() if key in info}
    if "/Lang" in pdf.Root:
        found["language"] = str(pdf.Root.Lang)
    return found
