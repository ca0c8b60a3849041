"""The FastAPI application factory: routers, error rendering, limits, lifespan of the engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pressroom import __version__
from pressroom.accounts.routes import router as account_router
from pressroom.api import errors, openapi
from pressroom.api.bodies import RequestGuard
from pressroom.api.idempotency import IdempotencyLayer
from pressroom.api.limits import BodySizeLimit, RateLimitHeaders
from pressroom.assets.routes import router as assets_router
from pressroom.batches.routes import router as batches_router
from pressroom.bootstrap import Container, build
from pressroom.config import Settings
from pressroom.documents.routes import router as documents_router
from pressroom.folders.routes import router as folders_router
from pressroom.generation.routes import router as generation_router
from pressroom.jobs.routes import router as jobs_router
from pressroom.keys.routes import router as keys_router
from pressroom.oauth.routes import router as oauth_router
from pressroom.pdfops.routes import router as pdfops_router
from pressroom.templates.routes import router as templates_router
from pressroom.webhooks.routes import router as webhooks_router


class Health(BaseModel):
    status: str
    version: str


def create_app(settings: Settings, *, worker: bool = True, container: Container | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built: Container = container if container is not None else await run_in_threadpool(build, settings)
        app.state.container = built
        await run_in_threadpool(built.start, worker=worker)
        try:
            yield
        finally:
            await run_in_threadpool(built.close)

    app = FastAPI(
        title="Pressroom",
        version=__version__,
        description="Self-hosted document generation: HTML/Handlebars templates + data -> PDF.",
        lifespan=lifespan,
    )
    errors.install(app)
    # The served /openapi.json says what the API really answers (error bodies and statuses, bodies parsed by
    # hand): see api/openapi.py.
    openapi.install(app)
    # Starlette: the last added is the outermost. The body limit wraps everything, so the idempotency
    # layer (which buffers the body) never reads more than the limit.
    app.add_middleware(IdempotencyLayer)
    # Outside the idempotency layer: a body that cannot be stored and read back is refused before anything
    # records or runs it (api/bodies.py).
    app.add_middleware(RequestGuard, max_depth=settings.api.max_json_depth)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)

    @app.get("/v1/health", response_model=Health, tags=["health"])
    def health() -> Health:
        return Health(status="ok", version=__version__)

    for router in (
        account_router,
        keys_router,
        oauth_router,
        webhooks_router,
        folders_router,
        templates_router,
        generation_router,
        documents_router,
        jobs_router,
    ):
        app.include_router(router)
    app.include_router(batches_router)
    app.include_router(pdfops_router)
    app.include_router(assets_router)
    return app
