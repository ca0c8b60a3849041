from __future__ import annotations

import httpx

from tests.e2e.conftest import Stack


def test_health_needs_no_key(anon: httpx.Client) -> None:
    response = anon.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["version"]


def test_openapi_and_interactive_docs(anon: httpx.Client) -> None:
    spec = anon.get("/openapi.json").json()
    assert "/v1/documents/generate" in spec["paths"]
    assert "/v1/templates/{template_id}" in spec["paths"]
    docs = anon.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_missing_key_is_401(anon: httpx.Client) -> None:
    response = anon.get("/v1/templates")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_unknown_and_malformed_keys_get_the_same_401(stack: Stack) -> None:
    bodies = []
    for key in ("pr_live_" + "x" * 43, "not-a-key", "pr_test_"):
        with stack.client(key) as client:
            response = client.get("/v1/templates")
            assert response.status_code == 401
            bodies.append(response.json()["error"]["code"])
    assert set(bodies) == {"UNAUTHORIZED"}


def test_bearer_and_x_api_key_both_work(stack: Stack, key_a: str) -> None:
    with stack.client(key_a) as bearer:
        assert bearer.get("/v1/account").json()["name"] == "alpha"
    with httpx.Client(base_url=stack.server.url, headers={"X-API-Key": key_a}) as header:
        assert header.get("/v1/account").json()["name"] == "alpha"


def test_revoked_key_is_401_like_an_unknown_one(stack: Stack) -> None:
    key = stack.server.create_key("alpha", mode="test")
    assert key.startswith("pr_test_")
    with stack.client(key) as client:
        assert client.get("/v1/account").status_code == 200
        listing = stack.server.cli("keys", "list", "--account", "alpha").stdout
        key_id = next(line.split()[0] for line in listing.splitlines() if key[:12] in line)
        stack.server.cli("keys", "revoke", key_id)
        response = client.get("/v1/account")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_keys_list_shows_prefix_and_last_four_never_the_secret(stack: Stack, key_a: str) -> None:
    listing = stack.server.cli("keys", "list").stdout
    assert key_a[:12] in listing and key_a[-4:] in listing
    assert key_a not in listing


def test_errors_are_localized_by_accept_language(stack: Stack) -> None:
    with stack.client(None, **{"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}) as client:
        response = client.get("/v1/templates")
        assert response.status_code == 401
        assert response.json()["error"]["message"].startswith("Clé d'API")
        assert response.headers["content-language"] == "fr"
