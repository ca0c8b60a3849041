"""The display file name sanitizer and the RFC 6266 / RFC 5987 Content-Disposition builder (issue #12, item 1)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from werkzeug.http import parse_options_header

from pressroom.core.filenames import (
    MAX_FILENAME_BYTES,
    MAX_FILENAME_CHARS,
    StorableName,
    ascii_fallback,
    content_disposition,
    safe_filename,
    unsafe_name_reason,
)


def _parsed_filename(header: str) -> str | None:
    """What an independent RFC 6266 parser (werkzeug's, which prefers ``filename*``) reads as the name."""
    disposition, params = parse_options_header(header)
    assert disposition in ("attachment", "inline")
    return params.get("filename")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Счёт", "Счёт.pdf"),  # no ASCII letter at all: kept, not replaced by the default
        ("請求書", "請求書.pdf"),
        ("Résumé 2026", "Résumé 2026.pdf"),
        ("inv-001", "inv-001.pdf"),
        ("inv-001.PDF", "inv-001.pdf"),  # the extension is not doubled
        ("/../../x", "x.pdf"),  # no path survives
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j.pdf"),
        ("a\x00b", "ab.pdf"),  # NUL and other controls are dropped
        ("tab\there\nnew", "tab here new.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe.pdf"),  # a bidi override cannot disguise the extension
        ("  .hidden  ", "hidden.pdf"),
        ("e\u0301te\u0301", "été.pdf"),  # NFC: one code point per accented letter
        ("lone\ud800surrogate", "lonesurrogate.pdf"),
    ],
)
def test_safe_filename_keeps_unicode_and_drops_what_is_dangerous(name: str, expected: str) -> None:
    assert safe_filename(name, "Invoice") == expected


@pytest.mark.parametrize("name", ["", "..", ".", "/", "/../../", "\x00", "   ", "\u202e", "._ ._"])
def test_safe_filename_falls_back_to_the_default_then_to_document(name: str) -> None:
    assert safe_filename(name, "Invoice") == "Invoice.pdf"
    assert safe_filename(None, name) == "document.pdf"  # a template name that cleans to nothing
    assert safe_filename(name, name) == "document.pdf"


@pytest.mark.parametrize("name", ["x" * 5000, "名" * 5000, "é" * 300 + "tail", "e\u0301" * 400])
def test_safe_filename_is_bounded_in_characters_and_bytes(name: str) -> None:
    result = safe_filename(name, "Invoice")
    assert result.endswith(".pdf") and len(result) > len(".pdf")
    assert len(result) <= MAX_FILENAME_CHARS and len(result.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert safe_filename(result, "Invoice") == result  # idempotent: cleaning a clean name changes nothing


def test_safe_filename_without_extension() -> None:
    assert safe_filename("report.tar.gz", "attachment", extension="") == "report.tar.gz"
    assert safe_filename("..", "attachment", extension="") == "attachment"


@pytest.mark.parametrize(
    ("filename", "fallback"),
    [
        ("invoice.pdf", "invoice.pdf"),
        ("Résumé.pdf", "Resume.pdf"),
        ("Счёт.pdf", "document.pdf"),
        ("請求書 2026.pdf", "2026.pdf"),
        ('quote"and\\slash.pdf', "quote_and_slash.pdf"),
        ("100% ok;yes.pdf", "100_ ok_yes.pdf"),
    ],
)
def test_content_disposition_has_an_ascii_fallback_and_the_exact_name(filename: str, fallback: str) -> None:
    header = content_disposition(filename)
    assert header.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
    header.encode("latin-1")  # an HTTP header value: nothing a server could fail to encode
    assert all(0x20 < ord(c) < 0x7F or c == " " for c in header)
    assert ascii_fallback(filename) == fallback
    # A real parser prefers filename* and gets the exact (cleaned) name: Unicode intact, '"' and '\\' replaced.
    assert _parsed_filename(header) == safe_filename(filename, None, extension="")
    assert _parsed_filename(header) == filename or '"' in filename


def test_content_disposition_inline_and_unsafe_stored_names() -> None:
    assert content_disposition("a.pdf", "inline") == "inline; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"
    # A name stored before names were cleaned (a path, a NUL, a CR/LF header injection) is cleaned on the way out.
    header = content_disposition("../../evil\r\nSet-Cookie: x=1\x00.pdf")
    assert "\r" not in header and "\n" not in header and "/" not in header.split("filename*")[0]
    assert _parsed_filename(header) == "evil Set-Cookie_ x=1.pdf"  # CR/LF became one space
    with pytest.raises(ValueError):
        content_disposition("a.pdf", "form-data")


def test_unsafe_name_reason_and_the_storable_name_type() -> None:
    assert unsafe_name_reason("Счёт /../ \u202e ok") is None
    assert unsafe_name_reason("a\x00b") is not None and unsafe_name_reason("a\udc00") is not None

    class Named(BaseModel):
        name: StorableName

    assert Named(name="請求書").name == "請求書"
    for bad in ("a\x00b", "x\ud800"):
        with pytest.raises(ValidationError):
            Named(name=bad)
