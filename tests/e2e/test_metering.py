"""Tenancy and metering over HTTP against a real server: ledger, idempotency, rate limits, webhooks, OAuth2."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import CHROMIUM, ServerProcess, WebhookReceiver, have_chromium

pytestmark = pytest.mark.skipif(not have_chromium(), reason=f"Chromium is not installed ({CHROMIUM})")

PLANS = {
    "free": {"monthly_credits": 50, "monthly_documents": 1000, "rate_limit_per_minute": 10000},
    "roomy": {"monthly_credits": 100000, "monthly_documents": None, "rate_limit_per_minute": 10000},
    "tiny": {"monthly_credits": 1000, "rate_limit_per_minute": 30},
    "quiet": {"monthly_credits": 1000, "rate_limit_per_minute": 10000, "webhooks": False},
    "capped": {"monthly_credits": 1000, "monthly_documents": 2, "rate_limit_per_minute": 10000},
}


@dataclass
class Metered:
    server: ServerProcess
    receiver: WebhookReceiver

    def account(self, name: str, plan: str, role: str = "admin", mode: str = "live") -> httpx.Client:
        self.server.cli("accounts", "create", name, "--plan", plan)
        out = self.server.cli("keys", "create", "--account", name, "--mode", mode, "--role", role)
        key = out.stdout.strip().splitlines()[-1]
        return httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)

    def sql(self, query: str, *args: Any) -> list[Any]:
        db = sqlite3.connect(self.server.data_dir / "pressroom.db")
        try:
            rows = db.execute(query, args).fetchall()
            db.commit()
            return rows
        finally:
            db.close()


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Metered]:
    with WebhookReceiver() as receiver:
        env = {
            "PRESSROOM_BILLING__PLANS": json.dumps(PLANS),
            "PRESSROOM_BILLING__DEFAULT_PLAN": "free",
            "PRESSROOM_BILLING__TEST_KEYS__DOCUMENTS_PER_DAY": "3",
            "PRESSROOM_BILLING__OAUTH_TOKEN_TTL_S": "3",
            "PRESSROOM_NET__ALLOW_PRIVATE": json.dumps([f"127.0.0.1:{receiver.port}"]),
            "PRESSROOM_WEBHOOKS__BACKOFF_BASE_S": "1.0",
            "PRESSROOM_JOBS__SWEEP_INTERVAL_S": "0.5",
        }
        server = ServerProcess(data_dir=Path(tmp_path_factory.mktemp("metered")), env_extra=env)
        server.start()
        try:
            yield Metered(server, receiver)
        finally:
            server.stop()


def wait_jobs(api: httpx.Client, job_ids: list[str], timeout_s: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = [api.get(f"/v1/jobs/{job_id}").json() for job_id in job_ids]
        if all(job["status"] in ("completed", "failed", "canceled") for job in jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError("jobs did not finish")


# -- credits ledger ---------------------------------------------------------------------------------------
def test_100_concurrent_calls_on_50_credits_exactly_50_pass(metered: Metered) -> None:
    api = metered.account("ledger", "free")
    assert api.get("/v1/credits").json() == {"credits_left": 50, "plan": "free"}

    def submit(index: int) -> httpx.Response:
        with httpx.Client(base_url=metered.server.url, headers=dict(api.headers), timeout=60) as client:
            return client.post("/v1/documents/transform", json={"html": f"<p>{index}</p>", "async": True})

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(submit, range(100)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(202) == 50 and statuses.count(402) == 50, statuses
    refusal = next(r for r in responses if r.status_code == 402).json()["error"]
    assert refusal["code"] == "INSUFFICIENT_CREDITS"
    assert refusal["details"]["price"] == 1 and refusal["details"]["credits_left"] == 0
    accepted = [r.json() for r in responses if r.status_code == 202]
    assert all(a["credits_charged"] == 1 for a in accepted)
    assert min(a["credits_left"] for a in accepted) == 0

    jobs = wait_jobs(api, [a["job_id"] for a in accepted])
    assert {job["status"] for job in jobs} == {"completed"}
    assert api.get("/v1/credits").json()["credits_left"] == 0
    ledger = metered.sql(
        "SELECT SUM(amount), MIN(running) FROM (SELECT amount, SUM(amount) OVER (ORDER BY created_at, id) AS running"
        " FROM credit_entries WHERE account_id = (SELECT id FROM accounts WHERE name = 'ledger'))"
    )
    assert ledger[0][0] == 0 and ledger[0][1] >= 0  # never negative at any point
    usage = api.get("/v1/usage").json()
    assert usage["operations"] == {"transform": 50} and usage["credits_charged"] == 50
    assert usage["documents"]["used"] == 50


def test_a_failed_job_is_not_charged(metered: Metered) -> None:
    api = metered.account("refunds", "roomy")
    before = api.get("/v1/credits").json()["credits_left"]
    failed = api.post("/v1/documents/transform", json={"html": "{{> missing}}"})
    assert failed.status_code == 422
    timeout = api.post(
        "/v1/documents/transform", json={"html": "<script>while(true){}</script>", "options": {"timeout_s": 1}}
    )
    assert timeout.json()["error"]["code"] == "RENDER_TIMEOUT"
    assert api.get("/v1/credits").json()["credits_left"] == before
    kinds = metered.sql(
        "SELECT kind, amount FROM credit_entries WHERE job_id = ?", failed.json()["error"]["details"]["job_id"]
    )
    assert sorted(kinds) == [("release", 1), ("reserve", -1)]
    ok = api.post("/v1/documents/transform", json={"html": "<p>paid</p>"})
    assert ok.json()["credits_charged"] == 1 and ok.json()["credits_left"] == before - 1


def test_canceling_a_pending_job_releases_its_credits(metered: Metered) -> None:
    api = metered.account("cancels", "roomy")
    before = api.get("/v1/credits").json()["credits_left"]
    # Keep the worker busy so the next job stays pending long enough to cancel it.
    busy = [
        api.post("/v1/documents/transform", json={"html": "<p>x</p>" * 3000, "async": True}).json()["job_id"]
        for _ in range(4)
    ]
    job_id = api.post("/v1/documents/transform", json={"html": "<p>late</p>", "async": True}).json()["job_id"]
    response = api.post(f"/v1/jobs/{job_id}/cancel")
    if response.status_code == 409:  # the worker was faster than us: nothing to release then
        pytest.skip("the job started before it could be canceled")
    assert response.json()["status"] == "canceled"
    wait_jobs(api, busy)
    assert api.get("/v1/credits").json()["credits_left"] == before - 4
    again = api.post(f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "JOB_NOT_CANCELABLE"


def test_monthly_document_quota(metered: Metered) -> None:
    api = metered.account("capped", "capped")
    for _ in range(2):
        assert api.post("/v1/documents/transform", json={"html": "<p>q</p>"}).status_code == 201
    refused = api.post("/v1/documents/transform", json={"html": "<p>q</p>"})
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert refused.json()["error"]["details"]["limit"] == 2


def test_plan_without_webhooks_refuses_webhook_url(metered: Metered) -> None:
    api = metered.account("quiet", "quiet")
    response = api.post(
        "/v1/documents/transform",
        json={"html": "x", "async": True, "webhook_url": f"{metered.receiver.url}/q"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PLAN_FORBIDS_OPTION"
    assert response.json()["error"]["details"]["options"] == ["webhook_url"]


# -- idempotency ------------------------------------------------------------------------------------------
def test_50_concurrent_posts_with_one_key_make_one_job(metered: Metered) -> None:
    api = metered.account("idem", "roomy")
    jobs_before = api.get("/v1/jobs").json()["total"]
    body = {"html": "<p>once</p>", "async": True}

    refused: list[httpx.Response] = []

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=metered.server.url, headers=dict(api.headers), timeout=60) as client:
            # A duplicate of a request still running is answered at once with 409 and Retry-After, never
            # held (issue #12): a client retries as told and then gets the replay.
            for _ in range(30):
                response = client.post("/v1/documents/transform", json=body, headers={"Idempotency-Key": "order-42"})
                if response.status_code != 409:
                    return response
                refused.append(response)
                time.sleep(float(response.headers["retry-after"]))
            raise AssertionError("the key stayed in progress through 30 retries")

    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(pool.map(post, range(50)))
    assert all(r.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS" for r in refused)
    assert {r.status_code for r in responses} == {202}
    assert len({r.content for r in responses}) == 1  # byte-identical responses
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 49
    assert api.get("/v1/jobs").json()["total"] == jobs_before + 1

    reused = api.post("/v1/documents/transform", json={"html": "<p>other</p>"}, headers={"Idempotency-Key": "order-42"})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_idempotency_replays_a_sync_document_and_its_errors(metered: Metered) -> None:
    api = metered.account("idem2", "roomy")
    first = api.post("/v1/documents/transform", json={"html": "<p>a</p>"}, headers={"Idempotency-Key": "k1"})
    second = api.post("/v1/documents/transform", json={"html": "<p>a</p>"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    bad = api.post("/v1/templates", json={"name": "x", "body": "{{#if}}"}, headers={"Idempotency-Key": "k2"})
    again = api.post("/v1/templates", json={"name": "x", "body": "{{#if}}"}, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == again.status_code == 422 and bad.content == again.content


# -- rate limits ------------------------------------------------------------------------------------------
def test_rate_limit_refuses_then_recovers(metered: Metered) -> None:
    api = metered.account("tiny", "tiny")
    first = api.get("/v1/account")
    assert first.headers["ratelimit-limit"] == "30"
    statuses = [api.get("/v1/account").status_code for _ in range(40)]
    assert 429 in statuses
    refused = api.get("/v1/account")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 3 and refused.headers["ratelimit-remaining"] == "0"
    time.sleep(retry_after + 0.2)
    assert api.get("/v1/account").status_code == 200


# -- test keys --------------------------------------------------------------------------------------------
def test_test_keys_have_a_daily_limit_and_cost_nothing(metered: Metered) -> None:
    api = metered.account("sandbox", "roomy", mode="test")
    before = api.get("/v1/credits").json()["credits_left"]
    for _ in range(3):
        made = api.post("/v1/documents/transform", json={"html": "<p>sandbox</p>"})
        assert made.status_code == 201 and made.json()["credits_charged"] == 0
    refused = api.post("/v1/documents/transform", json={"html": "<p>sandbox</p>"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "DAILY_LIMIT_EXCEEDED"
    assert int(refused.headers["retry-after"]) > 0
    assert api.get("/v1/credits").json()["credits_left"] == before
    expires = made.json()["expires_at"]
    created = made.json()["created_at"]
    from datetime import datetime

    lifetime = datetime.fromisoformat(expires) - datetime.fromisoformat(created)
    assert 3500 <= lifetime.total_seconds() <= 3700  # test-key documents are kept one hour


# -- retention --------------------------------------------------------------------------------------------
def test_expired_documents_are_410_and_their_files_swept(metered: Metered) -> None:
    api = metered.account("retention", "roomy")
    document = api.post("/v1/documents/transform", json={"html": "<p>old</p>"}).json()
    link = document["download_url"]
    metered.sql("UPDATE documents SET expires_at = '2001-01-01 00:00:00' WHERE id = ?", document["id"])
    gone = api.get(f"/v1/documents/{document['id']}/download")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "DOCUMENT_EXPIRED"
    assert httpx.get(link).status_code == 410
    deadline = time.monotonic() + 20
    while (
        time.monotonic() < deadline
        and metered.sql("SELECT status FROM documents WHERE id = ?", document["id"])[0][0] != "expired"
    ):
        time.sleep(0.2)
    assert api.get(f"/v1/documents/{document['id']}").json()["status"] == "expired"  # metadata kept
    stored = list((metered.server.data_dir / "storage").rglob(f"{document['job_id']}/*"))
    assert stored == []


# -- API keys and accounts --------------------------------------------------------------------------------
def test_only_admin_keys_manage_keys(metered: Metered) -> None:
    admin = metered.account("keys", "roomy")
    created = admin.post("/v1/api-keys", json={"name": "ci", "mode": "live"})
    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith("pr_live_") and created.json()["role"] == "standard"
    with httpx.Client(base_url=metered.server.url, headers={"X-API-Key": secret}) as standard:
        assert standard.get("/v1/account").status_code == 200
        refused = standard.post("/v1/api-keys", json={"name": "sibling"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
        standard.post("/v1/documents/transform", json={"html": "<p>counted</p>"})
        listing = admin.get("/v1/api-keys").json()["data"]
        mine = next(k for k in listing if k["id"] == created.json()["id"])
        assert mine["last_four"] == secret[-4:] and "key" not in mine
        assert len(mine["usage"]) == 7 and mine["usage"][-1]["documents"] == 1
        assert mine["last_used_at"] is not None
        assert admin.delete(f"/v1/api-keys/{mine['id']}").status_code == 204
        assert standard.get("/v1/account").status_code == 401


def test_account_rename_and_credits(metered: Metered) -> None:
    api = metered.account("renamable", "roomy")
    assert api.patch("/v1/account", json={"name": "renamed"}).json()["name"] == "renamed"
    assert api.get("/v1/account").json()["name"] == "renamed"
    assert api.get("/v1/credits").json()["plan"] == "roomy"
    metered.server.cli("accounts", "grant-credits", "renamed", "25")
    assert api.get("/v1/credits").json()["credits_left"] == 100025


# -- webhook subscriptions --------------------------------------------------------------------------------
def test_subscription_receives_signed_events_retries_and_rotates(metered: Metered) -> None:
    api = metered.account("hooks", "roomy")
    receiver = metered.receiver
    endpoint = api.post(
        "/v1/webhooks",
        json={"url": f"{receiver.url}/subscribed", "events": ["document.completed", "template.created"]},
    )
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]
    receiver.statuses.extend([500])
    before = len(receiver.received)
    api.post("/v1/documents/transform", json={"html": "<p>evented</p>"})
    first, second = receiver.wait_for(before + 2, timeout_s=30)[before : before + 2]
    assert first.path == second.path == "/subscribed"
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    event = Webhook(secret).verify(second.body, second.headers)
    assert event["type"] == "document.completed" and event["data"]["download_url"].startswith("http")
    stale = {**second.headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(second.body, stale)

    history = api.get(f"/v1/webhooks/{endpoint.json()['id']}/deliveries").json()["data"]
    assert history[0]["status"] == "delivered" and [a["status_code"] for a in history[0]["history"]] == [500, 200]

    rotated = api.patch(f"/v1/webhooks/{endpoint.json()['id']}", json={"rotate_secret": True}).json()
    assert rotated["secret"] != secret
    before = len(receiver.received)
    api.post("/v1/templates", json={"name": "announced", "body": "x"})
    delivery = receiver.wait_for(before + 1)[before]
    assert len(delivery.headers["webhook-signature"].split()) == 2  # new and old secrets both sign
    assert Webhook(secret).verify(delivery.body, delivery.headers)["type"] == "template.created"
    assert Webhook(rotated["secret"]).verify(delivery.body, delivery.headers)["data"]["name"] == "announced"


def test_410_disables_the_endpoint(metered: Metered) -> None:
    api = metered.account("gone", "roomy")
    receiver = metered.receiver
    endpoint = api.post("/v1/webhooks", json={"url": f"{receiver.url}/gone", "events": ["document.completed"]}).json()
    receiver.statuses.extend([410])
    before = len(receiver.received)
    api.post("/v1/documents/transform", json={"html": "<p>bye</p>"})
    receiver.wait_for(before + 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and api.get(f"/v1/webhooks/{endpoint['id']}").json()["enabled"]:
        time.sleep(0.2)
    state = api.get(f"/v1/webhooks/{endpoint['id']}").json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]


def test_webhook_urls_must_pass_the_gate(metered: Metered) -> None:
    api = metered.account("gated", "roomy")
    for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://169.254.169.254/", "ftp://example.com/"):
        response = api.post("/v1/webhooks", json={"url": url, "events": ["document.completed"]})
        assert response.status_code == 422 and response.json()["error"]["code"] == "URL_FORBIDDEN", url
    unknown = api.post("/v1/webhooks", json={"url": f"{metered.receiver.url}/x", "events": ["document.exploded"]})
    assert unknown.status_code == 400


# -- OAuth2 -----------------------------------------------------------------------------------------------
def test_oauth_client_credentials_and_scopes(metered: Metered) -> None:
    admin = metered.account("oauth", "roomy")
    client = admin.post("/v1/oauth-clients", json={"name": "svc", "scopes": ["documents:write", "documents:read"]})
    assert client.status_code == 201
    client_id, client_secret = client.json()["id"], client.json()["client_secret"]
    url = metered.server.url
    token = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
    )
    assert token.status_code == 200 and token.json()["token_type"] == "bearer"
    access = token.json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    made = httpx.post(f"{url}/v1/documents/transform", json={"html": "<p>oauth</p>"}, headers=bearer, timeout=60)
    assert made.status_code == 201
    refused = httpx.get(f"{url}/v1/templates", headers=bearer)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert httpx.get(f"{url}/v1/api-keys", headers=bearer).status_code == 403  # tokens are never admin

    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    narrowed = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "documents:read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert narrowed.json()["scope"] == "documents:read"
    too_wide = httpx.post(
        f"{url}/oauth/token", json={"client_id": client_id, "client_secret": client_secret, "scope": "templates:write"}
    )
    assert too_wide.status_code == 400 and too_wide.json()["error"]["code"] == "INVALID_SCOPE"
    wrong = httpx.post(f"{url}/oauth/token", data={"client_id": client_id, "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "INVALID_CLIENT"

    claims = jwt.decode(access, options={"verify_signature": False})
    forged = [
        jwt.encode(claims, "", algorithm="none"),  # alg: none
        jwt.encode({**claims, "scope": "templates:read"}, "guessed-secret", algorithm="HS256"),
        access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB"),  # tampered signature
    ]
    for bad in forged:
        response = httpx.get(f"{url}/v1/jobs", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
    time.sleep(4)  # tokens live 3 s on this server
    expired = httpx.get(f"{url}/v1/jobs", headers=bearer)
    assert expired.status_code == 401
