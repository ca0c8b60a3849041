"""The PDF pipeline in its sandbox, judged by tools Pressroom did not write: qpdf, poppler (pdfinfo,
pdftotext, pdffonts, pdfsig), pyHanko's validator, the factur-x library and pikepdf's PDF/A validator."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from pressroom.core.errors import (
    InvalidPdf,
    PdfaNotPossible,
    PdfEncrypted,
    PdfLimitExceeded,
    PdfTimeout,
    UploadMissing,
    WrongPassword,
)
from pressroom.documents.service import DocumentExpired
from pressroom.pdf import pdfa, pipeline
from pressroom.pdf.safeopen import Sandbox
from pressroom.pdf.sign import SignatureBox, SignRequest
from tests.pdf_fixtures import many_pages_pdf, text_pdf
from tests.pdf_support import fixture, pyhanko_verdict, run_tool, self_signed_pkcs12
from tests.support import pdfinfo, pdftotext


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(workers=2, memory_limit_mb=512, timeout_s=8)
    box.start()
    yield box
    box.close()


@pytest.fixture(scope="module")
def weasy_pdf() -> bytes:
    """A real-world-like source with embedded fonts (WeasyPrint), as PDF/A needs."""
    import weasyprint

    html = "<h1>Invoice 42</h1><p>Customer: Ada Lovelace, café</p>" + "<p style='break-before:page'>Two</p>"
    return bytes(weasyprint.HTML(string=html).write_pdf())


def run(sandbox: Sandbox, plan: pipeline.Plan) -> pipeline.Result:
    return sandbox.run(pipeline.run, plan)


def test_merge_then_split_keeps_order_and_sizes(sandbox: Sandbox) -> None:
    a = text_pdf(["A1", "A2", "A3", "A4", "A5"])
    b = text_pdf(["B1", "B2"], size=(842, 595))
    merged = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(a), pipeline.SourcePdf(b)]))
    assert int(pdfinfo(merged.data)["Pages"]) == 7 == merged.pages
    assert re.findall(r"[AB]\d", pdftotext(merged.data)) == ["A1", "A2", "A3", "A4", "A5", "B1", "B2"]
    sizes = run_tool("pdfinfo", "-f", "1", "-l", "7", pdf=merged.data).stdout
    found = dict(re.findall(r"Page\s+(\d+) size:\s+([\d.]+ x [\d.]+) pts", sizes))
    assert found["1"] == "612 x 792" and found["5"] == "612 x 792" and found["6"] == found["7"] == "842 x 595"

    part = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(merged.data)], split="7,1-2,5-"))
    assert re.findall(r"[AB]\d", pdftotext(part.data)) == ["B2", "A1", "A2", "A5", "B1", "B2"]


@pytest.mark.parametrize(
    ("algorithm", "qpdf_says"),
    # qpdf names the AES stream methods; for RC4 (R3) it prints the revision only.
    [("aes256", "stream encryption method: AESv3"), ("aes128", "stream encryption method: AESv2"), ("rc4", "R = 3")],
)
def test_encryption_reported_by_qpdf_and_poppler(sandbox: Sandbox, algorithm: str, qpdf_says: str) -> None:
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["secret page"]))],
        encrypt=pipeline.Encryption("user-pw", "owner-pw", {"printing": False, "copying": False}, algorithm),  # type: ignore[arg-type]
    )
    data = run(sandbox, plan).data
    shown = run_tool("qpdf", "--show-encryption", "--password=user-pw", pdf=data).stdout
    assert qpdf_says in shown
    assert "print high resolution: not allowed" in shown and "extract for any purpose: not allowed" in shown
    assert "modify annotations: allowed" in shown
    assert run_tool("pdfinfo", "-upw", "user-pw", pdf=data).returncode == 0
    assert run_tool("pdfinfo", pdf=data).returncode != 0  # no password: poppler cannot open it
    with pytest.raises(PdfEncrypted):
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(data)]))
    with pytest.raises(WrongPassword) as wrong:
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(data, password="nope")]))
    assert wrong.value.status == 403
    reopened = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(data, password="user-pw")]))
    assert "secret page" in pdftotext(reopened.data)


def test_signature_valid_for_pdfsig_and_pyhanko_and_broken_by_one_byte(sandbox: Sandbox) -> None:
    p12, cert = self_signed_pkcs12()
    box = SignatureBox(page=1, rect=(50, 50, 250, 110), text="Approved by Pressroom")
    request = SignRequest(pkcs12=p12, passphrase=b"secret", reason="Approval", location="Paris", box=box)
    data = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(text_pdf(["contract"]))], sign=request)).data
    report = run_tool("pdfsig", pdf=data).stdout
    assert "Signature Validation: Signature is Valid." in report
    assert "ETSI.CAdES.detached" in report  # PAdES baseline
    assert pyhanko_verdict(data, cert) == (True, True)

    tampered = bytearray(data)
    position = data.index(b"contract")
    tampered[position] = ord("C")
    assert "Signature is Valid" not in run_tool("pdfsig", pdf=bytes(tampered)).stdout
    assert pyhanko_verdict(bytes(tampered), cert)[0] is False  # not intact


def test_signed_and_encrypted_stays_valid(sandbox: Sandbox) -> None:
    p12, _cert = self_signed_pkcs12()
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["both"]))],
        sign=SignRequest(pkcs12=p12, passphrase=b"secret"),
        encrypt=pipeline.Encryption("u"),
    )
    data = run(sandbox, plan).data
    assert "Signature is Valid." in run_tool("pdfsig", "-upw", "u", pdf=data).stdout
    assert "AESv3" in run_tool("qpdf", "--show-encryption", "--password=u", pdf=data).stdout


@pytest.mark.parametrize("level", ["1b", "2b", "3b", "2u", "3u"])
def test_pdfa_levels_checked_by_the_validator_and_poppler(sandbox: Sandbox, weasy_pdf: bytes, level: str) -> None:
    data = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(weasy_pdf)], pdfa=level)).data
    assert pdfa.pdfa_identification(data) == (level[0], level[1].upper())
    with pikepdf.open(io.BytesIO(data)) as pdf:
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == pikepdf.Name.GTS_PDFA1 and "/DestOutputProfile" in intent
    fonts = run_tool("pdffonts", pdf=data).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column
    assert "No syntax or stream encoding errors" in run_tool("qpdf", "--check", pdf=data).stdout
    if level[1] == "b":  # the b rules re-checked on the final bytes (u adds the conformance letter only)
        assert pdfa.validate(data, f"{level[0]}b") == []


def test_pdfa_a_level_on_untagged_input_is_refused_not_downgraded(sandbox: Sandbox, weasy_pdf: bytes) -> None:
    with pytest.raises(PdfaNotPossible) as caught:
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(weasy_pdf)], pdfa="2a"))
    assert "tagged" in caught.value.message


def test_pdfa1_refuses_non_embedded_fonts_with_the_findings(sandbox: Sandbox) -> None:
    with pytest.raises(PdfaNotPossible) as caught:
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(text_pdf(["Helvetica"]))], pdfa="1b"))
    assert caught.value.details["findings"]


def test_facturx_extracted_and_xsd_checked_by_the_library(sandbox: Sandbox, weasy_pdf: bytes) -> None:
    from facturx import get_facturx_xml_from_pdf, xml_check_xsd

    from pressroom.pdf import facturx
    from tests.unit.pdf.test_pdf_inputs import INVOICE

    xml = facturx.build_xml(INVOICE, "en16931")
    plan = pipeline.Plan(sources=[pipeline.SourcePdf(weasy_pdf)], facturx=pipeline.FacturX(xml, "en16931"))
    data = run(sandbox, plan).data
    filename, extracted = get_facturx_xml_from_pdf(data, check_xsd=False)
    assert filename == "factur-x.xml" and extracted == xml
    assert xml_check_xsd(extracted, flavor="factur-x", level="en16931")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        xmp = pdf.Root.Metadata.read_bytes()
        spec = pdf.Root.AF[0]
        assert spec.AFRelationship == pikepdf.Name.Data and str(spec.F) == "factur-x.xml"
    assert b"urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in xmp and b"pdfaExtension" in xmp
    assert pdfa.pdfa_identification(data) == ("3", "B")


def test_metadata_in_info_and_xmp(sandbox: Sandbox) -> None:
    values = {
        "title": "Quarterly",
        "author": "Ada",
        "subject": "Numbers",
        "keywords": "q1, report",
        "creator": "Pressroom",
        "producer": "Pressroom PDF",
        "language": "fr-FR",
    }
    data = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(text_pdf(["m"]))], metadata=values)).data
    info = pdfinfo(data)
    assert info["Title"] == "Quarterly" and info["Author"] == "Ada" and info["Producer"] == "Pressroom PDF"
    with pikepdf.open(io.BytesIO(data)) as pdf:
        meta = pdf.open_metadata()
        assert meta["dc:title"] == "Quarterly" and meta["pdf:Producer"] == "Pressroom PDF"
        assert meta["xmp:CreatorTool"] == "Pressroom" and str(pdf.Root.Lang) == "fr-FR"


def test_embed_files_listed_by_pdfdetach(sandbox: Sandbox) -> None:
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["e"]))],
        attachments=[pipeline.Attachment("data.csv", b"a,b\n1,2\n", "text/csv", "raw data", "Supplement")],
    )
    data = run(sandbox, plan).data
    assert "1: data.csv" in run_tool("pdfdetach", "-list", pdf=data).stdout
    with pikepdf.open(io.BytesIO(data)) as pdf:
        spec = pdf.attachments["data.csv"]
        assert spec.get_file().read_bytes() == b"a,b\n1,2\n" and spec.obj.AFRelationship == pikepdf.Name.Supplement


def test_watermark_on_chosen_pages_and_test_mark(sandbox: Sandbox) -> None:
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["p1", "p2", "p3"]))],
        watermarks=[pipeline.Watermark(kind="text", text="DRAFT", angle=0, pages="2")],
    )
    data = run(sandbox, plan).data
    assert [("DRAFT" in pdftotext(data, "-f", str(n), "-l", str(n))) for n in (1, 2, 3)] == [False, True, False]
    test = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(text_pdf(["x", "y"]))], test_mode=True)).data
    # The TEST mark is set at 45 degrees: poppler extracts rotated letters in no useful order, so count them.
    assert all(Counter("TEST") <= Counter(pdftotext(test, "-f", str(n), "-l", str(n))) for n in (1, 2))


def test_compress_reports_and_shrinks_images(sandbox: Sandbox) -> None:
    image = Image.effect_noise((1600, 1600), 60).convert("RGB")
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    raw = pikepdf.Stream(pdf, image.tobytes())
    raw.Type, raw.Subtype, raw.Width, raw.Height = pikepdf.Name.XObject, pikepdf.Name.Image, 1600, 1600
    raw.ColorSpace, raw.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
    pdf.pages[0].add_resource(raw, pikepdf.Name.XObject, pikepdf.Name.Im0)
    pdf.pages[0].contents_add(pikepdf.Stream(pdf, b"q 612 0 0 792 0 0 cm /Im0 Do Q"))
    source = io.BytesIO()
    pdf.save(source)
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(source.getvalue())], compress=pipeline.Compression(images=True, quality=60)
    )
    result = run(sandbox, plan)
    assert result.report["bytes_out"] < result.report["bytes_in"] / 5
    assert result.report["images"]["rewritten"] == 1
    assert "No syntax or stream encoding errors" in run_tool("qpdf", "--check", pdf=result.data).stdout


def test_preview_png_matches_page_size_times_dpi(sandbox: Sandbox) -> None:
    png, width, height = sandbox.run(pipeline.render_preview, text_pdf(["preview me"]), 1, 144)
    image = Image.open(io.BytesIO(png))
    assert (image.width, image.height) == (width, height) == (1224, 1584)  # 8.5 x 11 in at 144 dpi
    assert image.convert("L").getextrema()[0] < 100  # some dark (text) pixels: not blank


@pytest.mark.parametrize(
    ("name", "error"),
    [("truncated.pdf", InvalidPdf), ("not_a_pdf.pdf", InvalidPdf), ("xref_loop.pdf", InvalidPdf)],
)
def test_corrupt_files_are_invalid_pdf(sandbox: Sandbox, name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(fixture(name))]))
    assert getattr(caught.value, "status", None) == 422
    assert "0x" not in str(caught.value)  # no parser internals (object addresses) in the message


def test_bombs_fail_cleanly_and_the_sandbox_lives_on(sandbox: Sandbox) -> None:
    bomb = fixture("flate_bomb.pdf")
    limit = 64 << 20  # pdf.max_decoded_bytes, small so that measuring stays well inside the 8 s deadline
    started = time.monotonic()
    # The 4 GiB content stream is measured up to the limit before PDFium or qpdf expand it (issue #12).
    with pytest.raises(PdfLimitExceeded) as previewed:
        sandbox.run(pipeline.render_preview, bomb, 1, 72, None, limit)
    assert previewed.value.details["limit"] == "decoded_bytes"
    with pytest.raises(PdfLimitExceeded) as compressed:
        plan = pipeline.Plan(sources=[pipeline.SourcePdf(bomb)], compress=pipeline.Compression())
        plan.max_decoded_bytes = limit
        run(sandbox, plan)
    assert compressed.value.details["limit"] == "decoded_bytes"
    with pytest.raises(PdfLimitExceeded) as pages:
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(many_pages_pdf())]))
    assert pages.value.details["pages"] == 100_000
    assert time.monotonic() - started < 30
    # Merging the bomb copies its stream untouched: nothing is expanded.
    merged = run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(bomb), pipeline.SourcePdf(text_pdf(["ok"]))]))
    assert merged.pages == 2 and len(merged.data) < 10_000
    assert sandbox.run(pipeline.page_count, text_pdf(["still alive"])) == 1


def test_a_call_past_the_deadline_is_killed_and_its_worker_replaced() -> None:
    """Whatever outlives ``pdf.timeout_s`` (a parser loop) is a 422 PDF_TIMEOUT; the next call runs."""
    box = Sandbox(workers=1, memory_limit_mb=512, timeout_s=1)
    box.start()
    try:
        with pytest.raises(PdfTimeout):
            box.run(time.sleep, 30)
        assert box.run(pipeline.page_count, text_pdf(["after the timeout"])) == 1
    finally:
        box.close()


def test_sources_read_from_local_files_and_byte_ranges(sandbox: Sandbox, tmp_path: Path) -> None:
    """Stored files are opened by the sandbox itself (whole, or a byte range of a shared upload blob); the
    result is the same as for bytes, and a file gone meanwhile is the caller's chosen 4xx."""
    first, second = text_pdf(["from a file"]), text_pdf(["from a range", "second page"])
    whole = tmp_path / "doc.pdf"
    whole.write_bytes(first)
    blob = tmp_path / "uploads.bin"
    blob.write_bytes(b"junk" + second + first)
    merged = run(
        sandbox,
        pipeline.Plan(
            sources=[
                pipeline.SourcePdf(path=str(whole), size=len(first)),
                pipeline.SourcePdf(path=str(blob), offset=4, size=len(second)),
                pipeline.SourcePdf(path=str(blob), offset=4 + len(second), size=len(first)),
            ]
        ),
    )
    assert merged.pages == 4 and merged.report["bytes_in"] == 2 * len(first) + len(second)
    text = " ".join(pdftotext(merged.data).split())
    assert text == "from a file from a range second page from a file"
    gone = pipeline.SourcePdf(path=str(tmp_path / "deleted.pdf"), size=10, missing="UPLOAD_MISSING")
    with pytest.raises(UploadMissing):
        run(sandbox, pipeline.Plan(sources=[gone]))
    cut = pipeline.SourcePdf(path=str(blob), offset=len(blob.read_bytes()) - 3, size=10, missing="DOCUMENT_EXPIRED")
    with pytest.raises(DocumentExpired):
        run(sandbox, pipeline.Plan(sources=[cut]))


def test_a_broken_file_is_invalid_without_naming_where_it_is_stored(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "store" / "acct" / "broken.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(fixture("truncated.pdf"))
    with pytest.raises(InvalidPdf) as caught:
        run(sandbox, pipeline.Plan(sources=[pipeline.SourcePdf(path=str(path), size=path.stat().st_size)]))
    assert caught.value.status == 422
    assert str(tmp_path) not in str(caught.value) and str(tmp_path) not in str(caught.value.details)


def test_work_alongside_the_sandbox_and_its_failure(sandbox: Sandbox) -> None:
    result, beside = sandbox.run_alongside(pipeline.page_count, (text_pdf(["a", "b"]),), lambda: "hashed")
    assert (result, beside) == (2, "hashed")

    def failing() -> None:
        raise RuntimeError("alongside failed")

    with pytest.raises(RuntimeError, match="alongside failed"):
        sandbox.run_alongside(pipeline.page_count, (text_pdf(["a"]),), failing)
    # The worker whose answer was never read is replaced: the next call gets its own answer, not that one.
    assert sandbox.run(pipeline.page_count, text_pdf(["x", "y", "z"])) == 3
