"""HTTP door for generate/transform: a template or raw HTML + data -> a PDF (sync, binary or async)."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from pressroom.api.deps import Caller, ContainerDep, scope
from pressroom.api.openapi import ADMISSION, SERVICE, ErrorSource, declare
from pressroom.api.responses import PRODUCED, produce
from pressroom.bootstrap import Container
from pressroom.core.errors import (
    AssetNotFound,
    RenderFailed,
    RenderResourceLimit,
    RenderTimeout,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateSyntaxFailed,
    UrlFetchFailed,
    UrlForbidden,
)
from pressroom.core.principal import Principal
from pressroom.generation.schemas import GenerateRequest, TransformRequest
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


# Both take the container: ``produce`` (api/responses.py) needs jobs, credits and documents together, and the
# sync render gate is sized from the settings.
@router.post(
    "/v1/documents/generate",
    status_code=201,
    responses=PRODUCED | declare(*PRODUCING_ERRORS, post=True),
    dependencies=[scope("documents:write")],
)
async def generate(body: GenerateRequest, request: Request, caller: Caller, container: ContainerDep) -> Response:
    return await _produce_off_loop(request, container, caller, "generate", body, body.template_id)


@router.post(
    "/v1/documents/transform",
    status_code=201,
    responses=PRODUCED | declare(*PRODUCING_ERRORS, post=True),
    dependencies=[scope("documents:write")],
)
async def transform(body: TransformRequest, request: Request, caller: Caller, container: ContainerDep) -> Response:
    return await _produce_off_loop(request, container, caller, "transform", body, None)
