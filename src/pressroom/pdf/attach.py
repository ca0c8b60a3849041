"""embed: files as PDF attachments (EmbeddedFiles name tree + /AF with an AFRelationship)."""

from __future__ import annotations

import datetime
import hashlib
import mimetypes
from typing import Literal

import pikepdf
from pikepdf.models.metadata import encode_pdf_date

Relationship = Literal["Data", "Source", "Alternative", "Supplement", "Unspecified"]


def attach(
    pdf: pikepdf.Pdf,
    name: str,
    data: bytes,
    *,
    mime_type: str | None = None,
    description: str = "",
    relationship: Relationship = "Unspecified",
) -> None:
    """Embed ``data`` as ``name``; listed in the catalog's /AF array too, as PDF/A-3 requires."""
    mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    now = encode_pdf_date(datetime.datetime.now(datetime.UTC))
    # The stub lags the runtime: AttachedFileSpec takes relationship= since pikepdf 8.
    spec = pikepdf.AttachedFileSpec(  # type: ignore[call-arg]
        pdf,
        data,
        description=description,
        filename=name,
        mime_type=mime,
        creation_date=now,
        mod_date=now,
        relationship=pikepdf.Name("/" + relationship),
    )
    pdf.attachments[name] = spec
    filespec = pdf.attachments[name].obj
    stream = filespec.EF.F
    params = stream.get("/Params", pikepdf.Dictionary())
    params.CheckSum = pikepdf.String(hashlib.md5(data).digest())  # PDF's checksum is MD5 by definition
    params.Size = len(data)
    stream.Params = params
    if "/AF" not in pdf.Root:
        pdf.Root.AF = pdf.make_indirect(pikepdf.Array())
    af = pdf.Root.AF
    if filespec.is_indirect and not any(item.is_indirect and item.objgen == filespec.objgen for item in af):
        af.append(filespec)
    elif not filespec.is_indirect:
        af.append(pdf.make_indirect(filespec))


def list_attachments(pdf: pikepdf.Pdf) -> dict[str, bytes]:
    return {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
