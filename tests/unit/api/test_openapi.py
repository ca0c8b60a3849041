"""The OpenAPI document the app serves is exact: every $ref resolves, errors are the error body with the
statuses the API really answers (never FastAPI's 422 HTTPValidationError), upserts declare their 200."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.openapi.utils import get_openapi
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from pressroom.accounts.service import AccountService
from pressroom.api.openapi import _BODIES, COMPONENTS, ERROR_CODES, ErrorBody, component_schemas, unresolved_refs
from pressroom.app import create_app
from pressroom.config import Settings
from pressroom.db.migrate import upgrade
from pressroom.db.session import Database
from pressroom.keys.service import ApiKeyService
from pressroom.pdfops.schemas import OPERATION_MODELS

ERROR_REF = {"$ref": COMPONENTS + ErrorBody.__name__}
UNAUTHENTICATED = {("get", "/v1/health"), ("post", "/oauth/token"), ("get", "/v1/files/{document_id}")}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("openapi")))
    document: dict[str, Any] = create_app(settings, worker=False).openapi()
    return document


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("layers")))
    upgrade(settings.resolved_database_url)  # a key is looked up in its table before it is refused
    with TestClient(create_app(settings, worker=False)) as client:
        db = Database(settings.resolved_database_url)
        account, _ = AccountService(db).get_or_create("layers")
        key = ApiKeyService(db).create(account.id, "live", "layers", "admin").secret
        _KEY_OF[id(client)] = key  # for the cases that send the key (KEY below)
        yield client


KEY = {"authorization": "Bearer <the fixture's key>"}
_KEY_OF: dict[int, str] = {}
MULTIPART = "multipart/form-data; boundary=x"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()]


def test_every_ref_resolves_and_no_local_defs_remain(spec: dict[str, Any]) -> None:
    assert unresolved_refs(spec) == []
    assert "$defs" not in str(spec)


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    # The OpenAPI 3.1 meta-schema, and every reference resolved by the validator itself.
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_unresolved_refs_finds_a_dangling_reference() -> None:
    document = {"components": {"schemas": {"A": {}}}, "x": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/$defs/B"}]}
    assert unresolved_refs(document) == ["#/$defs/B"]


def test_fastapi_default_422_is_gone(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(spec)
    assert "ValidationError" not in spec["components"]["schemas"]


def test_every_error_status_is_the_error_body(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {"application/json": {"schema": ERROR_REF}}, (method, path, status)
                assert response["description"].startswith("Error codes: `"), (method, path, status)


def test_every_error_status_lists_its_codes_machine_readably(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                codes = response[ERROR_CODES]
                assert codes and codes == sorted(set(codes)), (method, path, status)
                assert response["description"] == "Error codes: " + ", ".join(f"`{c}`" for c in codes)


def test_statuses_every_route_can_answer_are_declared(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        statuses = set(op["responses"])
        if (method, path) not in UNAUTHENTICATED:
            # parsing, authentication, scopes, the body-size limit, the rate limit
            assert {"400", "401", "403", "413", "429"} <= statuses, (method, path)
        elif op.get("parameters") or op.get("requestBody"):
            assert "400" in statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)  # an id that is not the caller's
        if method == "post" and (method, path) not in UNAUTHENTICATED:
            assert {"409", "422"} <= statuses, (method, path)  # Idempotency-Key: in progress, reused


def test_every_idempotent_post_takes_the_idempotency_key_header(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        headers = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        if method == "post" and (method, path) not in UNAUTHENTICATED:
            assert len(headers) == 1 and headers[0]["schema"]["maxLength"] == 255, (method, path)
        else:
            assert headers == [], (method, path)


def test_producing_operations_declare_their_three_answers_and_admission(spec: dict[str, Any]) -> None:
    for name in ("generate", "transform", *OPERATION_MODELS):
        responses = spec["paths"][f"/v1/documents/{name}"]["post"]["responses"]
        assert {"200", "201", "202", "402"} <= set(responses), name
        assert list(responses["200"]["content"]) == ["application/pdf"], name
    for name in OPERATION_MODELS:
        assert "415" in spec["paths"][f"/v1/documents/{name}"]["post"]["responses"], name


def test_render_limits_are_declared_where_a_render_runs(spec: dict[str, Any]) -> None:
    # generate/transform render; so does every PDF operation given a template source. A sync request past its
    # deadline answers 504 RENDER_TIMEOUT; a render over its memory or image limits 422 RENDER_RESOURCE_LIMIT.
    for name in ("generate", "transform", *OPERATION_MODELS):
        responses = spec["paths"][f"/v1/documents/{name}"]["post"]["responses"]
        assert responses["504"][ERROR_CODES] == ["RENDER_TIMEOUT"], name
        assert "RENDER_RESOURCE_LIMIT" in responses["422"][ERROR_CODES], name
        assert "QUEUE_FULL" in responses["429"][ERROR_CODES], name
        assert "IDEMPOTENCY_IN_PROGRESS" in responses["409"][ERROR_CODES], name


def test_bombs_are_declared_where_files_are_taken(spec: dict[str, Any]) -> None:
    assert "ASSET_LIMIT_EXCEEDED" in spec["paths"]["/v1/assets"]["post"]["responses"]["413"][ERROR_CODES]
    for name in OPERATION_MODELS:
        assert "PDF_LIMIT_EXCEEDED" in spec["paths"][f"/v1/documents/{name}"]["post"]["responses"]["413"][ERROR_CODES]


def _declared(spec: dict[str, Any], method: str, path: str, status: int) -> list[str]:
    response = spec["paths"][path][method]["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {path} answered {status}, which it does not declare"
    codes: list[str] = response[ERROR_CODES]
    return codes


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        ("post", "/v1/templates", {"content-type": "application/json"}, b'{"name": ', 400, "INVALID_JSON"),
        ("post", "/v1/documents/merge", {"content-type": "application/json"}, b"[" * 5000, 400, "INVALID_JSON"),
        ("post", "/v1/documents/generate", {"content-type": "application/json"}, b'{"a": "\xff"}', 400, "INVALID_JSON"),
        ("get", "/v1/templates", {}, b"", 401, "UNAUTHORIZED"),
        ("get", "/v1/templates", {"authorization": "Bearer pr_live_nope"}, b"", 401, "UNAUTHORIZED"),
        ("post", "/v1/assets", {"content-type": "multipart/form-data; boundary=x"}, b"x" * (11 << 20), 413, None),
        ("post", "/v1/assets", {**KEY, "content-type": MULTIPART}, b"garbage", 400, "INVALID_MULTIPART"),
        (
            "post",
            "/v1/documents/merge",
            {**KEY, "content-type": MULTIPART},
            b"garbage",
            400,
            "INVALID_MULTIPART",
        ),
        ("post", "/v1/documents/merge", {**KEY, "content-type": "text/plain"}, b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("post", "/v1/signing-keys", {**KEY, "content-type": "text/csv"}, b"a,b", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_the_layers_in_front_of_every_route_answer_as_declared(
    spec: dict[str, Any],
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str | None,
) -> None:
    # Body parsing, authentication and the body-size limit answer before any route runs: their answers must be
    # a status the route declares, with a listed code, in the declared error body.
    if headers.get("authorization") == KEY["authorization"]:
        headers = {**headers, "authorization": "Bearer " + _KEY_OF[id(client)]}
    response = client.request(method.upper(), path, headers=headers, content=body)
    assert response.status_code == status, response.text
    error = ErrorBody.model_validate(response.json()).error
    assert code is None or error.code == code
    assert error.code in _declared(spec, method, path, status)


def test_upserts_declare_200_and_201(spec: dict[str, Any]) -> None:
    for path in ("/v1/templates", "/v1/assets"):
        assert {"200", "201"} <= set(spec["paths"][path]["post"]["responses"]), path


def test_pdf_operation_bodies_are_referenced_from_components(spec: dict[str, Any]) -> None:
    for name, model in OPERATION_MODELS.items():
        content = spec["paths"][f"/v1/documents/{name}"]["post"]["requestBody"]["content"]
        assert content["application/json"]["schema"] == {"$ref": COMPONENTS + model.__name__}
        assert content["multipart/form-data"]["schema"] == {"$ref": COMPONENTS + "MultipartOperation"}
        assert model.__name__ in spec["components"]["schemas"]


def test_hand_registered_models_do_not_shadow_another_class_of_the_same_name(tmp_path: Path) -> None:
    # Components are keyed by class name: a registered body and a FastAPI model of the same name must be the
    # same schema, or one of them would silently be described by the other's.
    app = create_app(Settings(data_dir=tmp_path), worker=False)
    fastapi_only = get_openapi(title="t", version="1", routes=app.routes)["components"]["schemas"]
    for name, schema in component_schemas([*_BODIES.values(), ErrorBody]).items():
        if name in fastapi_only:
            assert _normal(fastapi_only[name]) == _normal(schema), name


def _normal(node: Any) -> Any:
    """FastAPI's rendering of a model drops ``default: null`` and writes bounds as floats: not a difference."""
    if isinstance(node, dict):
        return {k: _normal(v) for k, v in node.items() if not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_normal(v) for v in node]
    if isinstance(node, int | float) and not isinstance(node, bool):
        return float(node)
    return node
