"""Where the PDFs of an operation come from: stored documents, templates rendered on the spot, uploads kept
in the blob store and URLs fetched through the network gate, each turned into a :class:`pipeline.SourcePdf`
(or bytes, for attachments and watermark images)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Protocol

from pressroom.config import PdfSettings
from pressroom.core.errors import DocumentNotFound, PdfLimitExceeded, PressroomError, UploadMissing, ValidationFailed
from pressroom.core.filenames import safe_filename
from pressroom.core.ids import new_id
from pressroom.core.images import image_size
from pressroom.db.session import Database
from pressroom.documents.repository import DocumentRepository
from pressroom.documents.service import DocumentExpired, DocumentService
from pressroom.net.client import fetch_failed
from pressroom.pdf import pipeline
from pressroom.pdfops.schemas import EmbedFile, SourceRef, WatermarkSpec
from pressroom.storage.base import BlobStore
from pressroom.storage.keys import upload_key


class DocumentReader(Protocol):
    def read(self, account_id: str, document_id: str) -> tuple[Any, bytes]: ...


class TemplateRenderer(Protocol):
    """Renders a stored HTML template to PDF bytes (:class:`TemplatePdfs`)."""

    def render_template(self, account_id: str, template_id: str, data: dict[str, Any] | None) -> bytes: ...


class Downloader(Protocol):
    def __call__(self, url: str, max_bytes: int) -> bytes: ...


class PdfSources:
    """Resolves the source references of a request (``SourceRef``) for one account, within the PDF limits."""

    def __init__(
        self,
        limits: PdfSettings,
        db: Database,
        store: BlobStore,
        documents: DocumentReader,
        templates: TemplateRenderer,
        download: Downloader,
    ) -> None:
        self.limits = limits
        self.db = db
        self.store = store
        self.documents = documents
        self.templates = templates
        self.download = download

    # -- uploads ----------------------------------------------------------------------------------------
    def store_uploads(self, account_id: str, files: list[bytes]) -> list[dict[str, Any]]:
        """Keep a request's uploaded files in the blob store, for the job input to reference.

        All of them go into one blob, each a byte range of it: creating a file is the expensive part of a
        filesystem put (twenty 70 kB uploads cost ten times one 1.4 MB blob), and one blob is one delete.
        """
        for data in files:
            if len(data) > self.limits.max_input_bytes:
                raise PdfLimitExceeded(
                    f"An uploaded file exceeds {self.limits.max_input_bytes} bytes",
                    details={"limit": "bytes", "max_bytes": self.limits.max_input_bytes},
                )
        if not files:
            return []
        key = upload_key(account_id, new_id("upl"))  # ids only
        self.store.put(key, b"".join(files), "application/octet-stream")
        refs, offset = [], 0
        for data in files:
            refs.append({"key": key, "offset": offset, "length": len(data)})
            offset += len(data)
        return refs

    def uploads(self, entries: list[Any]) -> Uploads:
        """The uploads a job input references (the ``uploads`` list :meth:`store_uploads` returned)."""
        return Uploads(self.store, entries)

    # -- sources ----------------------------------------------------------------------------------------
    def stored_documents(self, account: str, refs: list[SourceRef]) -> dict[str, pipeline.SourcePdf]:
        """Every stored-document source, their rows fetched in one query: a merge of 50 stored documents is
        one database round trip, not 50. Same answers as ``DocumentReader.read``."""
        ids = [ref.id for ref in refs if ref.type == "document" and ref.id is not None]
        if not ids:
            return {}
        with self.db.session() as session:
            found = DocumentRepository(session).many(account, ids)
        contents: dict[str, pipeline.SourcePdf] = {}
        for document_id in ids:
            document = found.get(document_id)
            if document is None:
                raise DocumentNotFound()
            if DocumentService.is_expired(document):
                raise DocumentExpired()
            if document_id not in contents:
                missing = DocumentExpired("The document's file is no longer stored")
                contents[document_id] = self._blob_source(document.storage_key, missing)
        return contents

    def source_pdf(
        self, account: str, ref: SourceRef, uploads: Uploads, stored: dict[str, pipeline.SourcePdf] | None = None
    ) -> pipeline.SourcePdf:
        label = ref.id or (f"file_{ref.index}" if ref.index is not None else (ref.url or ref.type))
        if ref.type == "document":
            assert ref.id is not None
            stored = stored if stored and ref.id in stored else self.stored_documents(account, [ref])
            source = dataclasses.replace(stored[ref.id])  # one per reference: a document may be merged twice
        elif ref.type == "file":
            assert ref.index is not None
            source = uploads.source(ref.index)
        else:
            source = pipeline.SourcePdf(self.read_bytes(account, ref, uploads))
        source.password, source.label = ref.password, label
        return source

    def read_bytes(self, account: str, ref: SourceRef, uploads: Uploads) -> bytes:
        if ref.type == "document":
            assert ref.id is not None
            _document, data = self.documents.read(account, ref.id)
        elif ref.type == "template":
            assert ref.id is not None
            data = self.templates.render_template(account, ref.id, ref.data)
        elif ref.type == "file":
            assert ref.index is not None
            data = uploads.data(ref.index)
        else:
            assert ref.url is not None
            data = self.download(ref.url, self.limits.max_input_bytes)
        self._check_size(len(data))
        return data

    def attachment(self, account: str, item: EmbedFile, uploads: Uploads) -> pipeline.Attachment:
        data = self.read_bytes(account, item.source, uploads)
        name = item.name or _name_from(item.source)
        return pipeline.Attachment(
            name=name,
            data=data,
            mime_type=item.mime_type,
            description=item.description,
            relationship=item.relationship,
        )

    def watermark(self, account: str, spec: WatermarkSpec, uploads: Uploads) -> pipeline.Watermark:
        common: dict[str, Any] = {
            "opacity": spec.opacity,
            "angle": spec.angle,
            "position": spec.position,
            "pages": spec.pages,
        }
        if spec.text is not None:
            return pipeline.Watermark(kind="text", text=spec.text, font_size=spec.font_size, color=spec.color, **common)
        if spec.image is not None:
            data = self.read_bytes(account, spec.image, uploads)
            mime = _image_type(data, self.limits.max_image_pixels, "watermark.image")
            return pipeline.Watermark(kind="image", data=data, mime_type=mime, width_pt=spec.width_pt, **common)
        assert spec.pdf is not None
        data = self.read_bytes(account, spec.pdf, uploads)
        return pipeline.Watermark(kind="pdf", data=data, page=spec.page, password=spec.pdf.password, **common)

    def _blob_source(self, key: str, missing: PressroomError) -> pipeline.SourcePdf:
        """A source held by the blob store. A local file goes to the sandbox by name, and the sandbox reads
        it: the bytes are not read, pickled and piped through this process. Else its bytes."""
        path = self.store.local_path(key)
        if path is None:
            try:
                data = self.store.get(key)
            except KeyError:
                raise missing from None
            self._check_size(len(data))
            return pipeline.SourcePdf(data)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            raise missing from None
        self._check_size(size)
        return pipeline.SourcePdf(path=path, size=size, missing=missing.code)

    def _check_size(self, size: int) -> None:
        if size > self.limits.max_input_bytes:
            raise PdfLimitExceeded(
                f"A source exceeds {self.limits.max_input_bytes} bytes",
                details={"limit": "bytes", "max_bytes": self.limits.max_input_bytes},
            )


def _name_from(ref: SourceRef) -> str:
    if ref.type == "url" and ref.url:
        tail = ref.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if tail:
            return safe_filename(tail, "attachment", extension="")
    return f"attachment-{ref.index if ref.index is not None else ref.id}"


def _image_type(data: bytes, max_pixels: int, field: str) -> str:
    """PNG or JPEG, within ``max_pixels`` by its header (read without decoding: a few hundred bytes can
    declare 100,000 x 100,000 pixels, which the decoder would allocate)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime = "image/png"
    elif data.startswith(b"\xff\xd8"):
        mime = "image/jpeg"
    else:
        raise ValidationFailed("A watermark image must be PNG or JPEG", details=[{"field": field}])
    check_pixels(data, max_pixels, field)
    return mime


