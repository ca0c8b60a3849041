"""HTTP door of the PDF operations: POST /v1/documents/{merge,split,...} (JSON or multipart), previews,
signing keys. Translation only: every decision is in PdfOpsService, every answer goes through ``produce``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pressroom.api.bodies import check_value, loads, request_max_depth
from pressroom.api.deps import AppSettings, Caller, ContainerDep, Pdf, scope
from pressroom.api.openapi import ADMISSION, BINARY, MULTIPART, SERVICE, ErrorSource, body_ref, declare, schema_ref
from pressroom.api.responses import PRODUCED, produce
from pressroom.bootstrap import Container
from pressroom.core.errors import (
    AssetNotFound,
    DocumentNotFound,
    FacturxInvalid,
    IncompatibleOptions,
    InvalidPageRange,
    InvalidPdf,
    InvalidSigningKey,
    InvalidXml,
    PdfaNotPossible,
    PdfEncrypted,
    PdfLimitExceeded,
    PdfTimeout,
    RenderFailed,
    RenderResourceLimit,
    RenderTimeout,
    SigningKeyNotFound,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateSyntaxFailed,
    TimestampFailed,
    Unprocessable,
    UnsupportedMediaType,
    UploadMissing,
    UrlFetchFailed,
    UrlForbidden,
    ValidationFailed,
    WrongPassword,
)
from pressroom.core.principal import Principal
from pressroom.documents.service import DocumentExpired
from pressroom.pdfops.schemas import OPERATION_MODELS, SigningKeyCreate, SigningKeyOut, SourceRef

router = APIRouter(tags=["pdf operations"])

# What every PDF operation can answer besides its document: the body (400, 415 for another content type),
# admission, its sources (stored documents and templates, uploads, URLs) and the PDF work itself, also when a
# sync request reports its failed job.
PDF_OPERATION_ERRORS: tuple[ErrorSource, ...] = (
    *ADMISSION,
    UnsupportedMediaType,
    DocumentNotFound,
    TemplateNotFound,
    DocumentExpired,
    WrongPassword,
    PdfLimitExceeded,
    InvalidPdf,
    PdfEncrypted,
    PdfTimeout,
    InvalidPageRange,
    IncompatibleOptions,
    UploadMissing,
    UrlForbidden,
    UrlFetchFailed,
    RenderFailed,
    # A template source is rendered like generate renders it (its assets, its own errors, the render limits).
    AssetNotFound,
    TemplateSyntaxFailed,
    TemplateRenderFailed,
    RenderResourceLimit,
    RenderTimeout,
    *SERVICE,
    *MULTIPART,
)
_EXTRA_ERRORS: dict[str, tuple[ErrorSource, ...]] = {
    "pdfa": (PdfaNotPossible,),
    "facturx": (FacturxInvalid, InvalidXml, PdfaNotPossible),
    # Unprocessable: a signature box on a page the PDF does not have; 502: the timestamp authority failed.
    "sign": (SigningKeyNotFound, InvalidSigningKey, Unprocessable, TimestampFailed),
}


# A PDF operation as multipart/form-data: the fields of its JSON body (objects and arrays JSON-encoded) plus
# the uploaded files file_0, file_1... (or file / files), referenced from the body as {"type": "file", "index": n}.
_MULTIPART_OPERATION = schema_ref(
    "MultipartOperation",
    {
        "type": "object",
        "description": "The JSON body's fields as form fields (objects and arrays JSON-encoded), plus the files.",
        "properties": {"file": BINARY, "files": {"type": "array", "items": BINARY}},
        "patternProperties": {"^file_[0-9]+$": BINARY},
        "additionalProperties": {"type": "string"},
    },
)


# Multipart text fields that carry JSON (Bytedoc sends `sources` and `options` as JSON strings).
_JSON_START = ("{", "[")
_JSON_WORDS = {"true": True, "false": False, "null": None}


async def _read_body(request: Request) -> tuple[dict[str, Any], list[tuple[int, UploadFile]]]:
    """The request as a dict plus its uploaded files by index (``file_<n>``, ``file``, ``files``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/json", ""):
        # The strict reader of api/bodies.py (INVALID_JSON: UTF-8, depth, NaN, lone surrogates; NUL refused).
        body = loads(await request.body() or b"{}", max_depth=request_max_depth(request))
        if not isinstance(body, dict):
            raise ValidationFailed("The request body must be a JSON object")
        return body, []
    return await _read_multipart(request, content_type)


async def _read_multipart(request: Request, content_type: str) -> tuple[dict[str, Any], list[tuple[int, UploadFile]]]:
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            f"Send application/json or multipart/form-data, not {content_type}",
            details={"content_type": content_type},
        )
    form = await request.form(max_files=100, max_fields=200)
    fields: dict[str, Any] = {}
    files: list[tuple[int, UploadFile]] = []
    extra = 0
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name.startswith("file_") and name[5:].isdigit():
                files.append((int(name[5:]), value))
            elif name in ("file", "files"):
                files.append((1000 + extra, value))  # ordered after explicit indices, renumbered below
                extra += 1
            else:
                raise ValidationFailed(
                    f"Unexpected file field {name!r}: use file_0, file_1...", details=[{"field": name}]
                )
            continue
        text = str(value)
        stripped = text.strip()
        if stripped.startswith(_JSON_START):
            fields[name] = loads(stripped, max_depth=request_max_depth(request), field=name)
        elif stripped in _JSON_WORDS:
            fields[name] = _JSON_WORDS[stripped]
        else:
            check_value(text, field=name)  # a NUL in a plain field is refused like one in JSON
            fields[name] = text
    if any(index >= 1000 for index, _ in files):
        taken = {index for index, _ in files if index < 1000}
        free = (i for i in range(1000) if i not in taken)
        files = [(index if index < 1000 else next(free), upload) for index, upload in files]
    return fields, sorted(files, key=lambda item: item[0])


