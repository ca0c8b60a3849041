"""The OpenAPI document says exactly what the API answers: clients are generated from it.

Routes declare their error statuses with :func:`declare`, built from the error classes (core/errors.py and
the domains' own) that the route can raise: each status gets the error body ``{"error": {code, message,
details}}`` and a description listing its stable codes. :func:`install` finishes the document once per app:

- FastAPI's default ``422 HTTPValidationError`` is never what Pressroom answers (a request that fails
  validation gets ``400 VALIDATION_ERROR`` in the error body, see api/errors.py): it is replaced by that 400;
- the ``Idempotency-Key`` header, read by an ASGI layer that FastAPI does not see, is a parameter of every POST
  that declares its answers;
- request bodies registered with :func:`body_ref` (the PDF operations, whose bodies are parsed by hand so that
  JSON and multipart share one model) are put in ``components/schemas`` and referenced from there, so the
  document holds no ``#/$defs/...`` reference that a client generator cannot resolve.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, JsonValue
from pydantic.json_schema import models_json_schema

from pressroom.core.errors import (
    DailyLimitExceeded,
    EngineUnavailable,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientCredits,
    InsufficientScope,
    PayloadTooLarge,
    PlanForbidsOption,
    PressroomError,
    QueueFull,
    QuotaExceeded,
    RateLimitExceeded,
    StorageFull,
    StorageUnavailable,
    Unauthorized,
    ValidationFailed,
)
from pressroom.idempotency.service import MAX_KEY_LENGTH

COMPONENTS = "#/components/schemas/"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable error code (e.g. TEMPLATE_NOT_FOUND)")
    message: str = Field(description="Human-readable message, localized by Accept-Language (en, fr)")
    details: JsonValue = Field(default=None, description="What exactly was wrong, when known (fields, limits...)")


class ErrorBody(BaseModel):
    """Every error Pressroom answers, whatever its status."""

    error: ErrorDetail


# What a caller can be answered (status, code) by the layers every authenticated route goes through: request
# parsing (400), authentication (401), OAuth scopes (403), the body-size limit (413), the rate limit (429).
ErrorSource = type[PressroomError] | tuple[int, str]
AUTHENTICATED: tuple[ErrorSource, ...] = (
    ValidationFailed,
    (400, "INVALID_JSON"),
    Unauthorized,
    InsufficientScope,
    PayloadTooLarge,
    RateLimitExceeded,
)
# Idempotency-Key on any POST (api/idempotency.py): a duplicate still running, or the key reused for another body.
IDEMPOTENT: tuple[ErrorSource, ...] = (IdempotencyInProgress, IdempotencyKeyReused)
# Admission of a job (credits/service.py, queue): credits, monthly quota, plan options, test-key daily limit,
# a full queue.
ADMISSION: tuple[ErrorSource, ...] = (
    InsufficientCredits,
    QuotaExceeded,
    PlanForbidsOption,
    DailyLimitExceeded,
    QueueFull,
)


# A route that takes multipart/form-data: a body Starlette's form parser refuses (api/errors.py).
MULTIPART: tuple[ErrorSource, ...] = ((400, "INVALID_MULTIPART"),)
# What an operation that renders or stores a file may be answered when the service, not the request, fails: a
# rendering engine that cannot start, an unreachable or full blob store. A sync producing call reports its
# failed job with the job's error (jobs/service.py rebuilds it), so these reach the caller as they are.
SERVICE: tuple[ErrorSource, ...] = (EngineUnavailable, StorageUnavailable, StorageFull)


def _status_code(source: ErrorSource) -> tuple[int, str]:
    return source if isinstance(source, tuple) else (source.status, source.code)


def error_responses(sources: Iterable[ErrorSource]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these errors: one per status, listing every code it may carry."""
    codes: dict[int, list[str]] = {}
    for source in sources:
        status, code = _status_code(source)
        if code not in codes.setdefault(status, []):
            codes[status].append(code)
    return {status: _error_response(found) for status, found in sorted(codes.items())}


# The codes an error response may carry, machine-readable beside the description: generated clients can map
# them, and the fuzz regression (tests/e2e/test_openapi_fuzz.py) fails on any code a status does not list.
ERROR_CODES = "x-error-codes"


