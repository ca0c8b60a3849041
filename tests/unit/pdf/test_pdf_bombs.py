"""Decompression bombs through every PDF operation (issue #12, item 11), in this process.

The bomb is ~10 KB whose content stream inflates to 4 GiB (two nested Flate filters), built by code. The
steps that decode streams (preview, compress, PDF/A, Factur-X, watermark, the TEST mark) must refuse it
with 413 PDF_LIMIT_EXCEEDED (``details.limit = "decoded_bytes"``) after inflating no more than the limit;
the steps that copy streams (merge, split, encrypt, metadata, embed, sign) pass it through untouched.

Time bound: the issue measured 35-36 s for compress and PDF/A. Refusing costs what inflating up to the
limit costs, so the bounds are on CPU time, which other load on the machine barely moves (wall time
under a load average of 10 on 2 cores was 2.5x the CPU time): under 2 s of CPU at the 64 MiB limit these
tests use (measured ~0.15 s), under 6 s at the default 1 GiB (measured 2.4 s), and a wall-clock bound of
30 s either way. Memory: the measuring inflates 1 MiB at a time, so this process's peak RSS may not grow
by more than 64 MiB while refusing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import resource
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pikepdf
import pytest

from pressroom.core.errors import PdfLimitExceeded
from pressroom.pdf import facturx, pipeline
from pressroom.pdf.safeopen import apply_qpdf_limits, check_decoded_size, page_streams
from pressroom.pdf.sign import SignRequest
from tests.bomb_support import MIB, outcome_within_memory, pdf_flate_bomb, zlib_spaces
from tests.pdf_fixtures import text_pdf
from tests.pdf_support import self_signed_pkcs12

LIMIT = 64 * MIB
REFUSED_CPU_S = 2.0
DEFAULT_LIMIT_CPU_S = 6.0
WALL_S = 30.0
PEAK_GROWTH_BYTES = 64 * MIB


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = pdf_flate_bomb(4096)
    assert len(data) < 16_000  # ~10 KB for 4 GiB, like the file
    return data


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclasses.dataclass
class _Took:
    cpu: float = 0.0
    wall: float = 0.0


@contextlib.contextmanager
def _clock() -> Iterator[_Took]:
    took = _Took()
    cpu, wall = time.process_time(), time.monotonic()
    try:
        yield took
    finally:
        took.cpu, took.wall = time.process_time() - cpu, time.monotonic() - wall


def _plan(bomb: bytes, **steps: Any) -> pipeline.Plan:
    return pipeline.Plan(sources=[pipeline.SourcePdf(bomb)], max_decoded_bytes=LIMIT, **steps)


DECODING: dict[str, Callable[[bytes], pipeline.Plan]] = {
    "compress": lambda b: _plan(b, compress=pipeline.Compression()),
    "compress-images": lambda b: _plan(b, compress=pipeline.Compression(images=True)),
    "pdfa": lambda b: _plan(b, pdfa="2b"),
    "facturx": lambda b: _plan(b, facturx=pipeline.FacturX(xml=b"<x/>", profile=facturx.normalize_profile("basic"))),
    "watermark": lambda b: _plan(b, watermarks=[pipeline.Watermark(kind="text", text="DRAFT")]),
    "test-mark": lambda b: _plan(b, test_mode=True),
    "merge-then-compress": lambda b: pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["first"])), pipeline.SourcePdf(b)],
        max_decoded_bytes=LIMIT,
        compress=pipeline.Compression(),
    ),
    "pdf-overlay": lambda b: pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["page"]))],
        max_decoded_bytes=LIMIT,
        watermarks=[pipeline.Watermark(kind="pdf", data=b)],
    ),
}


@pytest.mark.parametrize("operation", list(DECODING))
def test_steps_that_decode_refuse_the_bomb_before_inflating_it(bomb: bytes, operation: str) -> None:
    peak_before = _peak_rss()
    with _clock() as took, pytest.raises(PdfLimitExceeded) as caught:
        pipeline.run(DECODING[operation](bomb))
    assert caught.value.status == 413 and caught.value.code == "PDF_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit": "decoded_bytes", "max_decoded_bytes": LIMIT}
    assert took.cpu < REFUSED_CPU_S and took.wall < WALL_S, f"{operation}: {took}"
    assert _peak_rss() - peak_before < PEAK_GROWTH_BYTES


@pytest.mark.parametrize("operation", ["compress", "pdfa", "watermark"])
def test_refusing_stays_within_64_mib_of_address_space(bomb: bytes, operation: str) -> None:
    """In a forked child that may grow by 64 MiB only: the refusal is the limit, never a MemoryError."""
    outcome = outcome_within_memory(lambda: pipeline.run(DECODING[operation](bomb)), PEAK_GROWTH_BYTES)
    assert outcome == "PdfLimitExceeded"


def test_preview_refuses_the_bomb_like_every_operation(bomb: bytes) -> None:
    with _clock() as took, pytest.raises(PdfLimitExceeded) as caught:
        pipeline.render_preview(bomb, 1, 72, None, LIMIT)
    assert caught.value.details["limit"] == "decoded_bytes"
    assert took.cpu < REFUSED_CPU_S and took.wall < WALL_S, took


def test_the_default_limit_refuses_within_seconds(bomb: bytes) -> None:
    """1 GiB (``pdf.max_decoded_bytes``): the 4 GiB stream is measured up to the limit, never kept."""
    peak_before = _peak_rss()
    with _clock() as took, pytest.raises(PdfLimitExceeded):
        pipeline.run(pipeline.Plan(sources=[pipeline.SourcePdf(bomb)], compress=pipeline.Compression()))
    assert took.cpu < DEFAULT_LIMIT_CPU_S and took.wall < WALL_S, took
    assert _peak_rss() - peak_before < PEAK_GROWTH_BYTES


COPYING: dict[str, Callable[[bytes], pipeline.Plan]] = {
    "merge": lambda b: pipeline.Plan(
        sources=[pipeline.SourcePdf(b), pipeline.SourcePdf(text_pdf(["two"]))], max_decoded_bytes=LIMIT
    ),
    "split": lambda b: _plan(b, split="1"),
    "encrypt-aes256": lambda b: _plan(b, encrypt=pipeline.Encryption(user_password="pw")),
    "encrypt-aes128": lambda b: _plan(b, encrypt=pipeline.Encryption(user_password="pw", algorithm="aes128")),
    "metadata": lambda b: _plan(b, metadata={"title": "bomb"}),
    "embed": lambda b: _plan(b, attachments=[pipeline.Attachment(name="a.txt", data=b"hello")]),
    "sign": lambda b: _plan(b, sign=SignRequest(self_signed_pkcs12()[0], b"secret")),
}


@pytest.mark.parametrize("operation", list(COPYING))
def test_steps_that_copy_streams_pass_the_bomb_through_unexpanded(bomb: bytes, operation: str) -> None:
    with _clock() as took:
        result = pipeline.run(COPYING[operation](bomb))
    assert took.cpu < REFUSED_CPU_S and took.wall < WALL_S, took
    assert len(result.data) < len(bomb) + 64_000  # the stream was copied, not inflated (4 GiB)


def _pdf_with_streams(*streams: tuple[bytes, list[str]]) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    for data, filters in streams:
        stream = pikepdf.Stream(pdf, data)
        if filters:
            stream.Filter = pikepdf.Array([pikepdf.Name(name) for name in filters])
        pdf.make_indirect(stream)
    return pdf


def test_decoded_size_counts_what_streams_inflate_to() -> None:
    """The measure is exact for Flate chains and qpdf-decoded chains; unfiltered streams and image codecs
    (decoded by image decoders, bounded by the image's size) are not counted."""
    text = b"BT /F1 12 Tf (hello) Tj ET\n" * 1000
    pdf = _pdf_with_streams(
        (zlib.compress(text), ["/FlateDecode"]),
        (zlib.compress(zlib.compress(text)), ["/FlateDecode", "/FlateDecode"]),
        (zlib.compress(text).hex().encode() + b">", ["/ASCIIHexDecode", "/FlateDecode"]),
        (zlib.compress(b"\xff\xd8 not really a jpeg"), ["/FlateDecode", "/DCTDecode"]),
        (b"raw bytes", []),
    )
    assert check_decoded_size(pdf, LIMIT) == 3 * len(text) + len(b"\xff\xd8 not really a jpeg")
    with pytest.raises(PdfLimitExceeded):
        check_decoded_size(pdf, 3 * len(text))
    with pytest.raises(PdfLimitExceeded):  # the budget is shared with the request's other documents
        check_decoded_size(pdf, LIMIT, counted=LIMIT - len(text))


def test_corrupt_flate_data_counts_what_inflated_and_is_not_a_limit_error() -> None:
    broken = zlib.compress(b"x" * 10_000)[:-20] + b"garbage!"
    pdf = _pdf_with_streams((broken, ["/FlateDecode"]))
    assert check_decoded_size(pdf, LIMIT) <= 10_000


def test_ordinary_documents_are_unaffected() -> None:
    source = text_pdf(["one", "two"])
    out = pipeline.run(
        pipeline.Plan(sources=[pipeline.SourcePdf(source)], max_decoded_bytes=LIMIT, compress=pipeline.Compression())
    )
    assert out.pages == 2
    with pikepdf.open(io.BytesIO(out.data)) as pdf:
        assert b"two" in pdf.pages[1].Contents.read_bytes()


def test_a_limit_beyond_32_bits_is_accepted() -> None:
    """qpdf's own limits are 32-bit: an operator's 8 GiB setting caps them there instead of failing every call."""
    source = text_pdf(["big limit"])
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(source)], max_decoded_bytes=8 << 30, compress=pipeline.Compression()
    )
    assert pipeline.run(plan).pages == 1
    apply_qpdf_limits(pipeline.DEFAULT_MAX_DECODED_BYTES)  # process-wide: leave the default behind


