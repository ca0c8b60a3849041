"""FastAPI dependencies shared by every door: the container, the caller (auth, scopes, rate limit), paging."""

from __future__ import annotations

from fastapi import Depends, Query, Request

from pressroom.bootstrap import Container
from pressroom.core.errors import Forbidden, InsufficientScope, RateLimitExceeded, Unauthorized
from pressroom.core.pagination import PageParams
from pressroom.core.principal import Principal
from pressroom.ratelimit.service import headers as rate_limit_headers

__all__ = ["current_principal", "page_params", "require_admin", "resolve_principal", "services"]

# First path segment after /v1 -> the scope group an OAuth token needs (":read" for GET/HEAD, else ":write").
_SCOPE_GROUPS = {
    "templates": "templates",
    "folders": "templates",
    "documents": "documents",
    "jobs": "documents",
    "batches": "documents",
    "endpoints": "documents",
    "signing-keys": "documents",
    "account": "account",
    "usage": "account",
    "credits": "account",
    "assets": "assets",
}


async def services(request: Request) -> Container:
    # async: a plain attribute read; as a sync dependency FastAPI would hop to a worker thread for it.
    container: Container = request.app.state.container
    return container


def credential(request: Request) -> str | None:
    secret = request.headers.get("x-api-key")
    if secret:
        return secret.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def resolve_principal(container: Container, secret: str | None) -> Principal:
    """An API key or an OAuth access token (a JWT) -> who is calling. Every failure is the same 401."""
    if not secret:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    if secret.count(".") == 2 and not secret.startswith("pr_"):
        return container.oauth.authenticate(secret)
    return container.keys.authenticate(secret)


def required_scope(method: str, path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "v1":
        return None
    group = _SCOPE_GROUPS.get(parts[1], parts[1])
    return f"{group}:{'read' if method in ('GET', 'HEAD') else 'write'}"


def current_principal(request: Request, container: Container = Depends(services)) -> Principal:
    principal = resolve_principal(container, credential(request))
    scope = required_scope(request.method, request.url.path)
    if scope and not principal.allows(scope):
        raise InsufficientScope(f"This token lacks the '{scope}' scope", details={"required": scope})
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


def require_admin(principal: Principal = Depends(current_principal)) -> Principal:
    if not principal.is_admin:
        raise Forbidden("This action needs an account-admin API key", details={"role": principal.role})
    return principal


# Past int64 an offset used to reach the database driver and fail there (500); no list is this long.
MAX_OFFSET = 2**31 - 1


async def page_params(
    limit: int = Query(default=20, ge=1, le=100), offset: int = Query(default=0, ge=0, le=MAX_OFFSET)
) -> PageParams:
    return PageParams(limit=limit, offset=offset)