def _error_response(codes: Iterable[str]) -> dict[str, Any]:
    found = sorted(set(codes))
    return {"model": ErrorBody, "description": "Error codes: " + ", ".join(f"`{c}`" for c in found), ERROR_CODES: found}


def declare(
    *raised: ErrorSource,
    authenticated: bool = True,
    post: bool = False,
    success: Mapping[int | str, dict[str, Any]] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: the errors it raises itself, the common ones of every authenticated
    route, those of Idempotency-Key on POSTs, and any extra success answer (the 200 of an upsert...)."""
    sources: list[ErrorSource] = [*(AUTHENTICATED if authenticated else ()), *(IDEMPOTENT if post else ()), *raised]
    return {**dict(success or {}), **error_responses(sources)}


_BODIES: dict[str, type[BaseModel]] = {}


def body_ref(model: type[BaseModel]) -> dict[str, str]:
    """A reference to ``model`` in components/schemas (added by :func:`install`), for ``openapi_extra``
    request bodies that FastAPI does not see because the route parses its body itself."""
    _BODIES[model.__name__] = model
    return {"$ref": COMPONENTS + model.__name__}


_RAW: dict[str, dict[str, Any]] = {}


def schema_ref(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """A reference to a hand-written schema (a multipart form...) put in components/schemas by :func:`install`."""
    _RAW[name] = schema
    return {"$ref": COMPONENTS + name}


BINARY: dict[str, Any] = {"type": "string", "format": "binary"}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def unresolved_refs(document: dict[str, Any]) -> list[str]:
    """Every ``$ref`` of the document that does not point at something inside it."""
    missing: list[str] = []
    for node in _walk(document):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        target: Any = document
        if not ref.startswith("#/"):
            missing.append(ref)
            continue
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                missing.append(ref)
                break
            target = target[part]
    return missing


def _replace_default_422(document: dict[str, Any]) -> None:
    error_ref = {"$ref": COMPONENTS + ErrorBody.__name__}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            default = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if default.get("$ref") != COMPONENTS + "HTTPValidationError":
                continue
            del responses["422"]
            # FastAPI adds its 422 to every route with parameters or a body: those can fail validation,
            # which Pressroom answers with 400 VALIDATION_ERROR.
            responses.setdefault(
                "400",
                {
                    "description": "Error codes: `VALIDATION_ERROR`",
                    "content": {"application/json": {"schema": error_ref}},
                    ERROR_CODES: ["VALIDATION_ERROR"],
                },
            )
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def component_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """The schemas of ``models`` and of every model they use, keyed by name, referencing each other in
    components/schemas (pydantic's own ``model_json_schema`` nests them under a local ``$defs``)."""
    _, defs = models_json_schema([(model, "validation") for model in models], ref_template=COMPONENTS + "{model}")
    found: dict[str, Any] = defs.get("$defs", {})
    return found


def _add_bodies(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in component_schemas([*_BODIES.values(), ErrorBody]).items():
        # FastAPI may already hold a model of the same name (SourceRef, ErrorBody...): the same class, the
        # same schema (tests/unit/api/test_openapi.py checks that no two classes share a name).
        schemas.setdefault(name, schema)
    schemas.update(_RAW)


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry: a repeat with the same key and body gets the first answer "
    "again; with another body 422 `IDEMPOTENCY_KEY_REUSED`; while the first still runs 409 "
    "`IDEMPOTENCY_IN_PROGRESS` with Retry-After.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


def _add_idempotency_key(document: dict[str, Any]) -> None:
    # Every POST that declares the Idempotency-Key answers (declare(post=True)) takes the header: the ASGI layer
    # of api/idempotency.py reads it before any route, so FastAPI does not see it as a parameter.
    for item in document.get("paths", {}).values():
        operation = item.get("post")
        if operation is None:
            continue
        codes = operation.get("responses", {}).get("409", {}).get(ERROR_CODES, [])
        if IdempotencyInProgress.code in codes:
            operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY))


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    _add_bodies(document)
    _replace_default_422(document)
    _add_idempotency_key(document)
    return document


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
