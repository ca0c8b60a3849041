"""HTTP door for stored documents: list, get, download links, delete, and the signed file download."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from pressroom.api.deps import Caller, Documents, Paging, scope
from pressroom.api.openapi import declare
from pressroom.api.responses import document_out
from pressroom.core.errors import DocumentNotFound, PayloadTooLarge, ValidationFailed
from pressroom.core.filenames import content_disposition
from pressroom.core.pagination import Page
from pressroom.documents.schemas import DocumentOut, DownloadOut
from pressroom.documents.service import DocumentExpired, DownloadLinkInvalid

router = APIRouter(tags=["documents"])


@router.get(
    "/v1/documents", response_model=Page[DocumentOut], responses=declare(), dependencies=[scope("documents:read")]
)
def list_documents(
    paging: Paging,
    caller: Caller,
    documents: Documents,
    status: str | None = Query(default=None),
    template_id: str | None = Query(default=None),
) -> Page[DocumentOut]:
    rows, total = documents.page(caller.account_id, paging.limit, paging.offset, status, template_id)
    data = [document_out(documents, row) for row in rows]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


@router.get(
    "/v1/documents/{document_id}",
    response_model=DocumentOut,
    responses=declare(DocumentNotFound),
    dependencies=[scope("documents:read")],
)
def get_document(document_id: str, caller: Caller, documents: Documents) -> DocumentOut:
    return document_out(documents, documents.get(caller.account_id, document_id))


@router.get(
    "/v1/documents/{document_id}/download",
    response_model=DownloadOut,
    responses=declare(DocumentNotFound, DocumentExpired),
    dependencies=[scope("documents:read")],
)
def download_link(document_id: str, caller: Caller, documents: Documents) -> DownloadOut:
    link = documents.download_link(caller.account_id, document_id)
    return DownloadOut(download_url=link.url, expires_in=link.expires_in, expires_at=link.expires_at)


@router.delete(
    "/v1/documents/{document_id}",
    status_code=204,
    responses=declare(DocumentNotFound),
    dependencies=[scope("documents:write")],
)
def delete_document(document_id: str, caller: Caller, documents: Documents) -> Response:
    documents.delete(caller.account_id, document_id)
    return Response(status_code=204)


@router.get(
    "/v1/files/{document_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        # No API key here: the signature is the credential (403 when wrong or expired).
        **declare(
            ValidationFailed,
            PayloadTooLarge,
            DownloadLinkInvalid,
            DocumentNotFound,
            DocumentExpired,
            authenticated=False,
        ),
    },
)
def signed_file(
    document_id: str,
    documents: Documents,
    expires: int = Query(),
    signature: str = Query(min_length=1, max_length=200),
) -> Response:
    """The target of a signed download URL: no API key, but a valid unexpired signature."""
    document, data = documents.read_signed(document_id, expires, signature)
    return Response(
        data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": content_disposition(document.filename, "attachment"),
            "Cache-Control": "private",
        },
    )