# -- previews measure what their page reaches ---------------------------------------------------------------
def _bomb_stream(pdf: pikepdf.Pdf, expanded_mib: int = 256) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, zlib.compress(zlib_spaces(expanded_mib), 9))
    stream.Filter = pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.FlateDecode])
    return stream


def _two_pages(place: str) -> bytes:
    """Page 1 plain; page 2 plain, with a 256 MiB bomb placed where ``place`` says."""
    pdf = pikepdf.new()
    for _ in range(2):
        pdf.add_blank_page(page_size=(200, 200))
    first, second = pdf.pages[0].obj, pdf.pages[1].obj
    first.Contents = pdf.make_stream(b"0 0 m 10 10 l S")
    second.Contents = pdf.make_stream(b"0 0 m 10 10 l S")
    bomb = _bomb_stream(pdf)
    if place == "content":
        second.Contents = bomb
    elif place == "form-xobject":  # nested: page -> /Resources -> /XObject -> form -> its /Resources -> form
        inner = bomb
        inner.Type, inner.Subtype, inner.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 10, 10]
        outer = pdf.make_stream(b"/Inner Do", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form, BBox=[0, 0, 10, 10])
        outer.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Inner=inner))
        second.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Outer=outer))
    elif place == "annotation":
        appearance = bomb
        appearance.Type, appearance.Subtype, appearance.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 10, 10]
        annot = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Square,
                Rect=[0, 0, 10, 10],
                P=second,
                AP=pikepdf.Dictionary(N=appearance),
            )
        )
        second.Annots = pdf.make_indirect(pikepdf.Array([annot]))
    # Page 1 links to page 2 (/Dest) and names its parent: neither is something page 1 draws.
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 5, 5], Dest=[second, pikepdf.Name.Fit]
    )
    first.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


