"""Every bad input gets a clear 4xx with a stable code.

The request -> status/code cases live in the bad-input corpus (test_bad_input_corpus.py), which also checks
their time bound and that the server and other tenants are unaffected; the tests here need more than one
request and its answer (an engine that recovers, a receiver that must not be reached, a translation)."""

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


def test_render_timeout_is_reported_and_the_engine_recovers(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents/transform",
        json={"html": "<p>spin</p><script>while (true) {}</script>", "options": {"timeout_s": 2}},
    )
    assert response.status_code == 504  # issue #12: the engine did not answer in time (was 422)
    assert error_of(response)["code"] == "RENDER_TIMEOUT"
    after = api.post(
        "/v1/documents/transform", json={"html": "<p>still alive</p>"}, headers={"Accept": "application/pdf"}
    )
    assert after.status_code == 200 and "still alive" in pdftotext(after.content)


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