def _file_indices(value: Any) -> set[int]:
    """Every ``{"type": "file", "index": n}`` in the request, wherever it is nested."""
    found: set[int] = set()
    if isinstance(value, SourceRef):
        if value.type == "file" and value.index is not None:
            found.add(value.index)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found |= _file_indices(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            found |= _file_indices(item)
    return found


async def _operation(name: str, request: Request, principal: Principal, container: Container) -> Response:
    body, files = await _read_body(request)
    try:
        model = OPERATION_MODELS[name].model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    uploaded = {index for index, _ in files}
    missing = sorted(_file_indices(model) - uploaded)
    if missing:
        raise ValidationFailed(
            f"The request references file_{missing[0]} but no such file was uploaded",
            details=[{"field": f"file_{index}", "message": "missing upload"} for index in missing],
        )
    if [index for index, _ in files] != list(range(len(files))):
        raise ValidationFailed("Uploaded files must be numbered file_0, file_1... without gaps")
    contents = [await upload.read() for _, upload in files]

    def submit() -> Response:
        # Job input is JSON: uploads go to the blob store first and the job references them by key.
        uploads = container.pdf.store_uploads(principal.account_id, contents)
        payload = model.model_dump(mode="json", exclude={"is_async", "webhook_url", "metadata"})
        payload["uploads"] = uploads
        return produce(
            request,
            container,
            principal,
            name,
            payload,
            is_async=model.is_async,
            webhook_url=model.webhook_url,
            metadata=model.metadata,
            with_report=True,  # bytes before/after, steps, PDF/A level... from the job's output
        )

    return await run_in_threadpool(submit)


def _route(name: str) -> None:
    # The container: ``produce`` needs the jobs, credits and documents services together (as generate's).
    async def operation(request: Request, principal: Caller, container: ContainerDep) -> Response:
        return await _operation(name, request, principal, container)

    model = OPERATION_MODELS[name]
    operation.__name__ = f"pdf_{name}"
    router.add_api_route(
        f"/v1/documents/{name}",
        operation,
        methods=["POST"],
        status_code=201,
        dependencies=[scope("documents:write")],
        responses=PRODUCED | declare(*PDF_OPERATION_ERRORS, *_EXTRA_ERRORS.get(name, ()), post=True),
        summary=f"{name} (JSON body, or multipart with file_0..N)",
        description=(model.__doc__ or "") + f"\n\nBody schema: `{model.__name__}`.",
        # The body is parsed by hand (JSON or multipart share one model): FastAPI cannot see it, so it is
        # declared here, by reference to components/schemas (api/openapi.py puts the models there).
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {"schema": body_ref(model)},
                    "multipart/form-data": {"schema": _MULTIPART_OPERATION},
                },
                "required": True,
            }
        },
    )