@pytest.mark.parametrize("place", ["content", "form-xobject", "annotation"])
def test_a_preview_measures_only_what_its_page_reaches(place: str) -> None:
    data = _two_pages(place)
    png, width, _height = pipeline.render_preview(data, 1, 36, None, LIMIT)
    assert png.startswith(b"\x89PNG") and width == 100  # page 1: drawn, although page 2 is a bomb
    with pytest.raises(PdfLimitExceeded) as caught:
        pipeline.render_preview(data, 2, 36, None, LIMIT)
    assert caught.value.details["limit"] == "decoded_bytes"


def test_inherited_resources_and_form_resources_count_for_every_page() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    form = _bomb_stream(pdf)
    form.Type, form.Subtype, form.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 10, 10]
    del pdf.pages[0].obj["/Resources"]
    pdf.Root.Pages.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Inherited=form))
    assert form.objgen in {s.objgen for s in page_streams(pdf, 0)}
    font_file = _bomb_stream(pdf)
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=[], DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(F=pikepdf.Dictionary(FontFile2=font_file)))
    )
    assert font_file.objgen in {s.objgen for s in page_streams(pdf, 0)}
    with pytest.raises(PdfLimitExceeded):
        check_decoded_size(pdf, LIMIT, streams=page_streams(pdf, 0))
