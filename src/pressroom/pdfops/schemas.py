"""Pydantic I/O of the PDF operations. Shapes follow the Bytedoc reference where it has the operation
(``source``, ``sources``, ``pages``, ``encryption {...}``, ``options.filename``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pressroom.core.filenames import StorableName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _exactly_one(*names: str) -> dict[str, Any]:
    """A model validator's "exactly one of these is given (not null)" in the JSON schema as well, so that
    clients (and the fuzzer's valid examples) see the rule the validator enforces."""
    return {"oneOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in names]}


class SourceRef(_Strict):
    """Where a PDF (or a file to embed) comes from.

    ``document``: a stored document of the caller (``id``); ``template``: a stored HTML template rendered
    with ``data``; ``file``: the multipart upload ``file_<index>``; ``url``: fetched through the network gate.
    """

    # The rule of ``_required`` in the JSON schema too (clients, and the fuzzer's valid examples, need to know
    # that a url source needs its url): for each type, the field it needs is present and not null.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": kind}}},
                    "then": {"required": [needed], "properties": {needed: {"type": json_type}}},
                }
                for kind, needed, json_type in (
                    ("document", "id", "string"),
                    ("template", "id", "string"),
                    ("file", "index", "integer"),
                    ("url", "url", "string"),
                )
            ]
        }
    )

    type: Literal["document", "template", "file", "url"]
    id: str | None = Field(default=None, max_length=64)
    index: int | None = Field(default=None, ge=0, le=99)
    url: str | None = Field(default=None, max_length=2048)
    data: dict[str, Any] | None = None
    password: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _required(self) -> SourceRef:
        needed = {"document": "id", "template": "id", "file": "index", "url": "url"}[self.type]
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.type} source needs '{needed}'")
        return self


class Permissions(_Strict):
    printing: bool = True
    modifying: bool = True
    copying: bool = True
    annotating: bool = True
    filling_forms: bool = True
    extracting: bool = True


class EncryptionSpec(_Strict):
    user_password: str = Field(min_length=1, max_length=127)
    owner_password: str | None = Field(default=None, max_length=127)
    permissions: Permissions = Field(default_factory=Permissions)
    algorithm: Literal["aes256", "aes128", "rc4"] = "aes256"


class CompressSpec(_Strict):
    images: bool = False
    quality: int = Field(default=75, ge=10, le=95)
    max_dpi: int | None = Field(default=150, ge=36, le=1200)
    object_streams: bool = True


Relationship = Literal["Data", "Source", "Alternative", "Supplement", "Unspecified"]


