"""Factur-X: safe XML parsing, XSD validation per profile, CII XML built from a JSON invoice, embedding.

The XML is tenant input. It is parsed with a parser that loads no DTD, resolves no entity and reaches no
network; any DOCTYPE at all is refused (a Factur-X invoice never has one), so external entities and
entity-expansion bombs are rejected before anything is expanded or read. Validation uses the official
XSDs shipped with the ``factur-x`` library; embedding (``factur-x.xml`` with its AFRelationship, the XMP
``fx:`` extension schema) is done by that library too, on a document already made PDF/A-3b.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from lxml import etree  # type: ignore[import-untyped]

from pressroom.core.errors import FacturxInvalid, InvalidXml

Profile = Literal["minimum", "basicwl", "basic", "en16931"]
PROFILES: tuple[Profile, ...] = ("minimum", "basicwl", "basic", "en16931")
GUIDELINE = {
    "minimum": "urn:factur-x.eu:1p0:minimum",
    "basicwl": "urn:factur-x.eu:1p0:basicwl",
    "basic": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    "en16931": "urn:cen.eu:en16931:2017",
}
# The profile names users write (BASIC WL, EN 16931...) -> the library's level names.
PROFILE_ALIASES = {
    "minimum": "minimum",
    "basicwl": "basicwl",
    "basic wl": "basicwl",
    "basic_wl": "basicwl",
    "basic-wl": "basicwl",
    "basic": "basic",
    "en16931": "en16931",
    "en 16931": "en16931",
    "en_16931": "en16931",
    "en-16931": "en16931",
    "comfort": "en16931",
}
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "qdt": QDT, "udt": UDT}
MAX_XML_BYTES = 5 * 1024 * 1024


def normalize_profile(value: str) -> Profile:
    profile = PROFILE_ALIASES.get(value.strip().lower())
    if profile is None:
        raise FacturxInvalid(
            f"Unknown Factur-X profile {value!r}", details={"profile": value, "supported": list(PROFILES)}
        )
    return profile  # type: ignore[return-value]


def parse_xml_safely(xml: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, no huge trees; a DOCTYPE is refused."""
    if len(xml) > MAX_XML_BYTES:
        raise InvalidXml(f"The XML exceeds {MAX_XML_BYTES} bytes", details={"max_bytes": MAX_XML_BYTES})
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidXml(f"The XML is not well-formed: {exc}", details={"reason": str(exc)[:300]}) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InvalidXml(
            "The XML declares a DOCTYPE; DTDs and entities are not allowed in a Factur-X invoice",
            details={"reason": "doctype"},
        )
    for node in root.iter():
        if isinstance(node, etree._Entity):  # an unresolved entity reference left in the tree
            raise InvalidXml("The XML uses entity references", details={"reason": "entity"})
    return root


def detect_profile(root: etree._Element) -> Profile:
    ids = root.xpath(
        "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        namespaces=NSMAP,
    )
    if not ids:
        raise FacturxInvalid(
            "The XML is not a Factur-X (CII) invoice: no guideline ID", details={"reason": "no-guideline"}
        )
    guideline = (ids[0].text or "").strip()
    for profile in PROFILES:
        if guideline == GUIDELINE[profile]:
            return profile
    raise FacturxInvalid(
        f"Unsupported Factur-X guideline {guideline!r}",
        details={"guideline": guideline, "supported": list(GUIDELINE.values())},
    )


def validate_xml(xml: bytes, profile: Profile | None = None) -> tuple[etree._Element, Profile]:
    """Safe parse + XSD validation of the profile (declared in the XML, must match ``profile`` if given)."""
    from facturx import xml_check_xsd  # type: ignore[import-untyped]

    root = parse_xml_safely(xml)
    declared = detect_profile(root)
    if profile is not None and declared != profile:
        raise FacturxInvalid(
            f"The XML declares profile {declared} but {profile} was requested",
            details={"declared": declared, "requested": profile},
        )
    try:
        xml_check_xsd(root, flavor="factur-x", level=declared)
    except Exception as exc:  # the library raises bare Exception with the XSD error text
        raise FacturxInvalid(
            f"The Factur-X XML does not validate against the {declared} XSD: {_xsd_reason(exc)}",
            details={"profile": declared, "reason": _xsd_reason(exc)},
        ) from None
    return root, declared


def _xsd_reason(exc: Exception) -> str:
    text = str(exc)
    marker = "the cause of the problem: "
    return (text.split(marker, 1)[1] if marker in text else text)[:500]


