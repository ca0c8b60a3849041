"""Pure parsing of what users send: page expressions, PDF/A levels, Factur-X XML (safe parser), invoices."""

from __future__ import annotations

import pytest

from pressroom.core.errors import FacturxInvalid, IncompatibleOptions, InvalidPageRange, InvalidXml, PdfaNotPossible
from pressroom.pdf import facturx, pdfa, pipeline
from pressroom.pdf.split import parse_pages


@pytest.mark.parametrize(
    ("expression", "count", "expected"),
    [
        ("1-3,5,8-", 10, [0, 1, 2, 4, 7, 8, 9]),
        ("2", 3, [1]),
        ("3-1", 3, [2, 1, 0]),
        ("-2", 5, [0, 1]),
        (" 1 , 1 ", 2, [0, 0]),
    ],
)
def test_page_expressions(expression: str, count: int, expected: list[int]) -> None:
    assert parse_pages(expression, count) == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0", "out of range"),
        ("4", "out of range"),
        ("2-9", "out of range"),
        ("a", "malformed"),
        ("1 2", "malformed"),
        ("-", "malformed"),
        ("", "empty"),
        ("1,,2", "malformed"),
    ],
)
def test_bad_page_expressions_say_why(expression: str, reason: str) -> None:
    with pytest.raises(InvalidPageRange) as caught:
        parse_pages(expression, 3)
    assert caught.value.status == 422
    assert reason in str(caught.value.details)


@pytest.mark.parametrize(("value", "level"), [("PDF/A-2b", "2b"), ("pdfa-3B", "3b"), ("1a", "1a"), ("PDF/A-3u", "3u")])
def test_pdfa_levels(value: str, level: str) -> None:
    assert pdfa.normalize_level(value) == level


@pytest.mark.parametrize("value", ["PDF/A-1u", "PDF/A-4", "pdf/x-1a", "2c"])
def test_unknown_pdfa_level_is_a_422(value: str) -> None:
    with pytest.raises(PdfaNotPossible):
        pdfa.normalize_level(value)


def test_incompatible_options_name_both() -> None:
    plan = pipeline.Plan(sources=[], pdfa="2b", encrypt=pipeline.Encryption(user_password="x"))
    with pytest.raises(IncompatibleOptions) as caught:
        pipeline.check_compatible(plan)
    assert caught.value.details == {"options": ["pdf_format", "encryption"]}


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">
&x;</rsm:CrossIndustryInvoice>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><r>&lol3;</r>"""
XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><r/>"""


@pytest.mark.parametrize("xml", [XXE_FILE, LAUGHS, XXE_PARAMETER], ids=["external-file", "billion-laughs", "param"])
def test_entities_and_doctypes_are_refused_without_reading_anything(xml: bytes) -> None:
    with pytest.raises(InvalidXml) as caught:
        facturx.parse_xml_safely(xml)
    assert "root:" not in caught.value.message  # nothing of /etc/passwd leaked into the message
    assert caught.value.status == 422


INVOICE = {
    "number": "F-2026-001",
    "issue_date": "2026-03-10",
    "currency": "EUR",
    "notes": ["Merci"],
    "seller": {
        "name": "Acme SARL",
        "vat_id": "FR32123456789",
        "legal_id": "12345678900011",
        "address": {"line1": "1 rue de la Paix", "postcode": "75002", "city": "Paris", "country": "FR"},
    },
    "buyer": {"name": "Ada Ltd", "legal_id": "98765432100022", "address": {"city": "Lyon", "country": "FR"}},
    "buyer_reference": "PO-77",
    "lines": [
        {"name": "Widget", "quantity": 2, "unit_price": "9.50", "vat_rate": 20},
        {"name": "Gadget", "quantity": 1, "unit_price": 20, "vat_rate": 5.5},
    ],
    "payment": {"iban": "FR7630006000011234567890189", "due_date": "2026-04-10", "terms": "30 days"},
}


@pytest.mark.parametrize("profile", ["MINIMUM", "BASIC WL", "BASIC", "EN 16931"])
def test_json_invoice_builds_xsd_valid_xml_for_each_profile(profile: str) -> None:
    level = facturx.normalize_profile(profile)
    xml = facturx.build_xml(INVOICE, level)
    _root, declared = facturx.validate_xml(xml, level)  # the factur-x library's official XSD
    assert declared == level
    # 2 x 9.50 at 20 % + 1 x 20 at 5.5 %: net 39.00, VAT 3.80 + 1.10, total 43.90
    assert b"<ram:GrandTotalAmount>43.90</ram:GrandTotalAmount>" in xml
    assert b'<ram:TaxTotalAmount currencyID="EUR">4.90</ram:TaxTotalAmount>' in xml


def test_xml_failing_its_xsd_is_a_422_with_the_reason() -> None:
    xml = facturx.build_xml(INVOICE, "basic").replace(b"<ram:TypeCode>380</ram:TypeCode>", b"")
    with pytest.raises(FacturxInvalid) as caught:
        facturx.validate_xml(xml)
    assert "TypeCode" in caught.value.message


def test_declared_profile_must_match_the_requested_one() -> None:
    with pytest.raises(FacturxInvalid):
        facturx.validate_xml(facturx.build_xml(INVOICE, "minimum"), "en16931")
