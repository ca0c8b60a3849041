"""FastAPI dependencies shared by every door: the services, the caller (auth, scopes, rate limit), paging.

A route asks for exactly what it uses, through the typed aliases below (``templates: Templates``,
``caller: Caller``, ``paging: Paging``), not for the whole container; ``ContainerDep`` is for the few that
genuinely need several collaborators at once (``produce`` in api/responses.py).

The OAuth scope a route needs is declared on the route, in its decorator: ``dependencies=[scope("templates:write")]``.
``current_principal`` checks the scope declared on the route it serves (an API key has every scope); the
Idempotency-Key layer checks the same declaration (api/idempotency.py). tests/unit/api/test_scopes.py fails
when an authenticated /v1 route declares none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from pressroom.accounts.service import AccountService
from pressroom.assets.service import AssetService
from pressroom.batches.service import BatchService
from pressroom.bootstrap import Container
from pressroom.config import Settings
from pressroom.core.errors import Forbidden, InsufficientScope, RateLimitExceeded, Unauthorized
from pressroom.core.pagination import PageParams
from pressroom.core.principal import Principal
from pressroom.credits.service import CreditService
from pressroom.documents.service import DocumentService
from pressroom.folders.service import FolderService
from pressroom.jobs.service import JobService
from pressroom.keys.service import ApiKeyService
from pressroom.oauth.service import OAuthService
from pressroom.pdfops.service import PdfOpsService
from pressroom.ratelimit.service import headers as rate_limit_headers
from pressroom.templates.service import TemplateService
from pressroom.webhooks.service import WebhookEndpointService

__all__ = [
    "Accounts",
    "Admin",
    "AppSettings",
    "Assets",
    "Batches",
    "Caller",
    "ContainerDep",
    "Credits",
    "Documents",
    "Folders",
    "Jobs",
    "Keys",
    "OAuthClients",
    "Paging",
    "RequiredScope",
    "Templates",
    "WebhookEndpoints",
    "current_principal",
    "declared_scope",
    "page_params",
    "require_admin",
    "resolve_principal",
    "scope",
    "scope_for_request",
    "services",
]


# --- the container and the services -------------------------------------------------------------------------
# Every one async: a plain attribute read; as a sync dependency FastAPI would hop to a worker thread for it.


async def services(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def app_settings(request: Request) -> Settings:
    container: Container = request.app.state.container
    return container.settings


async def accounts_service(request: Request) -> AccountService:
    container: Container = request.app.state.container
    return container.accounts


async def credits_service(request: Request) -> CreditService:
    container: Container = request.app.state.container
    return container.credits


async def keys_service(request: Request) -> ApiKeyService:
    container: Container = request.app.state.container
    return container.keys


async def oauth_service(request: Request) -> OAuthService:
    container: Container = request.app.state.container
    return container.oauth


async def webhook_endpoints_service(request: Request) -> WebhookEndpointService:
    container: Container = request.app.state.container
    return container.webhook_endpoints


async def folders_service(request: Request) -> FolderService:
    container: Container = request.app.state.container
    return container.folders


async def templates_service(request: Request) -> TemplateService:
    container: Container = request.app.state.container
    return container.templates


async def documents_service(request: Request) -> DocumentService:
    container: Container = request.app.state.container
    return container.documents


async def jobs_service(request: Request) -> JobService:
    container: Container = request.app.state.container
    return container.jobs


async def batches_service(request: Request) -> BatchService:
    container: Container = request.app.state.container
    return container.batches


async def assets_service(request: Request) -> AssetService:
    container: Container = request.app.state.container
    return container.assets


async def pdf_service(request: Request) -> PdfOpsService:
    container: Container = request.app.state.container
    return container.pdf


ContainerDep = Annotated[Container, Depends(services)]
AppSettings = Annotated[Settings, Depends(app_settings)]
Accounts = Annotated[AccountService, Depends(accounts_service)]
Credits = Annotated[CreditService, Depends(credits_service)]
Keys = Annotated[ApiKeyService, Depends(keys_service)]
OAuthClients = Annotated[OAuthService, Depends(oauth_service)]
WebhookEndpoints = Annotated[WebhookEndpointService, Depends(webhook_endpoints_service)]
Folders = Annotated[FolderService, Depends(folders_service)]
Templates = Annotated[TemplateService, Depends(templates_service)]
Documents = Annotated[DocumentService, Depends(documents_service)]
Jobs = Annotated[JobService, Depends(jobs_service)]
Batches = Annotated[BatchService, Depends(batches_service)]
Assets = Annotated[AssetService, Depends(assets_service)]
Pdf = Annotated[PdfOpsService, Depends(pdf_service)]


# --- scopes declared on the route ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredScope:
    """The OAuth scope a route needs: a marker in the route's ``dependencies``, read by ``current_principal``.

    It checks nothing itself, so the check keeps its place: after authentication, before the rate limit
    (a token refused for its scope takes no rate-limit token).
    """

    name: str

    async def __call__(self) -> None:
        return None


def scope(name: str) -> Any:
    """``dependencies=[scope("templates:write")]`` on a route: OAuth tokens without that scope get 403."""
    return Depends(RequiredScope(name))


def declared_scope(route: BaseRoute | None) -> str | None:
    """The scope a route declares with ``scope(...)``, or None (an unauthenticated route, or none declared)."""
    for dependency in getattr(route, "dependencies", None) or ():
        if isinstance(dependency.dependency, RequiredScope):
            return dependency.dependency.name
    return None


def scope_for_request(app: FastAPI, asgi_scope: Scope) -> tuple[bool, str | None]:
    """For a layer outside the routing (Idempotency-Key): does a route answer this request, and which scope
    does it need? The first route that fully matches, as the router picks it."""
    for context in iter_route_contexts(app.routes):
        match, _ = context.matches(asgi_scope)
        if match == Match.FULL:
            return True, declared_scope(context.original_route)
    return False, None


# --- the caller ---------------------------------------------------------------------------------------------


def credential(request: Request) -> str | None:
    secret = request.headers.get("x-api-key")
    if secret:
        return secret.strip()
    auth_scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if auth_scheme.lower() == "bearer" and value.strip() else None


def resolve_principal(container: Container, secret: str | None) -> Principal:
    """An API key or an OAuth access token (a JWT) -> who is calling. Every failure is the same 401."""
    if not secret:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    if secret.count(".") == 2 and not secret.startswith("pr_"):
        return container.oauth.authenticate(secret)
    return container.keys.authenticate(secret)


# Sync: authenticating reads the database, so it runs on a worker thread.
def current_principal(request: Request, container: ContainerDep) -> Principal:
    principal = resolve_principal(container, credential(request))
    needed = declared_scope(request.scope.get("route"))
    if needed and not principal.allows(needed):
        raise InsufficientScope(f"This token lacks the '{needed}' scope", details={"required": needed})
    try:
        decision = container.rate_limiter.check(principal)
    except RateLimitExceeded as exc:
        request.state.rate_limit_headers = {
            "RateLimit-Limit": str(exc.details["limit"]),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(exc.retry_after),
        }
        raise
    # Picked up by the RateLimitHeaders middleware, whatever response the route returns.
    request.state.rate_limit_headers = rate_limit_headers(decision)
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: Caller) -> Principal:
    if not principal.is_admin:
        raise Forbidden("This action needs an account-admin API key", details={"role": principal.role})
    return principal


Admin = Annotated[Principal, Depends(require_admin)]


# --- paging -------------------------------------------------------------------------------------------------

# Past int64 an offset used to reach the database driver and fail there (500); no list is this long.
MAX_OFFSET = 2**31 - 1


async def page_params(
    limit: int = Query(default=20, ge=1, le=100), offset: int = Query(default=0, ge=0, le=MAX_OFFSET)
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]
