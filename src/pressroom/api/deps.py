"""FastAPI dependencies shared by every door: the container, the caller, paging."""

from __future__ import annotations

from fastapi import Depends, Query, Request

from pressroom.bootstrap import Container
from pressroom.core.errors import Unauthorized
from pressroom.core.pagination import PageParams
from pressroom.keys.service import Principal

__all__ = ["Principal", "current_principal", "page_params", "services"]


def services(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def current_principal(request: Request, container: Container = Depends(services)) -> Principal:
    """Authorization: Bearer <key> or X-API-Key: <key>. Every failure is the same 401."""
    secret = request.headers.get("x-api-key")
    if not secret:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            secret = value.strip()
    if not secret:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    return container.keys.authenticate(secret)


def page_params(limit: int = Query(default=20, ge=1, le=100), offset: int = Query(default=0, ge=0)) -> PageParams:
    return PageParams(limit=limit, offset=offset)
