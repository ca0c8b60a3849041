"""Idempotency-Key on producing calls, in process: a replay renders nothing and charges nothing, a reused key
with another body is refused, keys are per account."""

from __future__ import annotations

from tests.inprocess.conftest import App, Tenant

BODY = {"html": "<p>once</p>"}


def test_a_replayed_generate_renders_and_charges_once(app: App, tenant: Tenant) -> None:
    renders = len(app.chromium.calls)
    headers = {"Idempotency-Key": "order-42"}
    first = tenant.post("/v1/documents/transform", json=BODY, headers=headers)
    again = tenant.post("/v1/documents/transform", json=BODY, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert len(app.chromium.calls) == renders + 1
    assert tenant.get("/v1/credits").json()["credits_left"] == 99
    assert tenant.get("/v1/documents").json()["total"] == 1


def test_a_reused_key_with_another_body_is_422(tenant: Tenant) -> None:
    headers = {"Idempotency-Key": "order-43"}
    assert tenant.post("/v1/documents/transform", json=BODY, headers=headers).status_code == 201
    other = tenant.post("/v1/documents/transform", json={"html": "<p>twice</p>"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert tenant.get("/v1/documents").json()["total"] == 1


def test_keys_belong_to_one_account(app: App, tenant: Tenant, other: Tenant) -> None:
    headers = {"Idempotency-Key": "shared-name"}
    mine = tenant.post("/v1/documents/transform", json=BODY, headers=headers)
    theirs = other.post("/v1/documents/transform", json=BODY, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"] and "idempotent-replayed" not in theirs.headers


def test_a_4xx_answer_is_replayed_too(app: App, tenant: Tenant) -> None:
    headers = {"Idempotency-Key": "bad-template"}
    first = tenant.post("/v1/documents/transform", json={"html": "{{#if}}"}, headers=headers)
    again = tenant.post("/v1/documents/transform", json={"html": "{{#if}}"}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
