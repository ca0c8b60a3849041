"""The body-size limit answers its 413 through the one error renderer (api/errors.py): the stable code, the
caller's language and Content-Language, whether the size is declared up front or found while streaming."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from pressroom.api.limits import BodySizeLimit
from pressroom.core.i18n import translate

MAX_BYTES = 64


async def _echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, as a route would, then answers 200."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(size).encode()})


@pytest.fixture
def client() -> TestClient:
    return TestClient(BodySizeLimit(_echo_length, max_bytes=MAX_BYTES))  # no lifespan: the app is HTTP only


def _chunks() -> Iterator[bytes]:
    yield b"x" * MAX_BYTES
    yield b"x"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_too_large_body_is_a_french_413_with_content_language(client: TestClient, declared: bool) -> None:
    body = b"x" * (MAX_BYTES + 1) if declared else _chunks()
    response = client.post("/", content=body, headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert response.status_code == 413
    assert response.headers["content-language"] == "fr"
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert error["message"] == translate("PAYLOAD_TOO_LARGE", "fr", "") == "Le corps de la requête est trop volumineux."
    assert error["details"] == {"max_bytes": MAX_BYTES}


def test_the_413_stays_english_by_default_and_names_the_limit(client: TestClient) -> None:
    response = client.post("/", content=b"x" * (MAX_BYTES + 1))
    assert response.status_code == 413
    assert response.headers["content-language"] == "en"
    assert response.json()["error"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": f"The request body exceeds {MAX_BYTES} bytes",
        "details": {"max_bytes": MAX_BYTES},
    }


def test_a_body_within_the_limit_reaches_the_app(client: TestClient) -> None:
    response = client.post("/", content=b"x" * MAX_BYTES)
    assert (response.status_code, response.text) == (200, str(MAX_BYTES))