for _name in OPERATION_MODELS:
    _route(_name)


@router.get(
    "/v1/documents/{document_id}/preview",
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The page as PNG",
        },
        **declare(
            DocumentNotFound,
            DocumentExpired,
            WrongPassword,
            PdfEncrypted,
            InvalidPdf,
            InvalidPageRange,  # a page past the document's last
            PdfLimitExceeded,
            PdfTimeout,
        ),
    },
    response_class=Response,
    dependencies=[scope("documents:read")],
)
def preview(
    document_id: str,
    page: int = Query(default=1, ge=1),
    dpi: int = Query(default=96, ge=10, le=1200),
    password: str | None = Query(default=None, max_length=256),
    *,
    principal: Caller,
    pdf: Pdf,
    settings: AppSettings,
) -> Response:
    limit = settings.pdf.preview_max_dpi
    if dpi > limit:
        raise ValidationFailed(f"dpi must be at most {limit}", details=[{"field": "dpi", "message": f"<= {limit}"}])
    png = pdf.preview(principal.account_id, document_id, page, dpi, password)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


# -- signing keys --------------------------------------------------------------------------------------------
class SigningKeyList(BaseModel):
    data: list[SigningKeyOut]


_SIGNING_KEY_UPLOAD = schema_ref(
    "SigningKeyUpload",
    {
        "type": "object",
        "description": "A signing key as multipart/form-data: the PKCS#12 file, its password and a name.",
        "properties": {"file": BINARY, "password": {"type": "string"}, "name": {"type": "string"}},
        "required": ["file"],
    },
)


@router.post(
    "/v1/signing-keys",
    status_code=201,
    response_model=SigningKeyOut,
    tags=["signing keys"],
    responses=declare(UnsupportedMediaType, InvalidSigningKey, *MULTIPART, post=True),
    dependencies=[scope("documents:write")],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": body_ref(SigningKeyCreate)},
                "multipart/form-data": {"schema": _SIGNING_KEY_UPLOAD},
            },
            "required": True,
        }
    },
)
async def create_signing_key(request: Request, principal: Caller, pdf: Pdf) -> SigningKeyOut:
    """Store a PKCS#12 key (multipart `file` + `password` + `name`, or JSON with base64 `pkcs12`).
    It is kept encrypted at rest and never returned."""
    body, files = await _read_body(request)
    if files:
        data = await files[0][1].read()
        password = body.get("password")
        name = str(body.get("name") or "")
        record = await run_in_threadpool(
            pdf.create_key, principal.account_id, name, data, str(password) if password is not None else None
        )
    else:
        try:
            spec = SigningKeyCreate.model_validate(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        record = await run_in_threadpool(
            pdf.create_key_from_base64, principal.account_id, spec.name, spec.pkcs12, spec.password
        )
    return SigningKeyOut.model_validate(record)


@router.get(
    "/v1/signing-keys",
    response_model=SigningKeyList,
    tags=["signing keys"],
    responses=declare(),
    dependencies=[scope("documents:read")],
)
def list_signing_keys(principal: Caller, pdf: Pdf) -> SigningKeyList:
    return SigningKeyList(data=[SigningKeyOut.model_validate(k) for k in pdf.list_keys(principal.account_id)])


@router.get(
    "/v1/signing-keys/{key_id}",
    response_model=SigningKeyOut,
    tags=["signing keys"],
    responses=declare(SigningKeyNotFound),
    dependencies=[scope("documents:read")],
)
def get_signing_key(key_id: str, principal: Caller, pdf: Pdf) -> SigningKeyOut:
    return SigningKeyOut.model_validate(pdf.get_key(principal.account_id, key_id))


@router.delete(
    "/v1/signing-keys/{key_id}",
    status_code=204,
    tags=["signing keys"],
    responses=declare(SigningKeyNotFound),
    dependencies=[scope("documents:write")],
)
def delete_signing_key(key_id: str, principal: Caller, pdf: Pdf) -> Response:
    pdf.delete_key(principal.account_id, key_id)
    return Response(status_code=204)