def embed(
    pdfa3_bytes: bytes,
    xml: bytes,
    profile: Profile,
    *,
    relationship: str = "Data",
    lang: str | None = None,
    metadata: dict[str, str] | None = None,
) -> bytes:
    """Attach ``factur-x.xml`` to a PDF/A-3b document and declare it in XMP (pdfaid + fx: schema).

    The library writes the attachment, /AF, the AFRelationship and an XMP packet with the Factur-X
    extension schema; its rdf:Description elements lack the rdf:about attribute XMP requires, which is
    added here so that PDF/A validators keep reading them.
    """
    import io

    import pikepdf
    from facturx import generate_from_binary

    combined = generate_from_binary(
        pdfa3_bytes,
        xml,
        flavor="factur-x",
        level=profile,
        check_xsd=False,  # validated by validate_xml, with the safe parser
        pdf_metadata=metadata or None,
        lang=lang,
        afrelationship=relationship.lower(),
        xmp_compression=False,
    )
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    with pikepdf.open(io.BytesIO(combined)) as pdf:
        packet = etree.fromstring(pdf.Root.Metadata.read_bytes())  # written by the library, not by a tenant
        for description in packet.iter(f"{{{rdf}}}Description"):
            if f"{{{rdf}}}about" not in description.attrib:
                description.set(f"{{{rdf}}}about", "")
        pdf.Root.Metadata.write(etree.tostring(packet, encoding="utf-8"))
        out = io.BytesIO()
        pdf.save(out, preserve_pdfa=True)
        return out.getvalue()


# -- the JSON invoice model -> CII XML ----------------------------------------------------------------
def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _date(value: str) -> str:
    digits = value.replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        raise FacturxInvalid(f"Invalid date {value!r}: use YYYY-MM-DD", details={"date": value})
    return digits


class _Builder:
    def __init__(self) -> None:
        self.root = etree.Element(etree.QName(RSM, "CrossIndustryInvoice"), nsmap=NSMAP)

    @staticmethod
    def sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        node = etree.SubElement(parent, etree.QName(ns, tag), attrs)
        if text is not None:
            node.text = text
        return node


