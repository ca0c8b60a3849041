"""The one place errors become HTTP: {"error": {"code", "message", "details"}} in the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pressroom.core.errors import PressroomError, TooManyRequests
from pressroom.core.i18n import negotiate, translate

log = logging.getLogger("pressroom.api")

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    lang = negotiate(request.headers.get("accept-language"))
    body = {"error": {"code": code, "message": translate(code, lang, message), "details": details}}
    return JSONResponse(body, status_code=status, headers={"Content-Language": lang, **(headers or {})})


async def _pressroom_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PressroomError)
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return error_response(request, exc.status, exc.code, exc.message, exc.details, headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
        for err in exc.errors()
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        first = exc.errors()[0]
        detail = {"position": first.get("ctx", {}).get("error"), "loc": list(first.get("loc", ()))}
        return error_response(request, 400, "INVALID_JSON", "The request body is not valid JSON", detail)
    return error_response(request, 400, "VALIDATION_ERROR", "The request is invalid", _validation_details(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's body parser failing on what api/bodies.py would have refused (not UTF-8, too deep).
        code = "INVALID_JSON"
    elif exc.status_code == 400 and _is_multipart(request):
        # Starlette's form parser refusing the body (malformed, too many files or fields): a stable code of its
        # own, which the multipart routes declare (api/openapi.py MULTIPART).
        code = "INVALID_MULTIPART"
    return error_response(request, exc.status_code, code, str(exc.detail), None, dict(exc.headers or {}))


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "multipart/form-data"


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "INTERNAL_ERROR", "Internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(PressroomError, _pressroom_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
