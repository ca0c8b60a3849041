"""Webhook endpoints, in process: CRUD, event and URL checks, delivery through the outbox with a retry and
its history, secret rotation, 410 disabling the endpoint, tenant isolation."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from pressroom.config import WebhookSettings
from tests.inprocess.conftest import App, Tenant, start_app
from tests.support import Received


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # Retries a fraction of a second apart, so a failed delivery's retry is seen within the test.
    yield from start_app(tmp_path_factory.mktemp("webhooks"), webhooks=WebhookSettings(backoff_base_s=0.1))


@pytest.fixture
def admin(app: App) -> Tenant:
    return app.tenant(role="admin")


def deliveries_to(app: App, path: str, count: int, timeout_s: float = 20) -> list[Received]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [r for r in list(app.receiver.received) if r.path == path]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{count} deliveries to {path} expected")


def test_endpoint_crud_and_checks(app: App, admin: Tenant) -> None:
    created = admin.post("/v1/webhooks", json={"url": f"{app.receiver.url}/crud", "events": ["document.completed"]})
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["enabled"] is True and endpoint["secret"].startswith("whsec_")
    path = f"/v1/webhooks/{endpoint['id']}"
    assert [e["id"] for e in admin.get("/v1/webhooks").json()["data"]] == [endpoint["id"]]
    updated = admin.patch(path, json={"events": ["document.failed", "document.completed"], "enabled": False})
    assert updated.status_code == 200
    assert updated.json()["events"] == ["document.completed", "document.failed"] and not updated.json()["enabled"]
    unknown = admin.post("/v1/webhooks", json={"url": f"{app.receiver.url}/x", "events": ["document.exploded"]})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "VALIDATION_ERROR"
    for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/", "ftp://example.com/"):
        refused = admin.post("/v1/webhooks", json={"url": url, "events": ["document.completed"]})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "URL_FORBIDDEN", url
    assert admin.delete(path).status_code == 204
    assert admin.get(path).status_code == 404
    assert admin.get("/v1/webhooks").json()["data"] == []


def test_standard_keys_cannot_manage_endpoints(app: App, tenant: Tenant) -> None:
    response = tenant.post("/v1/webhooks", json={"url": f"{app.receiver.url}/x", "events": ["document.completed"]})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


def test_delivery_is_signed_retried_and_recorded(app: App, admin: Tenant) -> None:
    endpoint = admin.post(
        "/v1/webhooks", json={"url": f"{app.receiver.url}/signed", "events": ["document.completed"]}
    ).json()
    app.receiver.statuses.extend([500])
    document = admin.post("/v1/documents/transform", json={"html": "<p>evented</p>"}).json()
    first, second = deliveries_to(app, "/signed", 2)[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    event = Webhook(endpoint["secret"]).verify(second.body, second.headers)
    assert event["type"] == "document.completed" and event["data"]["document_id"] == document["id"]
    history = admin.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["data"]
    assert history[0]["status"] == "delivered"
    assert [attempt["status_code"] for attempt in history[0]["history"]] == [500, 200]


def test_rotated_secret_signs_with_both(app: App, admin: Tenant) -> None:
    endpoint = admin.post("/v1/webhooks", json={"url": f"{app.receiver.url}/rot", "events": ["template.created"]})
    old = endpoint.json()["secret"]
    rotated = admin.patch(f"/v1/webhooks/{endpoint.json()['id']}", json={"rotate_secret": True}).json()
    assert rotated["secret"] != old and rotated["previous_secret_expires_at"]
    admin.post("/v1/templates", json={"name": "announced", "body": "x"})
    delivery = deliveries_to(app, "/rot", 1)[0]
    assert len(delivery.headers["webhook-signature"].split()) == 2
    assert Webhook(old).verify(delivery.body, delivery.headers)["type"] == "template.created"
    new = Webhook(rotated["secret"]).verify(delivery.body, delivery.headers)
    assert new["data"]["name"] == "announced"


def test_410_disables_the_endpoint(app: App, admin: Tenant) -> None:
    endpoint = admin.post(
        "/v1/webhooks", json={"url": f"{app.receiver.url}/gone", "events": ["document.completed"]}
    ).json()
    app.receiver.statuses.extend([410])
    admin.post("/v1/documents/transform", json={"html": "<p>bye</p>"})
    deliveries_to(app, "/gone", 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and admin.get(f"/v1/webhooks/{endpoint['id']}").json()["enabled"]:
        time.sleep(0.05)
    state = admin.get(f"/v1/webhooks/{endpoint['id']}").json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]


def test_other_tenants_endpoints_are_404(app: App, admin: Tenant) -> None:
    endpoint = admin.post("/v1/webhooks", json={"url": f"{app.receiver.url}/mine", "events": ["batch.completed"]})
    intruder = app.tenant(role="admin")
    path = f"/v1/webhooks/{endpoint.json()['id']}"
    for response in (intruder.get(path), intruder.patch(path, json={"enabled": False}), intruder.delete(path)):
        assert response.status_code == 404 and response.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
    assert intruder.get(f"{path}/deliveries").status_code == 404
    assert admin.get(path).json()["enabled"] is True
