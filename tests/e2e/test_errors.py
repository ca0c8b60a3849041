"""Every bad input gets a clear 4xx with a stable code."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support import WebhookReceiver, pdftotext


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    error: dict[str, object] = body["error"]
    return error


def test_malformed_json_is_400_invalid_json(api: httpx.Client) -> None:
    response = api.post(
        "/v1/templates", content=b'{"name": "x", "body": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "INVALID_JSON"


def test_missing_field_is_400_validation_error(api: httpx.Client) -> None:
    response = api.post("/v1/documents/generate", json={"data": {}})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert any(d["field"] == "template_id" for d in error["details"])  # type: ignore[union-attr]


def test_unknown_ids_are_404_with_their_own_codes(api: httpx.Client) -> None:
    assert error_of(api.get("/v1/templates/tpl_nope"))["code"] == "TEMPLATE_NOT_FOUND"
    assert error_of(api.get("/v1/documents/doc_nope"))["code"] == "DOCUMENT_NOT_FOUND"
    assert error_of(api.get("/v1/jobs/job_nope"))["code"] == "JOB_NOT_FOUND"
    generate = api.post("/v1/documents/generate", json={"template_id": "tpl_nope"})
    assert generate.status_code == 404 and error_of(generate)["code"] == "TEMPLATE_NOT_FOUND"


def test_oversized_body_is_413(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents/transform",
        content=b'{"html": "' + b"x" * (11 * 1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_template_runtime_error_is_422_with_position(api: httpx.Client) -> None:
    response = api.post("/v1/documents/transform", json={"html": "<p>\n  {{> nowhere}}</p>"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "TEMPLATE_RENDER_ERROR"
    assert error["details"]["line"] == 2  # type: ignore[index]
    assert error["details"]["job_id"].startswith("job_")  # type: ignore[index]


def test_render_timeout_is_reported_and_the_engine_recovers(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents/transform",
        json={"html": "<p>spin</p><script>while (true) {}</script>", "options": {"timeout_s": 2}},
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "RENDER_TIMEOUT"
    after = api.post(
        "/v1/documents/transform", json={"html": "<p>still alive</p>"}, headers={"Accept": "application/pdf"}
    )
    assert after.status_code == 200 and "still alive" in pdftotext(after.content)


def test_unknown_route_and_wrong_method(api: httpx.Client) -> None:
    assert error_of(api.get("/v1/nothing-here"))["code"] == "NOT_FOUND"
    response = api.put("/v1/documents/generate", json={})
    assert response.status_code == 405 and error_of(response)["code"] == "METHOD_NOT_ALLOWED"


def test_bad_paging_is_400(api: httpx.Client) -> None:
    assert error_of(api.get("/v1/templates?limit=1000"))["code"] == "VALIDATION_ERROR"
    assert error_of(api.get("/v1/jobs?status=exploded"))["code"] == "VALIDATION_ERROR"


def test_french_error_message(api: httpx.Client) -> None:
    response = api.get("/v1/templates/tpl_nope", headers={"Accept-Language": "fr"})
    assert error_of(response)["message"] == "Modèle introuvable."


@pytest.mark.parametrize(
    "html",
    [
        '<img src="{url}/img.png">',
        '<link rel="stylesheet" href="{url}/style.css">',
        '<style>@import url("{url}/import.css");</style>',
        '<iframe src="{url}/frame"></iframe>',
        '<script src="{url}/script.js"></script>',
        "<script>fetch('{url}/fetch').catch(() => {{}})</script>",
        "<script>var x = new XMLHttpRequest(); x.open('GET', '{url}/xhr'); x.send();</script>",
        "<script>try {{ new WebSocket('{ws}/ws') }} catch (e) {{}}</script>",
        '<meta http-equiv="refresh" content="0;url={url}/refresh">',
    ],
)
def test_renders_cannot_reach_loopback(api: httpx.Client, html: str) -> None:
    with WebhookReceiver() as target:
        url = target.url
        page = html.format(url=url, ws=url.replace("http", "ws")) + "<p>done</p>"
        response = api.post("/v1/documents/transform", json={"html": page}, headers={"Accept": "application/pdf"})
        assert response.status_code in (200, 422), response.text
        assert target.received == [], f"the render reached loopback: {target.received}"


def test_renders_cannot_read_files(api: httpx.Client) -> None:
    page = (
        '<iframe src="file:///etc/passwd"></iframe><iframe src="FILE:///etc/hostname"></iframe>'
        "<script>fetch('file:///etc/passwd').then(r => r.text()).then(t => document.body.append(t))"
        ".catch(() => {})</script><p>done</p>"
    )
    response = api.post("/v1/documents/transform", json={"html": page}, headers={"Accept": "application/pdf"})
    assert response.status_code == 200
    assert "root:" not in pdftotext(response.content)


def test_stack_backend_is_reported(stack: Stack) -> None:
    # Documents which database this parametrization exercised (sqlite / postgres) in the test id.
    assert stack.backend in ("sqlite", "postgres")
