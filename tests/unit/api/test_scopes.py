"""The OAuth scope each route needs is declared on the route (``dependencies=[scope(...)]``, api/deps.py):
every authenticated /v1 route declares one, the scopes are the ones the API has always asked for, and a
token without a route's declared scope gets 403 INSUFFICIENT_SCOPE, from the route and from the
Idempotency-Key layer alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient

from pressroom.api.deps import current_principal, declared_scope, scope_for_request
from pressroom.app import create_app
from pressroom.config import Settings
from pressroom.core.principal import Principal
from pressroom.ratelimit.base import Decision

# Measured before the scopes moved onto the routes (from the URL's first segment after /v1): the same
# scope per route, so no token gains or loses access.
SCOPES: dict[tuple[str, str], str] = {
    ("GET", "/v1/account"): "account:read",
    ("PATCH", "/v1/account"): "account:write",
    ("GET", "/v1/credits"): "account:read",
    ("GET", "/v1/usage"): "account:read",
    ("GET", "/v1/api-keys"): "api-keys:read",
    ("POST", "/v1/api-keys"): "api-keys:write",
    ("DELETE", "/v1/api-keys/{key_id}"): "api-keys:write",
    ("GET", "/v1/oauth-clients"): "oauth-clients:read",
    ("POST", "/v1/oauth-clients"): "oauth-clients:write",
    ("DELETE", "/v1/oauth-clients/{client_id}"): "oauth-clients:write",
    ("POST", "/v1/webhooks"): "webhooks:write",
    ("GET", "/v1/webhooks"): "webhooks:read",
    ("GET", "/v1/webhooks/{endpoint_id}"): "webhooks:read",
    ("PATCH", "/v1/webhooks/{endpoint_id}"): "webhooks:write",
    ("DELETE", "/v1/webhooks/{endpoint_id}"): "webhooks:write",
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries"): "webhooks:read",
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): "webhooks:write",
    ("POST", "/v1/folders"): "templates:write",
    ("GET", "/v1/folders"): "templates:read",
    ("GET", "/v1/folders/{folder_id}"): "templates:read",
    ("PATCH", "/v1/folders/{folder_id}"): "templates:write",
    ("DELETE", "/v1/folders/{folder_id}"): "templates:write",
    ("POST", "/v1/templates"): "templates:write",
    ("GET", "/v1/templates"): "templates:read",
    ("GET", "/v1/templates/catalog"): "templates:read",
    ("GET", "/v1/templates/{template_id}"): "templates:read",
    ("PATCH", "/v1/templates/{template_id}"): "templates:write",
    ("DELETE", "/v1/templates/{template_id}"): "templates:write",
    ("POST", "/v1/documents/generate"): "documents:write",
    ("POST", "/v1/documents/transform"): "documents:write",
    ("GET", "/v1/documents"): "documents:read",
    ("GET", "/v1/documents/{document_id}"): "documents:read",
    ("GET", "/v1/documents/{document_id}/download"): "documents:read",
    ("DELETE", "/v1/documents/{document_id}"): "documents:write",
    ("GET", "/v1/jobs"): "documents:read",
    ("POST", "/v1/jobs/{job_id}/cancel"): "documents:write",
    ("GET", "/v1/jobs/{job_id}"): "documents:read",
    ("POST", "/v1/batches"): "documents:write",
    ("GET", "/v1/batches"): "documents:read",
    ("GET", "/v1/batches/{batch_id}"): "documents:read",
    ("POST", "/v1/documents/merge"): "documents:write",
    ("POST", "/v1/documents/split"): "documents:write",
    ("POST", "/v1/documents/encrypt"): "documents:write",
    ("POST", "/v1/documents/compress"): "documents:write",
    ("POST", "/v1/documents/embed"): "documents:write",
    ("POST", "/v1/documents/metadata"): "documents:write",
    ("POST", "/v1/documents/watermark"): "documents:write",
    ("POST", "/v1/documents/pdfa"): "documents:write",
    ("POST", "/v1/documents/facturx"): "documents:write",
    ("POST", "/v1/documents/sign"): "documents:write",
    ("GET", "/v1/documents/{document_id}/preview"): "documents:read",
    ("POST", "/v1/signing-keys"): "documents:write",
    ("GET", "/v1/signing-keys"): "documents:read",
    ("GET", "/v1/signing-keys/{key_id}"): "documents:read",
    ("DELETE", "/v1/signing-keys/{key_id}"): "documents:write",
    ("POST", "/v1/assets"): "assets:write",
    ("GET", "/v1/assets"): "assets:read",
    ("GET", "/v1/assets/{asset_id}"): "assets:read",
    ("GET", "/v1/assets/{asset_id}/content"): "assets:read",
    ("DELETE", "/v1/assets/{asset_id}"): "assets:write",
}
UNAUTHENTICATED = {("GET", "/v1/health"), ("POST", "/oauth/token"), ("GET", "/v1/files/{document_id}")}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(data_dir=Path(tmp_path_factory.mktemp("scopes"))), worker=False)


def _operations(app: FastAPI) -> Iterator[Operation]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in sorted(context.methods or ()):
                yield Operation(method, context.path or route.path, route)


def _authenticated(route: APIRoute) -> bool:
    def calls(dependant: Any) -> Iterator[Any]:
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    return any(call is current_principal for call in calls(route.dependant))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_authenticated_v1_route_declares_its_scope(app: FastAPI) -> None:
    undeclared = [
        f"{op.method} {op.path} ({op.route.endpoint.__module__})"
        for op in _operations(app)
        if op.path.startswith("/v1/") and _authenticated(op.route) and declared_scope(op.route) is None
    ]
    assert undeclared == [], "declare the OAuth scope on these routes: dependencies=[scope('...')]"


def test_only_authenticated_routes_declare_a_scope(app: FastAPI) -> None:
    # A scope on a route without the caller would be checked by nothing.
    stray = [
        f"{op.method} {op.path}" for op in _operations(app) if declared_scope(op.route) and not _authenticated(op.route)
    ]
    assert stray == []


def test_the_declared_scopes_are_the_ones_asked_for_before(app: FastAPI) -> None:
    operations = {(op.method, op.path): op for op in _operations(app)}
    assert {key for key, op in operations.items() if not _authenticated(op.route)} == UNAUTHENTICATED
    assert set(SCOPES) == {key for key, op in operations.items() if _authenticated(op.route)}
    for key, needed in SCOPES.items():
        route = operations[key].route
        assert declared_scope(route) == needed, key
        # What the route and the Idempotency-Key layer check, found as the router finds the route.
        method, path = key
        request = {"type": "http", "method": method, "path": _concrete(path), "root_path": "", "headers": []}
        assert scope_for_request(app, request) == (True, needed), key


def test_the_idempotency_layer_leaves_unrouted_requests_alone(app: FastAPI) -> None:
    request = {"type": "http", "method": "POST", "path": "/v1/nothing-here", "root_path": "", "headers": []}
    assert scope_for_request(app, request) == (False, None)


# --- enforcement, in process: a container with just what the caller's checks and one route use -----------


@dataclass
class _Keys:
    principals: dict[str, Principal]

    def authenticate(self, secret: str) -> Principal:
        return self.principals[secret]


@dataclass
class _RateLimiter:
    checked: list[str] = field(default_factory=list)

    def check(self, principal: Principal) -> Decision:
        self.checked.append(principal.key_id)
        return Decision(allowed=True, limit=10, remaining=9, retry_after_s=0.0, reset_s=1.0)


class _Templates:
    def catalog(self) -> list[Any]:
        return []


class _Idempotency:
    def claim(self, *args: Any) -> Any:
        raise AssertionError("a token without the route's scope must not claim an Idempotency-Key")


@dataclass
class _Container:
    keys: _Keys
    oauth: _Keys
    rate_limiter: _RateLimiter = field(default_factory=_RateLimiter)
    templates: _Templates = field(default_factory=_Templates)
    idempotency: _Idempotency = field(default_factory=_Idempotency)


# An OAuth access token is told from an API key by its shape (three dot-separated parts).
DOCUMENTS_ONLY = "header.documents-read.signature"
TEMPLATES_READER = "header.templates-read.signature"


@pytest.fixture
def client(tmp_path: Path) -> tuple[TestClient, _Container]:
    tokens = {
        DOCUMENTS_ONLY: Principal("acc", "tok1", "live", scopes=frozenset({"documents:read"})),
        TEMPLATES_READER: Principal("acc", "tok2", "live", scopes=frozenset({"templates:read"})),
    }
    container = _Container(keys=_Keys({}), oauth=_Keys(tokens))
    app = create_app(Settings(data_dir=tmp_path), worker=False)
    app.state.container = container  # no lifespan: nothing is built or started
    return TestClient(app), container


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_token_without_the_declared_scope_gets_403(client: tuple[TestClient, _Container]) -> None:
    http, container = client
    response = http.get("/v1/templates/catalog", headers=_bearer(DOCUMENTS_ONLY))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert response.json()["error"]["details"] == {"required": "templates:read"}
    assert container.rate_limiter.checked == []  # refused before the rate limit, as before


def test_a_token_with_the_declared_scope_is_served(client: tuple[TestClient, _Container]) -> None:
    http, container = client
    response = http.get("/v1/templates/catalog", headers=_bearer(TEMPLATES_READER))
    assert response.status_code == 200
    assert response.json() == {"data": []}
    assert container.rate_limiter.checked == ["tok2"]
    assert response.headers["ratelimit-limit"] == "10"


def test_the_idempotency_layer_checks_the_declared_scope(client: tuple[TestClient, _Container]) -> None:
    # A read-only token must not reach a write's key (or its replay): the route answers its 403.
    http, _ = client
    headers = _bearer(TEMPLATES_READER) | {"idempotency-key": "k1"}
    response = http.post("/v1/folders", json={"name": "f"}, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"required": "templates:write"}
