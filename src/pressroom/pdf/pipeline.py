"""The one PDF pipeline, in its documented order, run inside a sandbox process.

    merge -> split -> embed -> metadata -> watermark (+ TEST for test keys) -> PDF/A | Factur-X
          -> compress -> sign -> encrypt

Structural steps work on one in-memory pikepdf document; the document is written once (compression and
encryption are options of that write). PDF/A and Factur-X write-and-validate; signing appends an
incremental revision. When a signature and encryption are both asked for, the file is encrypted in the
write and the signature is appended afterwards under the owner password, because encrypting a signed
file would rewrite it and invalidate the signature: the result is "signed, then only openable with the
password", which is what the order promises.

Inputs and outputs are plain picklable values (``Plan`` -> ``Result``), so this module is the whole
contract between the service (parent process) and the sandbox.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from pressroom.core.errors import IncompatibleOptions, PdfaNotPossible, PressroomError
from pressroom.pdf import (
    aes256,
    attach,
    compress,
    encrypt,
    facturx,
    merge,
    metadata,
    pdfa,
    preview,
    sign,
    split,
    watermark,
)
from pressroom.pdf.safeopen import apply_qpdf_limits, check_decoded_size, open_pdf, page_streams
from pressroom.pdf.sign import SignRequest


@dataclass
class SourcePdf:
    data: bytes = b""
    password: str | None = None
    label: str = "source"
    # Or a blob store file on this host, which the sandbox reads itself: the bytes are not read, pickled and
    # piped by the service. The whole file, or ``size`` bytes from ``offset`` (uploads share one blob);
    # ``size`` is checked by the service. ``missing`` is the error code when the file is gone by the time
    # the sandbox opens it (a document deleted meanwhile).
    path: str | None = None
    offset: int | None = None
    size: int = 0
    missing: str = "DOCUMENT_EXPIRED"

    @property
    def length(self) -> int:
        return self.size if self.path is not None else len(self.data)

    def open(self, max_pages: int) -> pikepdf.Pdf:
        if self.path is None:
            return open_pdf(self.data, self.password, max_pages=max_pages)
        try:
            return self._open_file(self.path, max_pages)
        except FileNotFoundError:
            raise PressroomError(f"The file of source {self.label!r} is no longer stored", code=self.missing) from None
        except OSError as exc:  # a server fault; the file's place in the store stays out of the message
            raise PressroomError(f"The file of source {self.label!r} cannot be read ({type(exc).__name__})") from None

    def _open_file(self, path: str, max_pages: int) -> pikepdf.Pdf:
        if self.offset is None:  # qpdf reads the file itself
            return open_pdf(Path(path), self.password, max_pages=max_pages)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.pread(fd, self.size, self.offset)
        finally:
            os.close(fd)
        if len(data) != self.size:
            raise FileNotFoundError(path)  # the blob was replaced or cut: the range is gone
        # A byte range goes to qpdf as a file of its own (in memory): qpdf reads a file natively, but reads
        # bytes handed over in a BytesIO through Python calls, which slows every later step that reads them.
        copy = open(os.memfd_create("pressroom-pdf-source", os.MFD_CLOEXEC), "rb")  # noqa: SIM115
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(copy.fileno(), view) :]
        except BaseException:
            copy.close()
            raise
        del view, data
        return open_pdf(copy, self.password, max_pages=max_pages)  # the document owns the copy


@dataclass
class Attachment:
    name: str
    data: bytes
    mime_type: str | None = None
    description: str = ""
    relationship: attach.Relationship = "Unspecified"


@dataclass
class Watermark:
    kind: str  # "text" | "image" | "pdf"
    text: str | None = None
    font_size: float = 72.0
    color: str = "#FF0000"
    opacity: float = 0.3
    angle: float = 45.0
    position: str = "center"
    data: bytes | None = None
    mime_type: str = "image/png"
    width_pt: float | None = None
    page: int = 1
    password: str | None = None
    pages: str | None = None  # page expression; None = every page


@dataclass
class Compression:
    images: bool = False
    quality: int = 75
    max_dpi: int | None = 150
    object_streams: bool = True


@dataclass
class FacturX:
    xml: bytes
    profile: facturx.Profile
    relationship: str = "Data"


@dataclass
class Encryption:
    user_password: str
    owner_password: str | None = None
    permissions: dict[str, bool] = field(default_factory=dict)
    algorithm: encrypt.Algorithm = "aes256"
    # AES-256 written by :mod:`aes256`: the service may choose the file key and keep the /Encrypt dictionary
    # (its password hashing) for itself, to compute it while the sandbox works; it then adds the dictionary.
    file_key: bytes | None = None
    caller_adds_dictionary: bool = False


# What the streams of one request's PDFs may inflate to, in total (``pdf.max_decoded_bytes``).
DEFAULT_MAX_DECODED_BYTES = 1 << 30


@dataclass
class Plan:
    sources: list[SourcePdf]
    max_pages: int = 10_000
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
    split: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    watermarks: list[Watermark] = field(default_factory=list)
    test_mode: bool = False
    pdfa: str | None = None
    facturx: FacturX | None = None
    compress: Compression | None = None
    sign: SignRequest | None = None
    encrypt: Encryption | None = None


@dataclass
class Result:
    data: bytes
    pages: int
    report: dict[str, Any]


def openssl_aes256(plan: Plan) -> bool:
    """Whether the encryption is written by :mod:`aes256` (OpenSSL) rather than by qpdf's writer: AES-256
    in a plain write. A compressing write (object streams, recompressed streams) stays with qpdf."""
    return plan.encrypt is not None and plan.encrypt.algorithm == "aes256" and plan.compress is None


def decodes_streams(plan: Plan) -> bool:
    """Whether a step of ``plan`` decodes the documents' streams: a watermark (qpdf parses the page
    content it wraps), PDF/A and Factur-X (the validator parses content), compress (every stream is
    inflated and deflated again). Merge, split, embed, metadata, encrypt and sign copy streams as they are."""
    return bool(plan.watermarks or plan.test_mode or plan.pdfa or plan.facturx is not None or plan.compress)


def check_compatible(plan: Plan) -> None:
    """Refuse combinations no file can satisfy, naming both options (422 INCOMPATIBLE_OPTIONS)."""
    archival = "factur_x" if plan.facturx is not None else ("pdf_format" if plan.pdfa else None)
    if archival and plan.encrypt is not None:
        raise IncompatibleOptions(
            f"{archival} and encryption cannot be combined: PDF/A forbids encryption",
            details={"options": [archival, "encryption"]},
        )
    if plan.facturx is not None and plan.pdfa and pdfa.normalize_level(plan.pdfa)[0] != "3":
        raise IncompatibleOptions(
            f"factur_x requires PDF/A-3 but pdf_format is PDF/A-{plan.pdfa}",
            details={"options": ["factur_x", "pdf_format"]},
        )
    if plan.pdfa and plan.attachments and pdfa.normalize_level(plan.pdfa)[0] in "12":
        raise IncompatibleOptions(
            f"embed_files and PDF/A-{pdfa.normalize_level(plan.pdfa)}: only PDF/A-3 allows embedded files",
            details={"options": ["embed_files", "pdf_format"]},
        )


def run(plan: Plan) -> Result:
    """Execute ``plan``; the entry point the sandbox calls."""
    check_compatible(plan)
    report: dict[str, Any] = {"bytes_in": sum(s.length for s in plan.sources), "steps": []}
    steps: list[str] = report["steps"]
    documents: list[pikepdf.Pdf] = []
    apply_qpdf_limits(plan.max_decoded_bytes)
    decoded = 0
    try:
        for source in plan.sources:
            documents.append(source.open(plan.max_pages))
            if decodes_streams(plan):  # measured before anything inflates them, against one budget
                decoded = check_decoded_size(documents[-1], plan.max_decoded_bytes, decoded)
        pdf = merge.merge(documents)
        if len(documents) > 1:
            steps.append("merge")
        _page_cap(pdf, plan.max_pages)
        if plan.split is not None:
            pdf = split.select_pages(pdf, split.parse_pages(plan.split, len(pdf.pages)))
            steps.append("split")
        for item in plan.attachments:
            attach.attach(
                pdf,
                item.name,
                item.data,
                mime_type=item.mime_type,
                description=item.description,
                relationship=item.relationship,
            )
        if plan.attachments:
            steps.append("embed")
        if plan.metadata:
            metadata.set_metadata(pdf, plan.metadata)
            steps.append("metadata")
        for mark in plan.watermarks:
            decoded = _watermark(pdf, mark, plan.max_decoded_bytes, decoded)
        if plan.watermarks:
            steps.append("watermark")
        if plan.test_mode:
            watermark.apply_mark(pdf, watermark.test_mark())
            steps.append("test-watermark")
        pages = len(pdf.pages)
        save_kwargs: dict[str, Any] = {}
        if plan.compress is not None:
            if plan.compress.images:
                images = compress.recompress_images(pdf, quality=plan.compress.quality, max_dpi=plan.compress.max_dpi)
                report["images"] = {
                    "seen": images.images_seen,
                    "rewritten": images.images_rewritten,
                    "bytes_saved": images.bytes_saved,
                }
            save_kwargs = compress.save_kwargs(object_streams=plan.compress.object_streams)
            steps.append("compress")
        data = _archive_or_save(pdf, plan, save_kwargs, report)
    finally:
        for document in documents:
            document.close()
    if plan.sign is not None and plan.encrypt is not None:
        owner = plan.encrypt.owner_password or plan.encrypt.user_password
        data = sign.sign(data, plan.sign, owner_password=owner)
        steps.extend(["encrypt", "sign"])  # encrypted in the write, signature appended under the owner password
    elif plan.sign is not None:
        data = sign.sign(data, plan.sign)
        steps.append("sign")
    elif plan.encrypt is not None:
        steps.append("encrypt")
    report["bytes_out"] = len(data)
    report["pages"] = pages
    return Result(data=data, pages=pages, report=report)


def _page_cap(pdf: pikepdf.Pdf, max_pages: int) -> None:
    from pressroom.core.errors import PdfLimitExceeded

    if len(pdf.pages) > max_pages:
        raise PdfLimitExceeded(
            f"The result would have {len(pdf.pages)} pages; the limit is {max_pages}",
            details={"limit": "pages", "pages": len(pdf.pages), "max_pages": max_pages},
        )


def _watermark(pdf: pikepdf.Pdf, mark: Watermark, max_decoded_bytes: int, decoded: int) -> int:
    """Apply ``mark``; returns the plan's running decoded total, a PDF overlay's streams counted in."""
    indices = split.parse_pages(mark.pages, len(pdf.pages)) if mark.pages else None
    if mark.kind == "text":
        text = watermark.TextMark(
            text=mark.text or "",
            font_size=mark.font_size,
            color=mark.color,
            opacity=mark.opacity,
            angle=mark.angle,
            position=mark.position,  # type: ignore[arg-type]
        )
        watermark.apply_mark(pdf, text, indices)
        return decoded
    if mark.kind == "image":
        assert mark.data is not None
        image = watermark.ImageMark(
            image=mark.data,
            mime_type=mark.mime_type,
            width_pt=mark.width_pt,
            opacity=mark.opacity,
            angle=mark.angle,
            position=mark.position,  # type: ignore[arg-type]
        )
        watermark.apply_mark(pdf, image, indices)
        return decoded
    assert mark.data is not None
    with open_pdf(mark.data, mark.password) as overlay:
        decoded = check_decoded_size(overlay, max_decoded_bytes, decoded)
        watermark.apply_pdf_overlay(pdf, overlay, mark.page, indices)
    return decoded


def _archive_or_save(pdf: pikepdf.Pdf, plan: Plan, save_kwargs: dict[str, Any], report: dict[str, Any]) -> bytes:
    steps: list[str] = report["steps"]
    if plan.facturx is not None:
        level = pdfa.normalize_level(plan.pdfa or "3b")
        base = pdfa.convert(pdf, level, save_kwargs)
        language = str(pdf.Root.Lang) if "/Lang" in pdf.Root else None
        info = {k: v for k, v in metadata.read_metadata(pdf).items() if k in ("title", "author", "subject", "keywords")}
        data = facturx.embed(
            base,
            plan.facturx.xml,
            plan.facturx.profile,
            relationship=plan.facturx.relationship,
            lang=language,
            metadata=info if "title" in info else None,
        )
        findings = pdfa.validate(data, "3b", allow_attachments=True)
        if findings:
            raise PdfaNotPossible(
                "The Factur-X document does not pass PDF/A-3b validation",
                details={"pdf_format": "PDF/A-3b", "findings": findings[:50]},
            )
        report["pdf_format"] = f"PDF/A-{level}"
        report["factur_x"] = {"profile": plan.facturx.profile, "relationship": plan.facturx.relationship}
        steps.append("facturx")
        return data
    if plan.pdfa:
        level = pdfa.normalize_level(plan.pdfa)
        data = pdfa.convert(pdf, level, save_kwargs)
        report["pdf_format"] = f"PDF/A-{level}"
        steps.append("pdfa")
        return data
    if plan.encrypt is not None and openssl_aes256(plan):
        report["encryption"] = {"algorithm": plan.encrypt.algorithm}
        return _aes256(pdf, plan.encrypt, signing=plan.sign is not None)
    out = io.BytesIO()
    # Without compress, streams are copied as they are: nothing is decoded, so a decompression bomb passing
    # through a merge or an encryption is never expanded.
    # (qpdf's compress_streams would decode multi-filter streams to re-encode them, hence off here.)
    kwargs = {"stream_decode_level": pikepdf.StreamDecodeLevel.none, "compress_streams": False, **save_kwargs}
    if plan.encrypt is not None:
        # qpdf encrypts stream data as it is; it refuses an explicit decode level together with encryption.
        if kwargs.get("stream_decode_level") == pikepdf.StreamDecodeLevel.none:
            del kwargs["stream_decode_level"]
        e = plan.encrypt
        kwargs["encryption"] = encrypt.encryption(e.user_password, e.owner_password, e.permissions, e.algorithm)
        report["encryption"] = {"algorithm": e.algorithm}
    pdf.save(out, **kwargs)
    return out.getvalue()


def _aes256(pdf: pikepdf.Pdf, spec: Encryption, *, signing: bool) -> bytes:
    key = spec.file_key or aes256.new_file_key()
    data = aes256.write_encrypted(pdf, key)
    if spec.caller_adds_dictionary and spec.file_key is not None and not signing:
        return data  # the signature (if any) needs the complete file, so only unsigned output is left to finish
    dictionary = aes256.encrypt_dictionary(key, spec.user_password, spec.owner_password, spec.permissions)
    return aes256.add_to_trailer(data, dictionary)


def page_count(data: bytes, password: str | None = None, max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES) -> int:
    """Pages of a PDF (sandboxed like everything else that parses tenant bytes)."""
    apply_qpdf_limits(max_decoded_bytes)
    with open_pdf(data, password) as pdf:
        return len(pdf.pages)


def render_preview(
    data: bytes, page: int, dpi: int, password: str | None = None, max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
) -> tuple[bytes, int, int]:
    """A page as PNG. PDFium inflates whatever the page uses, so what that page reaches is measured first
    (with qpdf, under the same limit as every operation): one page of a large document stays previewable."""
    apply_qpdf_limits(max_decoded_bytes)
    with open_pdf(data, password) as pdf:
        if 1 <= page <= len(pdf.pages):  # out of range: PDFium's answer names the range
            check_decoded_size(pdf, max_decoded_bytes, streams=page_streams(pdf, page - 1))
    return preview.render_png(data, page, dpi, password)


def warm() -> bool:
    """Import the heavy engines once, in the forkserver, so that forked workers start warm."""
    import pyhanko.sign  # noqa: F401
    import pypdfium2  # type: ignore[import-untyped]  # noqa: F401
    from pikepdf import pdfa as _pdfa  # noqa: F401

    return True


warm()
