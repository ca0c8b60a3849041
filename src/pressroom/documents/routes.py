"""HTTP door for documents: generate/transform (sync, binary or async) and the stored documents."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from pressroom.api.deps import current_principal, page_params, services
from pressroom.api.openapi import ADMISSION, SERVICE, ErrorSource, declare
from pressroom.api.responses import PRODUCED, document_out, produce
from pressroom.bootstrap import Container
from pressroom.core.errors import (
    AssetNotFound,
    DocumentNotFound,
    PayloadTooLarge,
    RenderFailed,
    RenderResourceLimit,
    RenderTimeout,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateSyntaxFailed,
    UrlFetchFailed,
    UrlForbidden,
    ValidationFailed,
)
from pressroom.core.filenames import content_disposition
from pressroom.core.pagination import Page, PageParams
from pressroom.core.principal import Principal
from pressroom.documents.schemas import (
    DocumentOut,
    DownloadOut,
    GenerateRequest,
    TransformRequest,
)
from pressroom.documents.service import DocumentExpired, DownloadLinkInvalid
from pressroom.rendering.deadline import SyncRenderGate

router = APIRouter(tags=["documents"])

# What a producing call can be answered besides its document: admission (credits, quota, plan, queue), a missing
# template/asset, and the render's own failures (422), also when a sync request reports its failed job.
PRODUCING_ERRORS: tuple[ErrorSource, ...] = (
    *ADMISSION,
    TemplateNotFound,
    AssetNotFound,
    TemplateSyntaxFailed,
    TemplateRenderFailed,
    RenderFailed,
    RenderResourceLimit,
    RenderTimeout,
    UrlForbidden,
    UrlFetchFailed,
    *SERVICE,
)


def sync_render_gate(request: Request, container: Container) -> SyncRenderGate:
    """The app's gate for sync renders (rendering/deadline.py), sized to what the engines admit."""
    gate: SyncRenderGate | None = getattr(request.app.state, "sync_render_gate", None)
    if gate is None:  # made on first use: its limiter belongs to the running event loop
        gate = request.app.state.sync_render_gate = SyncRenderGate.for_engines(container.settings.render)
    return gate


async def _produce_off_loop(
    request: Request,
    container: Container,
    principal: Principal,
    operation: str,
    body: GenerateRequest | TransformRequest,
    template_id: str | None,
) -> Response:
    """An async submission is quick (admission, enqueue): the shared pool. A sync one holds its thread for
    the whole render: the sync-render gate's threads, its deadline counted from now."""
    call = functools.partial(_produce, request, container, principal, operation, body, template_id)
    if body.is_async:
        return await run_in_threadpool(call)
    return await sync_render_gate(request, container).run(call, request.is_disconnected)


def _produce(
    request: Request,
    container: Container,
    principal: Principal,
    operation: str,
    body: GenerateRequest | TransformRequest,
    template_id: str | None,
) -> Response:
    payload: dict[str, Any] = body.model_dump(exclude={"is_async", "webhook_url", "metadata"})
    return produce(
        request,
        container,
        principal,
        operation,
        payload,
        is_async=body.is_async,
        webhook_url=body.webhook_url,
        metadata=body.metadata,
        template_id=template_id,
    )


@router.post("/v1/documents/generate", status_code=201, responses=PRODUCED | declare(*PRODUCING_ERRORS, post=True))
async def generate(
    body: GenerateRequest,
    request: Request,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Response:
    return await _produce_off_loop(request, container, principal, "generate", body, body.template_id)


@router.post("/v1/documents/transform", status_code=201, responses=PRODUCED | declare(*PRODUCING_ERRORS, post=True))
async def transform(
    body: TransformRequest,
    request: Request,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Response:
    return await _produce_off_loop(request, container, principal, "transform", body, None)


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
