"""PDF operations as jobs, the ``options.pdf`` post-processing of every producing call, signing keys.

The service resolves sources (stored documents, templates rendered on the spot, uploads kept in the blob
store, URLs fetched through the network gate), turns a request into a :class:`pipeline.Plan`, and runs the
plan in the sandbox. It never parses a PDF in this process.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pressroom.config import Settings
from pressroom.core.errors import (
    DocumentNotFound,
    InternalError,
    InvalidSigningKey,
    PdfLimitExceeded,
    PdfTimeout,
    PressroomError,
    SigningKeyNotFound,
    UploadMissing,
    ValidationFailed,
)
from pressroom.core.filenames import safe_filename
from pressroom.core.ids import new_id
from pressroom.core.images import image_size
from pressroom.db.models_pdf import SigningKey
from pressroom.db.session import Database
from pressroom.documents.service import DocumentExpired, DocumentService
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.net.client import fetch_failed
from pressroom.pdf import aes256, facturx, pdfa, pipeline
from pressroom.pdf.safeopen import Sandbox
from pressroom.pdf.sign import SignatureBox, describe_certificate
from pressroom.pdf.sign import SignRequest as SignPlan
from pressroom.pdfops.repository import ReportRepository, SigningKeyRepository, SourceDocumentRepository
from pressroom.pdfops.schemas import (
    OPERATION_MODELS,
    CompressRequest,
    CompressSpec,
    EmbedFile,
    EmbedRequest,
    EncryptionSpec,
    EncryptRequest,
    FacturxRequest,
    FacturxSpec,
    MergeRequest,
    MetadataRequest,
    MetadataSpec,
    PdfaRequest,
    PdfOptions,
    SignRequest,
    SignSpec,
    SourceRef,
    SplitRequest,
    WatermarkRequest,
    WatermarkSpec,
)
from pressroom.storage.keys import upload_key

_KEY_INFO = b"pressroom signing-keys v1"
MAX_PKCS12_BYTES = 1024 * 1024
KEY_OPEN_TIMEOUT_S = 5.0  # a real key opens in milliseconds (2 million PBKDF2 rounds: 0.5 s)
# Reports of sync jobs waiting for their HTTP answer (normally picked up within the same request).
MAX_PENDING_REPORTS = 256
DEFAULT_FILENAMES = {
    "merge": "merged",
    "split": "split",
    "encrypt": "encrypted",
    "compress": "compressed",
    "embed": "embedded",
    "metadata": "document",
    "watermark": "watermarked",
    "pdfa": "pdfa",
    "facturx": "factur-x",
    "sign": "signed",
}


class DocumentReader(Protocol):
    def read(self, account_id: str, document_id: str) -> tuple[Any, bytes]: ...


class TemplateRenderer(Protocol):
    """Renders a stored HTML template to PDF bytes (the DocumentGenerator)."""

    def render_template(self, account_id: str, template_id: str, data: dict[str, Any] | None) -> bytes: ...


class BlobStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> str | None: ...

    def delete(self, key: str) -> None: ...


class Downloader(Protocol):
    def __call__(self, url: str, max_bytes: int) -> bytes: ...


class PdfOpsService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: BlobStore,
        documents: DocumentReader,
        templates: TemplateRenderer,
        download: Downloader,
        sandbox: Sandbox,
    ) -> None:
        self.settings = settings
        self.limits = settings.pdf
        self.db = db
        self.store = store
        self.documents = documents
        self.templates = templates
        self.download = download
        self.sandbox = sandbox
        self._pending_reports: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._reports_lock = threading.Lock()

    # -- wiring -----------------------------------------------------------------------------------------
    def register(self, registry: OperationRegistry) -> None:
        for name in OPERATION_MODELS:
            registry.register(name, self._operation(name))

    def _operation(self, name: str) -> Callable[[JobContext, dict[str, Any]], Output]:
        def run(ctx: JobContext, request: dict[str, Any]) -> Output:
            return self.execute(name, ctx, request)

        return run

    def start(self) -> None:
        self.sandbox.start()

    def close(self) -> None:
        self.sandbox.close()

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

    # -- operations -------------------------------------------------------------------------------------
    def execute(self, name: str, ctx: JobContext, request: dict[str, Any]) -> Output:
        body = dict(request)
        uploads = Uploads(self.store, body.pop("uploads", []))
        model = OPERATION_MODELS[name].model_validate(body)
        plan = self._plan(name, model, ctx, uploads)
        options = model.options.pdf
        if options is not None:
            self._apply_options(plan, options, ctx.account_id, uploads, overriding=False)
        result = self._run(plan)
        report = {"operation": name, **result.report}
        if ctx.is_async:
            self._save_report(ctx, report)
        else:
            self._hand_over_report(ctx, report)
        uploads.delete()  # the output exists; the job no longer needs its inputs
        filename = safe_filename(model.options.filename, DEFAULT_FILENAMES[name])
        return Output(data=result.data, filename=filename, pages=result.pages)

    def finish(self, ctx: JobContext, data: bytes, raw_options: dict[str, Any] | None) -> tuple[bytes, int | None]:
        """Post-process a freshly produced PDF (generate/transform): ``options.pdf`` + the TEST mark.

        Returns the bytes unchanged (and None pages) when there is nothing to do, so live keys without
        options pay nothing.
        """
        test_mode = ctx.key_mode == "test"
        if not raw_options and not test_mode:
            return data, None
        options = PdfOptions.model_validate(raw_options or {})
        plan = pipeline.Plan(
            sources=[pipeline.SourcePdf(data, label="rendered")],
            max_pages=self.limits.max_pages,
            max_decoded_bytes=self.limits.max_decoded_bytes,
        )
        plan.test_mode = test_mode
        self._apply_options(plan, options, ctx.account_id, Uploads(self.store, []), overriding=True)
        result = self._run(plan)
        self._save_report(ctx, {"operation": "options.pdf", **result.report})
        return result.data, result.pages

    def _run(self, plan: pipeline.Plan) -> pipeline.Result:
        pipeline.check_compatible(plan)  # cheap, and answers before any source is sent to the sandbox
        spec = plan.encrypt
        if spec is None or plan.sign is not None or not pipeline.openssl_aes256(plan):
            return self.sandbox.run(pipeline.run, plan)
        # AES-256's password hashing (~5 ms of CPU) does not depend on the document: it runs here, on the
        # other core, while the sandbox merges and encrypts; the dictionary then completes the file's trailer.
        # The key never leaves this process and the sandbox, like the passwords it is derived with.
        key = spec.file_key = aes256.new_file_key()
        spec.caller_adds_dictionary = True
        result, dictionary = self.sandbox.run_alongside(
            pipeline.run,
            (plan,),
            lambda: aes256.encrypt_dictionary(key, spec.user_password, spec.owner_password, spec.permissions),
        )
        result.data = aes256.add_to_trailer(result.data, dictionary)
        result.report["bytes_out"] = len(result.data)
        return result

    def _save_report(self, ctx: JobContext, report: dict[str, Any]) -> None:
        with self.db.session() as session:
            ReportRepository(session).put(ctx.job_id, ctx.account_id, report)

    def _hand_over_report(self, ctx: JobContext, report: dict[str, Any]) -> None:
        """A sync job runs in the process (and during the request) that answers it, so its report goes
        straight to that answer instead of through a database row written and read back within the call.
        (Should another runner take a sync job over after a lost lease, that answer has no report.)"""
        with self._reports_lock:
            self._pending_reports[ctx.job_id] = (ctx.account_id, report)
            while len(self._pending_reports) > MAX_PENDING_REPORTS:  # answers that failed before taking theirs
                self._pending_reports.popitem(last=False)

    def report(self, account_id: str, job_id: str) -> dict[str, Any] | None:
        with self._reports_lock:
            owner, pending = self._pending_reports.pop(job_id, (None, None))
        if pending is not None and owner == account_id:
            return pending
        with self.db.session() as session:
            return ReportRepository(session).get(account_id, job_id)

    def _plan(self, name: str, model: Any, ctx: JobContext, uploads: Uploads) -> pipeline.Plan:
        account = ctx.account_id
        if isinstance(model, MergeRequest):
            if len(model.sources) > self.limits.max_sources:
                raise PdfLimitExceeded(
                    f"At most {self.limits.max_sources} sources can be merged",
                    details={"limit": "sources", "max_sources": self.limits.max_sources},
                )
            stored = self._stored_documents(account, model.sources)
            sources = [self._source_pdf(account, ref, uploads, stored) for ref in model.sources]
        else:
            sources = [self._source_pdf(account, model.source, uploads)]
        plan = pipeline.Plan(
            sources=sources,
            max_pages=self.limits.max_pages,
            max_decoded_bytes=self.limits.max_decoded_bytes,
            test_mode=ctx.key_mode == "test",
        )
        if isinstance(model, SplitRequest):
            plan.split = model.pages
        elif isinstance(model, EncryptRequest):
            plan.encrypt = _encryption(model.encryption)
        elif isinstance(model, CompressRequest):
            plan.compress = _compression(model)
        elif isinstance(model, EmbedRequest):
            plan.attachments = [self._attachment(account, item, uploads) for item in model.files]
        elif isinstance(model, MetadataRequest):
            plan.metadata = model.model_dump(include=set(MetadataSpec.model_fields), exclude_none=True)
        elif isinstance(model, WatermarkRequest):
            plan.watermarks = [self._watermark(account, model.watermark, uploads)]
        elif isinstance(model, PdfaRequest):
            plan.pdfa = pdfa.normalize_level(model.pdf_format)
        elif isinstance(model, FacturxRequest):
            plan.facturx = self._facturx(model)
        elif isinstance(model, SignRequest):
            plan.sign = self._sign(account, model, uploads)
        return plan

    def _apply_options(
        self, plan: pipeline.Plan, options: PdfOptions, account: str, uploads: Uploads, *, overriding: bool
    ) -> None:
        """Fill the plan from ``options.pdf``. An operation's own step wins over the same step in options."""
        for ref in options.attachments:
            plan.sources.append(self._source_pdf(account, ref, uploads))
        if len(plan.sources) > self.limits.max_sources:
            raise PdfLimitExceeded(
                f"At most {self.limits.max_sources} documents can be merged",
                details={"limit": "sources", "max_sources": self.limits.max_sources},
            )
        plan.attachments.extend(self._attachment(account, item, uploads) for item in options.embed_files)
        if options.metadata is not None and (overriding or plan.metadata is None):
            plan.metadata = options.metadata.model_dump(exclude_none=True)
        if options.watermark is not None:
            plan.watermarks.append(self._watermark(account, options.watermark, uploads))
        if options.pdf_format and (overriding or plan.pdfa is None):
            plan.pdfa = pdfa.normalize_level(options.pdf_format)
        if options.factur_x is not None and plan.facturx is None:
            plan.facturx = self._facturx(options.factur_x)
        if options.compress and plan.compress is None:
            spec = options.compress if isinstance(options.compress, CompressSpec) else CompressSpec()
            plan.compress = _compression(spec)
        if options.sign is not None and plan.sign is None:
            plan.sign = self._sign(account, options.sign, uploads)
        if plan.encrypt is None:
            if options.encryption is not None:
                plan.encrypt = _encryption(options.encryption)
            elif options.password is not None:
                plan.encrypt = pipeline.Encryption(user_password=options.password)

    # -- sources ----------------------------------------------------------------------------------------
    def _stored_documents(self, account: str, refs: list[SourceRef]) -> dict[str, pipeline.SourcePdf]:
        """Every stored-document source, their rows fetched in one query: a merge of 50 stored documents is
        one database round trip, not 50. Same answers as ``DocumentReader.read``."""
        ids = [ref.id for ref in refs if ref.type == "document" and ref.id is not None]
        if not ids:
            return {}
        with self.db.session() as session:
            found = SourceDocumentRepository(session).many(account, ids)
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

    def _bytes(self, account: str, ref: SourceRef, uploads: Uploads) -> bytes:
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

    def _source_pdf(
        self, account: str, ref: SourceRef, uploads: Uploads, stored: dict[str, pipeline.SourcePdf] | None = None
    ) -> pipeline.SourcePdf:
        label = ref.id or (f"file_{ref.index}" if ref.index is not None else (ref.url or ref.type))
        if ref.type == "document":
            assert ref.id is not None
            stored = stored if stored and ref.id in stored else self._stored_documents(account, [ref])
            source = dataclasses.replace(stored[ref.id])  # one per reference: a document may be merged twice
        elif ref.type == "file":
            assert ref.index is not None
            source = uploads.source(ref.index)
        else:
            source = pipeline.SourcePdf(self._bytes(account, ref, uploads))
        source.password, source.label = ref.password, label
        return source

    def _attachment(self, account: str, item: EmbedFile, uploads: Uploads) -> pipeline.Attachment:
        data = self._bytes(account, item.source, uploads)
        name = item.name or _name_from(item.source)
        return pipeline.Attachment(
            name=name,
            data=data,
            mime_type=item.mime_type,
            description=item.description,
            relationship=item.relationship,
        )

    def _watermark(self, account: str, spec: WatermarkSpec, uploads: Uploads) -> pipeline.Watermark:
        common: dict[str, Any] = {
            "opacity": spec.opacity,
            "angle": spec.angle,
            "position": spec.position,
            "pages": spec.pages,
        }
        if spec.text is not None:
            return pipeline.Watermark(kind="text", text=spec.text, font_size=spec.font_size, color=spec.color, **common)
        if spec.image is not None:
            data = self._bytes(account, spec.image, uploads)
            mime = _image_type(data, self.limits.max_image_pixels, "watermark.image")
            return pipeline.Watermark(kind="image", data=data, mime_type=mime, width_pt=spec.width_pt, **common)
        assert spec.pdf is not None
        data = self._bytes(account, spec.pdf, uploads)
        return pipeline.Watermark(kind="pdf", data=data, page=spec.page, password=spec.pdf.password, **common)

    def _facturx(self, spec: FacturxSpec) -> pipeline.FacturX:
        if spec.xml is not None:
            xml = spec.xml.encode("utf-8")
            requested = facturx.normalize_profile(spec.profile) if spec.profile else None
            # Parsed here with the hardened parser (small, bounded input) so that a bad XML fails before any
            # PDF work, and again nowhere else: the sandbox receives checked bytes.
            _root, profile = facturx.validate_xml(xml, requested)
        else:
            assert spec.invoice is not None
            profile = facturx.normalize_profile(spec.profile or "en16931")
            try:
                xml = facturx.build_xml(spec.invoice, profile)
            except (KeyError, TypeError, ArithmeticError, ValueError) as exc:
                raise ValidationFailed(
                    f"The invoice is incomplete or invalid: {exc!s}", details={"field": "invoice", "reason": str(exc)}
                ) from None
            _root, profile = facturx.validate_xml(xml, profile)
        return pipeline.FacturX(xml=xml, profile=profile, relationship=spec.relationship)

    def _sign(self, account: str, spec: SignSpec, uploads: Uploads) -> SignPlan:
        pkcs12, password = self._key_material(account, spec.key_id)
        box = None
        if spec.visible is not None:
            image = self._bytes(account, spec.visible.image, uploads) if spec.visible.image else None
            if image is not None:  # decoded by PIL in the sandbox: its declared size is checked here first
                _check_pixels(image, self.limits.max_image_pixels, "sign.visible.image")
            box = SignatureBox(page=spec.visible.page, rect=spec.visible.rect, text=spec.visible.text, image=image)
        return SignPlan(
            pkcs12=pkcs12,
            passphrase=password.encode() if password else None,
            field_name=spec.field_name,
            reason=spec.reason,
            location=spec.location,
            contact=spec.contact,
            box=box,
            timestamp_url=self.limits.timestamp_url,
        )

    # -- previews ---------------------------------------------------------------------------------------
    def preview(self, account_id: str, document_id: str, page: int, dpi: int, password: str | None) -> bytes:
        _document, data = self.documents.read(account_id, document_id)
        png, _width, _height = self.sandbox.run(
            pipeline.render_preview, data, page, dpi, password, self.limits.max_decoded_bytes
        )
        return png

    # -- signing keys -----------------------------------------------------------------------------------
    def _aead(self, salt: bytes) -> AESGCM:
        secret = self.settings.resolved_secret_key().encode()
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_KEY_INFO).derive(secret)
        return AESGCM(key)

    def create_key(self, account_id: str, name: str, pkcs12: bytes, password: str | None) -> SigningKey:
        if len(pkcs12) > MAX_PKCS12_BYTES:
            raise InvalidSigningKey(f"The PKCS#12 file exceeds {MAX_PKCS12_BYTES} bytes")
        # Opened in the sandbox, under a short deadline: a PKCS#12 file chooses its own key-derivation
        # iteration count (2^31 rounds would cost minutes of CPU), so opening one is untrusted work too.
        try:
            facts = self.sandbox.run(
                describe_certificate, pkcs12, password.encode() if password else None, timeout_s=KEY_OPEN_TIMEOUT_S
            )
        except PdfTimeout:
            raise InvalidSigningKey(
                f"The PKCS#12 archive does not open within {KEY_OPEN_TIMEOUT_S:g}s (key-derivation iterations)",
                details={"reason": "timeout", "timeout_s": KEY_OPEN_TIMEOUT_S},
            ) from None
        except PdfLimitExceeded:  # the sandbox's memory limit: still the archive's fault, named as such
            raise InvalidSigningKey(
                "The PKCS#12 archive exceeds the memory limit when opened", details={"reason": "memory"}
            ) from None
        key_id = new_id("skey")
        salt, nonce = os.urandom(16), os.urandom(12)
        secret = json.dumps({"pkcs12": base64.b64encode(pkcs12).decode(), "password": password}).encode()
        ciphertext = self._aead(salt).encrypt(nonce, secret, f"{account_id}:{key_id}".encode())
        record = SigningKey(
            id=key_id,
            account_id=account_id,
            name=name,
            subject=facts["subject"],
            issuer=facts["issuer"],
            serial_number=facts["serial_number"],
            fingerprint_sha256=facts["fingerprint_sha256"],
            not_before=datetime.fromisoformat(facts["not_before"]),
            not_after=datetime.fromisoformat(facts["not_after"]),
            salt=salt,
            nonce=nonce,
            ciphertext=ciphertext,
        )
        with self.db.session() as session:
            SigningKeyRepository(session).add(record)
        return record

    def create_key_from_base64(self, account_id: str, name: str, pkcs12_b64: str, password: str | None) -> SigningKey:
        try:
            data = base64.b64decode(pkcs12_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("pkcs12 must be base64", details=[{"field": "pkcs12"}]) from None
        return self.create_key(account_id, name, data, password)

    def list_keys(self, account_id: str) -> list[SigningKey]:
        with self.db.session() as session:
            return SigningKeyRepository(session).list(account_id)

    def get_key(self, account_id: str, key_id: str) -> SigningKey:
        with self.db.session() as session:
            record = SigningKeyRepository(session).get(account_id, key_id)
            if record is None:
                raise SigningKeyNotFound()
            return record

    def delete_key(self, account_id: str, key_id: str) -> None:
        with self.db.session() as session:
            repo = SigningKeyRepository(session)
            record = repo.get(account_id, key_id)
            if record is None:
                raise SigningKeyNotFound()
            repo.delete(record)

    def _key_material(self, account_id: str, key_id: str) -> tuple[bytes, str | None]:
        record = self.get_key(account_id, key_id)
        try:
            secret = self._aead(record.salt).decrypt(record.nonce, record.ciphertext, f"{account_id}:{key_id}".encode())
        except InvalidTag:
            # The service secret changed since the key was stored (or the row was tampered with).
            raise InternalError("The signing key cannot be decrypted with the current service secret") from None
        payload = json.loads(secret)
        return base64.b64decode(payload["pkcs12"]), payload["password"]


# -- helpers ------------------------------------------------------------------------------------------------
def _encryption(spec: EncryptionSpec) -> pipeline.Encryption:
    return pipeline.Encryption(
        user_password=spec.user_password,
        owner_password=spec.owner_password,
        permissions=spec.permissions.model_dump(),
        algorithm=spec.algorithm,
    )


def _compression(spec: CompressSpec) -> pipeline.Compression:
    return pipeline.Compression(
        images=spec.images, quality=spec.quality, max_dpi=spec.max_dpi, object_streams=spec.object_streams
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
    _check_pixels(data, max_pixels, field)
    return mime


def _check_pixels(data: bytes, max_pixels: int, field: str) -> None:
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
    """The uploaded files of a job, by index: byte ranges of a blob (:meth:`PdfOpsService.store_uploads`);
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


class TemplatePdfs:
    """Template sources: a stored HTML template rendered with the source's data (its sample data if none)."""

    def __init__(self, templates: Any, generator: Any) -> None:
        self.templates = templates
        self.generator = generator

    def render_template(self, account_id: str, template_id: str, data: dict[str, Any] | None) -> bytes:
        template = self.templates.get(account_id, template_id)
        values = data if data is not None else dict(template.sample_data or {})
        options = {k: v for k, v in (template.options or {}).items() if k != "pdf"}
        # account_id: the template may use this account's assets and fonts (asset:NAME), like generate.
        pdf = self.generator.render(template.body, template.css, values, options, account_id=account_id)
        return bytes(pdf.data)


def make_downloader(net: Any) -> Downloader:
    """URL sources through the network gate (purpose 'download'), size-capped, 2xx only."""

    def download(url: str, max_bytes: int) -> bytes:
        result = net.loop.run(net.client.fetch(url, purpose="download", max_bytes=max_bytes))
        if not 200 <= result.status < 300:
            raise fetch_failed(url, f"HTTP {result.status}")
        return bytes(result.body)

    return download
