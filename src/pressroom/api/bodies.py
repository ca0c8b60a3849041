"""The one strict reader of what clients send: JSON bodies, multipart fields that carry JSON, paths, queries.

Whatever passes here can be stored (SQLite, PostgreSQL ``json``/``text``) and read back, so a single bad
value can no longer poison a record and every list page that contains it. Refused, with a stable code:

- ``INVALID_JSON`` (400): not UTF-8; not JSON; nested deeper than ``api.max_json_depth``; ``NaN``,
  ``Infinity`` or a number that overflows to infinity (``1e999``); an integer literal too long to convert;
  a lone UTF-16 surrogate (``"\\ud800"``: not a Unicode character, no database can store it).
- ``VALIDATION_ERROR`` (400): a NUL character (``\\u0000``) in any string or key (PostgreSQL text cannot hold
  it), in the path or in the query string.

:class:`RequestGuard` applies this to every request before FastAPI parses it, so routes, the idempotency
layer and the services only ever see clean JSON; :func:`loads` is the same reader for bodies a route
parses itself (multipart fields in ``pdfops.routes``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pressroom.api.errors import error_response
from pressroom.core.errors import InvalidJson, PressroomError, ValidationFailed

__all__ = ["DEFAULT_MAX_DEPTH", "RequestGuard", "check_value", "loads", "request_max_depth"]

DEFAULT_MAX_DEPTH = 100

# A string holding a NUL or a surrogate code point. json.loads joins escaped surrogate *pairs* into one
# astral character, so any surrogate left in a parsed string is a lone one.
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
# In the raw text only escapes can produce those (raw NULs are invalid JSON, raw surrogates invalid UTF-8),
# so a body without such an escape skips the walk over its strings.
_BAD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_NUL_MESSAGE = "NUL characters (\\u0000) are not allowed"
_STRING_LITERAL = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


class _NonFinite(ValueError):
    """NaN / Infinity / a float literal that overflows: JSON has no such numbers, databases store none."""


def _constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _too_deep(max_depth: int, field: str | None) -> InvalidJson:
    details: dict[str, Any] = {"reason": "too_deep", "max_depth": max_depth}
    if field:
        details["field"] = field
    return InvalidJson(f"The JSON is nested deeper than {max_depth} levels", details=details)


def loads(raw: bytes | str, *, max_depth: int = DEFAULT_MAX_DEPTH, field: str | None = None) -> Any:
    """Parse ``raw`` strictly (see the module doc); ``field`` names a multipart field in the errors."""
    where: dict[str, Any] = {"field": field} if field else {}
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")  # RFC 8259: UTF-8 (a leading BOM is tolerated, as before)
        except UnicodeDecodeError as exc:
            raise InvalidJson(
                f"The JSON is not valid UTF-8 (byte {exc.start})",
                details={**where, "reason": "invalid_utf8", "position": exc.start},
            ) from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"The JSON is malformed: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            details={**where, "reason": exc.msg, "position": exc.pos, "line": exc.lineno, "column": exc.colno},
        ) from None
    except _NonFinite as exc:
        raise InvalidJson(
            f"{str(exc)[:40]!s} is not a JSON number (NaN and infinite numbers are refused)",
            details={**where, "reason": "non_finite_number"},
        ) from None
    except RecursionError:
        # The C parser recurses per level and stops at the interpreter's limit (~1000): far past ours.
        raise _too_deep(max_depth, field) from None
    except ValueError as exc:  # an integer literal beyond int() conversion's digit limit
        raise InvalidJson(
            f"The JSON holds an unreadable number: {exc}", details={**where, "reason": "number"}
        ) from None
    # Cheap gates first: fewer containers than the limit cannot be too deep, and a body without a
    # NUL/surrogate escape cannot hold such a string; most bodies skip both checks.
    if text.count("{") + text.count("[") > max_depth and _depth_exceeds(text, max_depth):
        raise _too_deep(max_depth, field)
    if _BAD_ESCAPE.search(text) is not None:
        check_value(value, max_depth=max_depth, field=field)
    return value


def _depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether valid JSON ``text`` nests deeper than ``max_depth``, at C speed: strip the strings, keep the
    brackets, then peel one level of empty pairs per pass (a walk over the parsed value costs 4x the parse)."""
    brackets = _NOT_BRACKET.sub("", _STRING_LITERAL.sub("", text))
    for _ in range(max_depth):
        brackets = _EMPTY_PAIR.sub("", brackets)
        if not brackets:
            return False
    return True


