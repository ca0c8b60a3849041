"""HTTP door for stored documents: list, get, download links, delete, and the signed file download."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from pressroom.api.deps import current_principal, page_params, services
from pressroom.api.openapi import declare
from pressroom.api.responses import document_out
from pressroom.bootstrap import Container
from pressroom.core.errors import DocumentNotFound, PayloadTooLarge, ValidationFailed
from pressroom.core.filenames import content_disposition
from pressroom.core.pagination import Page, PageParams
from pressroom.core.principal import Principal
from pressroom.documents.schemas import DocumentOut, DownloadOut
from pressroom.documents.service import DocumentExpired, DownloadLinkInvalid

router = APIRouter(tags=["documents"])


@router.get("/v1/documents", response_model=Page[DocumentOut], responses=declare())
def list_documents(
    status: str | None = Query(default=None),
    template_id: str | None = Query(default=None),
    paging: PageParams = Depends(page_params),
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Page[DocumentOut]:
    rows, total = container.documents.page(principal.account_id, paging.limit, paging.offset, status, template_id)
    data = [document_out(container, row) for row in rows]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/v1/documents/{document_id}", response_model=DocumentOut, responses=declare(DocumentNotFound))
def get_document(
    document_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> DocumentOut:
    return document_out(container, container.documents.get(principal.account_id, document_id))


@router.get(
    "/v1/documents/{document_id}/download",
    response_model=DownloadOut,
    responses=declare(DocumentNotFound, DocumentExpired),
)
def download_link(
    document_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> DownloadOut:
    link = container.documents.download_link(principal.account_id, document_id)
    return DownloadOut(download_url=link.url, expires_in=link.expires_in, expires_at=link.expires_at)


@router.delete("/v1/documents/{document_id}", status_code=204, responses=declare(DocumentNotFound))
def delete_document(
    document_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Response:
    container.documents.delete(principal.account_id, document_id)
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
    expires: int = Query(),
    signature: str = Query(min_length=1, max_length=200),
    container: Container = Depends(services),
) -> Response:
    """The target of a signed download URL: no API key, but a valid unexpired signature."""
    document, data = container.documents.read_signed(document_id, expires, signature)
    return Response(
        data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": content_disposition(document.filename, "attachment"),
            "Cache-Control": "private",
        },
    )