def check_pixels(data: bytes, max_pixels: int, field: str) -> None:
    size = image_size(data)
    if size is not None and size.pixels > max_pixels:
        raise PdfLimitExceeded(
            f"The {field} is {size.width}x{size.height} pixels; the limit is {max_pixels} pixels",
            details={"limit": "pixels", "field": field, "width": size.width, "height": size.height},
        )


@dataclasses.dataclass(frozen=True)
class _UploadRef:
    key: str
    offset: int = 0
    length: int | None = None  # None: the whole blob


class Uploads:
    """The uploaded files of a job, by index: byte ranges of a blob (:meth:`PdfSources.store_uploads`);
    a plain key (jobs written before uploads shared a blob) is a whole blob. Each blob is read at most once."""

    def __init__(self, store: BlobStore, entries: list[Any]) -> None:
        self.store = store
        self.refs = [_UploadRef(e) if isinstance(e, str) else _UploadRef(**e) for e in entries]
        self._blobs: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}  # of local blob files: the uploads of a request share one

    def _ref(self, index: int) -> _UploadRef:
        if index >= len(self.refs):
            raise ValidationFailed(
                f"Source file index {index} has no upload (send it as multipart field file_{index})",
                details={"index": index, "uploaded": len(self.refs)},
            )
        return self.refs[index]

    @staticmethod
    def _missing() -> UploadMissing:
        return UploadMissing("The uploaded file is no longer stored; send it again")

    def _blob(self, key: str) -> bytes:
        if key not in self._blobs:
            try:
                self._blobs[key] = self.store.get(key)
            except KeyError:
                raise self._missing() from None
        return self._blobs[key]

    def data(self, index: int) -> bytes:
        ref = self._ref(index)
        blob = self._blob(ref.key)
        if ref.length is None:
            return blob
        if ref.offset + ref.length > len(blob):
            raise self._missing()
        return blob[ref.offset : ref.offset + ref.length]

    def source(self, index: int) -> pipeline.SourcePdf:
        """A PDF source for the sandbox: the range of a local file (the sandbox reads it), else the bytes."""
        ref = self._ref(index)
        path = self.store.local_path(ref.key)
        if path is None:
            return pipeline.SourcePdf(self.data(index))
        if path not in self._sizes:
            try:
                self._sizes[path] = os.stat(path).st_size
            except FileNotFoundError:
                raise self._missing() from None
        size = self._sizes[path]
        if ref.length is None:  # a whole blob: the sandbox opens the file itself
            return pipeline.SourcePdf(path=path, size=size, missing=UploadMissing.code)
        if ref.offset + ref.length > size:
            raise self._missing()
        return pipeline.SourcePdf(path=path, offset=ref.offset, size=ref.length, missing=UploadMissing.code)

    def delete(self) -> None:
        for key in dict.fromkeys(ref.key for ref in self.refs):
            self.store.delete(key)
        self._blobs.clear()


