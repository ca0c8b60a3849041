"""split: keep the pages a 1-based page expression names (``1-3,5,8-``), in the order given."""

from __future__ import annotations

import re

import pikepdf

from pressroom.core.errors import InvalidPageRange

_PART = re.compile(r"^\s*(\d+)?\s*(-)?\s*(\d+)?\s*$")


def parse_pages(expression: str, page_count: int) -> list[int]:
    """Zero-based indices for ``expression`` over a document of ``page_count`` pages.

    ``N`` one page, ``A-B`` a range (``B`` < ``A`` counts down), ``A-`` to the end, ``-B`` from the first.
    Every problem is a 422 whose details say which part and why.
    """
    if not expression or not expression.strip():
        raise InvalidPageRange("The page expression is empty", details={"pages": expression, "reason": "empty"})
    indices: list[int] = []
    for part in expression.split(","):
        match = _PART.match(part)
        if not match or (match.group(1) is None and match.group(3) is None):
            raise _bad(expression, part, "malformed part (use N, A-B, A- or -B)", page_count)
        start_text, dash, end_text = match.groups()
        if dash is None and end_text is not None:  # "12" is matched as start only; this cannot happen
            raise _bad(expression, part, "malformed part", page_count)
        start = int(start_text) if start_text is not None else 1
        end = start if dash is None else (int(end_text) if end_text is not None else page_count)
        for number in (start, end):
            if number < 1 or number > page_count:
                raise _bad(expression, part, f"page {number} is out of range 1-{page_count}", page_count)
        step = 1 if end >= start else -1
        indices.extend(number - 1 for number in range(start, end + step, step))
    return indices


def _bad(expression: str, part: str, reason: str, page_count: int) -> InvalidPageRange:
    return InvalidPageRange(
        f"Invalid page expression {expression!r}: {part.strip()!r}: {reason}",
        details={"pages": expression, "part": part.strip(), "reason": reason, "page_count": page_count},
    )


def select_pages(pdf: pikepdf.Pdf, indices: list[int]) -> pikepdf.Pdf:
    """A new document with ``pdf``'s pages at ``indices`` (repeats allowed), metadata carried over."""
    out = pikepdf.new()
    # Repeated pages need distinct page objects: copy each index on its own.
    for index in indices:
        out.add_pages_from(pdf, [index])
    if "/Info" in pdf.trailer:
        out.trailer.Info = out.copy_foreign(pdf.docinfo)
    if "/Lang" in pdf.Root:
        out.Root.Lang = pdf.Root.Lang
    return out
