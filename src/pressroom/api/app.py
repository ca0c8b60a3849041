"""The FastAPI application factory: routers, error rendering, limits, lifespan of the engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pressroom import __version__
from pressroom.accounts.routes import router as account_router
from pressroom.api import errors
from pressroom.api.limits import BodySizeLimit
from pressroom.bootstrap import Container, build
from pressroom.config import Settings
from pressroom.documents.routes import router as documents_router
from pressroom.folders.routes import router as folders_router
from pressroom.jobs.routes import router as jobs_router
from pressroom.templates.routes import router as templates_router


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
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)

    @app.get("/v1/health", response_model=Health, tags=["health"])
    def health() -> Health:
        return Health(status="ok", version=__version__)

    for router in (account_router, folders_router, templates_router, documents_router, jobs_router):
        app.include_router(router)
    return app