class HtmlToPdf(Protocol):
    """Handlebars + data -> PDF (``generation.generator.HtmlToPdf``)."""

    def render(
        self, body: str, css: str, data: dict[str, Any], raw_options: dict[str, Any], *, account_id: str | None = None
    ) -> Any: ...


class StoredTemplates(Protocol):
    def get(self, account_id: str, template_id: str) -> Any: ...


class TemplatePdfs:
    """Template sources: a stored HTML template rendered with the source's data (its sample data if none)."""

    def __init__(self, templates: StoredTemplates, html: HtmlToPdf) -> None:
        self.templates = templates
        self.html = html

    def render_template(self, account_id: str, template_id: str, data: dict[str, Any] | None) -> bytes:
        template = self.templates.get(account_id, template_id)
        values = data if data is not None else dict(template.sample_data or {})
        options = {k: v for k, v in (template.options or {}).items() if k != "pdf"}
        # account_id: the template may use this account's assets and fonts (asset:NAME), like generate.
        pdf = self.html.render(template.body, template.css, values, options, account_id=account_id)
        return bytes(pdf.data)


def make_downloader(net: Any) -> Downloader:
    """URL sources through the network gate (purpose 'download'), size-capped, 2xx only."""

    def download(url: str, max_bytes: int) -> bytes:
        result = net.loop.run(net.client.fetch(url, purpose="download", max_bytes=max_bytes))
        if not 200 <= result.status < 300:
            raise fetch_failed(url, f"HTTP {result.status}")
        return bytes(result.body)

    return download