class EmbedFile(_Strict):
    source: SourceRef
    name: str | None = Field(default=None, max_length=200)
    mime_type: str | None = Field(default=None, max_length=100)
    description: str = Field(default="", max_length=1000)
    relationship: Relationship = "Unspecified"

    @model_validator(mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        # DokJet's embed_files is a list of URLs: accept a bare string as {source: {type: url, url}}.
        if isinstance(value, str):
            return {"source": {"type": "url", "url": value}}
        return value


class MetadataSpec(_Strict):
    title: str | None = Field(default=None, max_length=1000)
    author: str | None = Field(default=None, max_length=1000)
    subject: str | None = Field(default=None, max_length=1000)
    keywords: str | None = Field(default=None, max_length=1000)
    creator: str | None = Field(default=None, max_length=1000)
    producer: str | None = Field(default=None, max_length=1000)
    language: str | None = Field(default=None, max_length=35)


class WatermarkSpec(_Strict):
    """Exactly one of ``text``, ``image`` (PNG/JPEG source) or ``pdf`` (a page of a PDF source)."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("text", "image", "pdf"))
    text: str | None = Field(default=None, max_length=200)
    image: SourceRef | None = None
    pdf: SourceRef | None = None
    page: int = Field(default=1, ge=1, le=1_000_000, description="page of the overlay PDF")
    font_size: float = Field(default=72, gt=0, le=500)
    color: str = Field(default="#FF0000", pattern=r"^#[0-9A-Fa-f]{6}$")
    opacity: float = Field(default=0.3, ge=0, le=1)
    angle: float = Field(default=45, ge=-360, le=360)
    position: Literal["center", "top", "bottom"] = "center"
    width_pt: float | None = Field(default=None, gt=0, le=5000)
    pages: str | None = Field(default=None, max_length=500, description="page expression; all pages when absent")

    @model_validator(mode="after")
    def _one_kind(self) -> WatermarkSpec:
        given = [name for name in ("text", "image", "pdf") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, image or pdf")
        return self


class FacturxSpec(_Strict):
    """The invoice XML (validated against its profile's XSD) or a JSON invoice to build it from."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("xml", "invoice"))
    xml: str | None = Field(default=None, max_length=5_000_000)
    invoice: dict[str, Any] | None = None
    profile: str | None = Field(default=None, max_length=20, description="MINIMUM, BASIC WL, BASIC, EN 16931")
    relationship: Literal["Data", "Alternative", "Source"] = "Data"

    @model_validator(mode="after")
    def _one_input(self) -> FacturxSpec:
        if (self.xml is None) == (self.invoice is None):
            raise ValueError("give exactly one of xml or invoice")
        return self


class SignatureBoxSpec(_Strict):
    page: int = Field(default=1, ge=1, le=1_000_000)
    rect: tuple[float, float, float, float] = (36, 36, 236, 96)
    text: str | None = Field(default=None, max_length=500)
    image: SourceRef | None = None


class SignSpec(_Strict):
    key_id: str = Field(max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    location: str | None = Field(default=None, max_length=500)
    contact: str | None = Field(default=None, max_length=500)
    field_name: str = Field(default="Signature1", max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    visible: SignatureBoxSpec | None = None


class PdfOptions(_Strict):
    """``options.pdf`` on every producing call; applied in the documented pipeline order:
    attachments (merged after) -> embed_files -> metadata -> watermark -> pdf_format / factur_x -> compress
    -> sign -> password / encryption."""

    attachments: list[SourceRef] = Field(default_factory=list, max_length=49)
    embed_files: list[EmbedFile] = Field(default_factory=list, max_length=20)
    metadata: MetadataSpec | None = None
    watermark: WatermarkSpec | None = None
    pdf_format: str | None = Field(default=None, max_length=20, description="PDF/A-1a, 1b, 2a, 2b, 2u, 3a, 3b, 3u")
    factur_x: FacturxSpec | None = None
    compress: bool | CompressSpec = False
    sign: SignSpec | None = None
    password: str | None = Field(default=None, min_length=1, max_length=127, description="shorthand: AES-256")
    encryption: EncryptionSpec | None = None

    @model_validator(mode="after")
    def _one_encryption(self) -> PdfOptions:
        if self.password is not None and self.encryption is not None:
            raise ValueError("give password or encryption, not both")
        return self


class OperationOptions(_Strict):
    filename: StorableName | None = Field(default=None, max_length=200)
    pdf: PdfOptions | None = None


class _Operation(_Strict):
    options: OperationOptions = Field(default_factory=OperationOptions)
    is_async: bool = Field(default=False, alias="async")
    webhook_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] = Field(default_factory=dict, description="job/document metadata (not PDF metadata)")


class _OneSource(_Operation):
    source: SourceRef


class MergeRequest(_Operation):
    sources: list[SourceRef] = Field(min_length=2, max_length=50)


class SplitRequest(_OneSource):
    pages: str = Field(min_length=1, max_length=1000)


class EncryptRequest(_OneSource):
    encryption: EncryptionSpec


class CompressRequest(_OneSource, CompressSpec):
    pass


class EmbedRequest(_OneSource):
    files: list[EmbedFile] = Field(min_length=1, max_length=20)


class MetadataRequest(_OneSource, MetadataSpec):
    pass


class WatermarkRequest(_OneSource):
    watermark: WatermarkSpec


class PdfaRequest(_OneSource):
    pdf_format: str = Field(default="PDF/A-2b", max_length=20)


class FacturxRequest(_OneSource, FacturxSpec):
    pass


class SignRequest(_OneSource, SignSpec):
    pass


OPERATION_MODELS: dict[str, type[_Operation]] = {
    "merge": MergeRequest,
    "split": SplitRequest,
    "encrypt": EncryptRequest,
    "compress": CompressRequest,
    "embed": EmbedRequest,
    "metadata": MetadataRequest,
    "watermark": WatermarkRequest,
    "pdfa": PdfaRequest,
    "facturx": FacturxRequest,
    "sign": SignRequest,
}


class SigningKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    subject: str
    issuer: str
    serial_number: str
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime
    created_at: datetime


class SigningKeyCreate(_Strict):
    """JSON form of ``POST /v1/signing-keys`` (multipart takes ``file`` + ``password`` + ``name``)."""

    name: str = Field(default="", max_length=200)
    pkcs12: str = Field(min_length=1, max_length=1_000_000, description="base64 of the PKCS#12 (.p12/.pfx) file")
    password: str | None = Field(default=None, max_length=256)