def _join(path: tuple[str | int, ...], field: str | None) -> str:
    parts = [field] if field else []
    # The path is echoed in the error: its own NULs and surrogates are spelled as escapes, or the error
    # response could not be encoded either.
    return ".".join(_BAD_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", str(p)) for p in [*parts, *path])


def _check_string(text: str, path: tuple[str | int, ...], field: str | None) -> None:
    bad = _BAD_CHARS.search(text)
    if bad is None:
        return
    where = _join(path, field)
    if bad.group() == "\x00":
        raise ValidationFailed(_NUL_MESSAGE, details=[{"field": where, "message": _NUL_MESSAGE}])
    raise InvalidJson(
        "The JSON holds a lone UTF-16 surrogate (an escape like \\ud800 without its pair): not a character",
        details={"field": where, "reason": "lone_surrogate", "position": bad.start()},
    )


def check_value(
    value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH, field: str | None = None, strings: bool = True
) -> None:
    """Refuse a parsed value nested deeper than ``max_depth`` or (``strings``) holding NUL/lone surrogates.

    Iterative on purpose: a value nested as deep as the parser allows must not overflow the stack here.
    """
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise _too_deep(max_depth, field)
            for key, item in node.items():
                if strings:
                    _check_string(key, (*path, key), field)
                if isinstance(item, dict | list):
                    stack.append((item, depth + 1, (*path, key)))
                elif strings and isinstance(item, str):
                    _check_string(item, (*path, key), field)
        elif isinstance(node, list):
            if depth > max_depth:
                raise _too_deep(max_depth, field)
            for index, item in enumerate(node):
                if isinstance(item, dict | list):
                    stack.append((item, depth + 1, (*path, index)))
                elif strings and isinstance(item, str):
                    _check_string(item, (*path, index), field)
        elif strings and isinstance(node, str):
            _check_string(node, path, field)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _media_type(scope: Scope) -> str:
    return _header(scope, b"content-type").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    # What FastAPI parses as JSON: application/json and application/*+json.
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _check_target(scope: Scope) -> None:
    """A NUL in the (percent-decoded) path or in the query string reaches database queries: refuse it."""
    if "\x00" in scope.get("path", ""):
        raise ValidationFailed(_NUL_MESSAGE, details=[{"field": "path", "message": _NUL_MESSAGE}])
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or b"%00" in query:
        raise ValidationFailed(_NUL_MESSAGE, details=[{"field": "query", "message": _NUL_MESSAGE}])


class RequestGuard:
    """Pure ASGI middleware: checks path and query, then reads a JSON (or url-encoded form) body once,
    refuses it with a stable 4xx if it is not storable JSON, and replays the same bytes to the app.

    Install it inside the body-size limit (which bounds what is buffered here)."""

    def __init__(self, app: ASGIApp, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        media_type = _media_type(scope)
        replay: Receive = receive
        try:
            _check_target(scope)
            form = media_type == "application/x-www-form-urlencoded"
            if _is_json(media_type) or form or media_type == "":
                body, replay = await _buffer(receive)
                if form:
                    if b"%00" in body or b"\x00" in body:
                        raise ValidationFailed(_NUL_MESSAGE, details=[{"field": "body", "message": _NUL_MESSAGE}])
                elif body.strip() and (media_type or body.lstrip()[:1] in (b"{", b"[")):
                    # No content type: only a body that looks like JSON is JSON (pdfops reads it as such).
                    loads(body, max_depth=self.max_depth)
        except PressroomError as exc:
            response = error_response(Request(scope), exc.status, exc.code, exc.message, exc.details)
            await response(scope, receive, send)
            return
        await self.app(scope, replay, send)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that hands the same bytes to the app (then the client's events)."""
    chunks: list[bytes] = []
    trailer: Message | None = None
    while True:
        message = await receive()
        if message["type"] != "http.request":
            trailer = message  # the client went away: the app sees what arrived, then the disconnect
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if trailer is not None:
        pending.append(trailer)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return body, replay


def request_max_depth(request: Request) -> int:
    """The operator's ``api.max_json_depth`` for a route that parses a body itself."""
    container = getattr(request.app.state, "container", None)
    return int(container.settings.api.max_json_depth) if container is not None else DEFAULT_MAX_DEPTH
