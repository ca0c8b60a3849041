"""The strict body reader: what passes can be stored and read back; the rest is a stable 400."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pressroom.api.bodies import RequestGuard, check_value, loads
from pressroom.core.errors import InvalidJson, ValidationFailed


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": "\xff"}', "invalid_utf8"),
        (b'{"a": NaN}', "non_finite_number"),
        (b'{"a": -Infinity}', "non_finite_number"),
        (b'{"a": 1e999}', "non_finite_number"),
        (b'{"a": "\\ud800"}', "lone_surrogate"),
        (b'{"\\udfff": 1}', "lone_surrogate"),
        (b"[" * 101 + b"]" * 101, "too_deep"),
        (b"[" * 5000 + b"]" * 5000, "too_deep"),  # past the C parser's own recursion limit
        (b'{"a": 1', "Expecting ',' delimiter"),
    ],
)
def test_unstorable_json_is_invalid_json(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidJson) as caught:
        loads(raw)
    assert caught.value.code == "INVALID_JSON" and caught.value.status == 400
    assert caught.value.details["reason"] == reason


def test_nul_is_a_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        loads(b'{"meta": {"k": ["ok", "a\\u0000b"]}}')
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details == [{"field": "meta.k.1", "message": "NUL characters (\\u0000) are not allowed"}]


def test_storable_json_passes_unchanged() -> None:
    raw = '{"emoji": "\\ud83d\\ude00", "deep": ' + "[" * 99 + "]" * 99 + ', "n": 1.5e300, "s": "{[\\"]}"}'
    value = loads(raw.encode())
    assert value["emoji"] == "\U0001f600" and value["n"] == 1.5e300
    assert loads("\ufeff[1]".encode()) == [1]  # a UTF-8 BOM is tolerated


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert loads(json.dumps({"s": "[" * 500})) == {"s": "[" * 500}


def test_a_multipart_field_is_named_in_the_error() -> None:
    with pytest.raises(InvalidJson) as caught:
        loads("[" * 200 + "]" * 200, max_depth=100, field="sources")
    assert caught.value.details == {"reason": "too_deep", "max_depth": 100, "field": "sources"}


def test_check_value_walks_parsed_values_without_recursion() -> None:
    deep: Any = "x"
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(InvalidJson):
        check_value(deep)
    with pytest.raises(ValidationFailed):
        check_value({"a\x00": 1})
    check_value({"a": ["fine", {"b": "\U0001f600"}]})


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"len": len(await request.body())})


def _through_guard(method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    """One request through RequestGuard (max depth 10) in front of an app that echoes the body's length."""
    app = Starlette(routes=[Route("/{p:path}", _echo, methods=["GET", "POST"])])
    transport = httpx.ASGITransport(app=RequestGuard(app, max_depth=10))

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, content=body, headers=headers)

    return anyio.run(send)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("application/json", b'{"a": "\\ud800"}', 400, "INVALID_JSON"),
        ("application/merge-patch+json", b"[" * 11 + b"]" * 11, 400, "INVALID_JSON"),
        ("", b'{"a": NaN}', 400, "INVALID_JSON"),  # no content type: a body that looks like JSON is JSON
        ("application/x-www-form-urlencoded", b"a=%00", 400, "VALIDATION_ERROR"),
        ("application/json", b'{"a": "fine"}', 200, None),
        ("text/plain", b'{"a": NaN}', 200, None),  # not JSON: left to the route
    ],
)
def test_request_guard(content_type: str, body: bytes, status: int, code: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = _through_guard("POST", "/x", body, headers)
    assert response.status_code == status
    if code is None:
        assert response.json() == {"len": len(body)}  # the same bytes reached the app
    else:
        assert response.json()["error"]["code"] == code


def test_request_guard_refuses_nul_in_path_and_query() -> None:
    for url in ("/a%00b", "/a?q=%00"):
        response = _through_guard("GET", url)
        assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