def build_xml(invoice: dict[str, Any], profile: Profile) -> bytes:
    """CII XML for ``profile`` from the documented JSON invoice model (see docs/pdf-operations.md).

    Totals and the VAT breakdown are computed from the lines (2-decimal rounding per line, VAT per rate);
    MINIMUM and BASIC WL carry no lines in the XML but still derive their totals from them.
    """
    b = _Builder()
    s = b.sub
    level = PROFILES.index(profile)
    currency = str(invoice.get("currency", "EUR"))
    lines = list(invoice.get("lines") or [])
    if not lines:
        raise FacturxInvalid("The invoice needs at least one line", details={"field": "lines"})

    context = s(b.root, RSM, "ExchangedDocumentContext")
    s(s(context, RAM, "GuidelineSpecifiedDocumentContextParameter"), RAM, "ID", GUIDELINE[profile])
    document = s(b.root, RSM, "ExchangedDocument")
    s(document, RAM, "ID", str(invoice["number"]))
    s(document, RAM, "TypeCode", str(invoice.get("type_code", "380")))
    issue = s(document, RAM, "IssueDateTime")
    s(issue, UDT, "DateTimeString", _date(str(invoice["issue_date"])), format="102")
    if level >= 1:
        for note in invoice.get("notes") or []:
            s(s(document, RAM, "IncludedNote"), RAM, "Content", str(note))

    transaction = s(b.root, RSM, "SupplyChainTradeTransaction")
    computed: list[tuple[Decimal, str, Decimal]] = []  # (net, category, rate)
    for number, line in enumerate(lines, start=1):
        quantity = Decimal(str(line.get("quantity", 1)))
        price = Decimal(str(line["unit_price"]))
        net = _money(quantity * price)
        category = str(line.get("vat_category", "S"))
        rate = Decimal(str(line.get("vat_rate", "20")))
        computed.append((net, category, rate))
        if level < 2:
            continue
        item = s(transaction, RAM, "IncludedSupplyChainTradeLineItem")
        s(s(item, RAM, "AssociatedDocumentLineDocument"), RAM, "LineID", str(line.get("id", number)))
        product = s(item, RAM, "SpecifiedTradeProduct")
        if level >= 3 and line.get("seller_id"):
            s(product, RAM, "SellerAssignedID", str(line["seller_id"]))
        s(product, RAM, "Name", str(line["name"]))
        if level >= 3 and line.get("description"):
            s(product, RAM, "Description", str(line["description"]))
        agreement = s(item, RAM, "SpecifiedLineTradeAgreement")
        s(s(agreement, RAM, "NetPriceProductTradePrice"), RAM, "ChargeAmount", f"{price:f}")
        delivery = s(item, RAM, "SpecifiedLineTradeDelivery")
        s(delivery, RAM, "BilledQuantity", f"{quantity:f}", unitCode=str(line.get("unit_code", "C62")))
        settlement = s(item, RAM, "SpecifiedLineTradeSettlement")
        tax = s(settlement, RAM, "ApplicableTradeTax")
        s(tax, RAM, "TypeCode", "VAT")
        s(tax, RAM, "CategoryCode", category)
        if category != "E" or rate:
            s(tax, RAM, "RateApplicablePercent", f"{rate:f}")
        summation = s(settlement, RAM, "SpecifiedTradeSettlementLineMonetarySummation")
        s(summation, RAM, "LineTotalAmount", _amount(net))

    agreement = s(transaction, RAM, "ApplicableHeaderTradeAgreement")
    if invoice.get("buyer_reference"):
        s(agreement, RAM, "BuyerReference", str(invoice["buyer_reference"]))
    _party(b, agreement, "SellerTradeParty", invoice["seller"], level, seller=True)
    _party(b, agreement, "BuyerTradeParty", invoice["buyer"], level, seller=False)
    if invoice.get("order_reference"):
        s(s(agreement, RAM, "BuyerOrderReferencedDocument"), RAM, "IssuerAssignedID", str(invoice["order_reference"]))
    delivery = s(transaction, RAM, "ApplicableHeaderTradeDelivery")
    if level >= 1 and invoice.get("delivery_date"):
        event = s(delivery, RAM, "ActualDeliverySupplyChainEvent")
        occurrence = s(event, RAM, "OccurrenceDateTime")
        s(occurrence, UDT, "DateTimeString", _date(str(invoice["delivery_date"])), format="102")

    settlement = s(transaction, RAM, "ApplicableHeaderTradeSettlement")
    s(settlement, RAM, "InvoiceCurrencyCode", currency)
    payment = invoice.get("payment") or {}
    if level >= 1 and payment.get("iban"):
        means = s(settlement, RAM, "SpecifiedTradeSettlementPaymentMeans")
        s(means, RAM, "TypeCode", str(payment.get("means_code", "58")))
        s(s(means, RAM, "PayeePartyCreditorFinancialAccount"), RAM, "IBANID", str(payment["iban"]).replace(" ", ""))

    breakdown: dict[tuple[str, Decimal], Decimal] = {}
    for net, category, rate in computed:
        breakdown[(category, rate)] = breakdown.get((category, rate), Decimal(0)) + net
    tax_total = Decimal(0)
    for (category, rate), basis in sorted(breakdown.items(), key=lambda item: (item[0][0], item[0][1])):
        vat = _money(basis * rate / 100)
        tax_total += vat
        if level < 1:
            continue
        tax = s(settlement, RAM, "ApplicableTradeTax")
        s(tax, RAM, "CalculatedAmount", _amount(vat))
        s(tax, RAM, "TypeCode", "VAT")
        if category == "E":
            s(tax, RAM, "ExemptionReason", str(invoice.get("vat_exemption_reason", "Exempt")))
        s(tax, RAM, "BasisAmount", _amount(basis))
        s(tax, RAM, "CategoryCode", category)
        s(tax, RAM, "RateApplicablePercent", f"{rate:f}")
    if level >= 1 and (payment.get("due_date") or payment.get("terms")):
        terms = s(settlement, RAM, "SpecifiedTradePaymentTerms")
        if payment.get("terms"):
            s(terms, RAM, "Description", str(payment["terms"]))
        if payment.get("due_date"):
            due = s(terms, RAM, "DueDateDateTime")
            s(due, UDT, "DateTimeString", _date(str(payment["due_date"])), format="102")

    line_total = sum((net for net, _, _ in computed), Decimal(0))
    grand = line_total + tax_total
    prepaid = _money(invoice.get("prepaid", 0))
    summation = s(settlement, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation")
    if level >= 1:
        s(summation, RAM, "LineTotalAmount", _amount(line_total))
    s(summation, RAM, "TaxBasisTotalAmount", _amount(line_total))
    s(summation, RAM, "TaxTotalAmount", _amount(tax_total), currencyID=currency)
    s(summation, RAM, "GrandTotalAmount", _amount(grand))
    if level >= 1 and prepaid:
        s(summation, RAM, "TotalPrepaidAmount", _amount(prepaid))
    s(summation, RAM, "DuePayableAmount", _amount(grand - prepaid))
    return bytes(etree.tostring(b.root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _party(b: _Builder, parent: etree._Element, tag: str, party: dict[str, Any], level: int, *, seller: bool) -> None:
    s = b.sub
    node = s(parent, RAM, tag)
    s(node, RAM, "Name", str(party["name"]))
    if party.get("legal_id"):
        organization = s(node, RAM, "SpecifiedLegalOrganization")
        s(organization, RAM, "ID", str(party["legal_id"]), schemeID=str(party.get("legal_id_scheme", "0002")))
    address = party.get("address") or {}
    if seller or level >= 1:
        if seller and not address.get("country"):
            raise FacturxInvalid(
                "The seller needs address.country (ISO 3166 code)", details={"field": "seller.address"}
            )
        if address.get("country"):
            postal = s(node, RAM, "PostalTradeAddress")
            if level >= 1:
                for key, tag_name in (("postcode", "PostcodeCode"), ("line1", "LineOne"), ("line2", "LineTwo")):
                    if address.get(key):
                        s(postal, RAM, tag_name, str(address[key]))
                if address.get("city"):
                    s(postal, RAM, "CityName", str(address["city"]))
            s(postal, RAM, "CountryID", str(address["country"]))
    if party.get("vat_id"):
        s(s(node, RAM, "SpecifiedTaxRegistration"), RAM, "ID", str(party["vat_id"]), schemeID="VA")
