"""Batches, in process: every entry runs on the embedded queue, totals, per-entry failures, up-front checks,
the account's entry limit, tenant isolation, one batch.completed outbox row."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from pressroom.db.models import WebhookDelivery
from tests.inprocess.conftest import App, Tenant


def wait_for_batch(tenant: Tenant, batch_id: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch: dict[str, Any] = tenant.get(f"/v1/batches/{batch_id}").json()
        if batch["completed_at"]:
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not end in {timeout_s}s")


def test_batch_runs_every_entry_and_records_one_completion_event(app: App, tenant: Tenant) -> None:
    entries = [{"html": f"<p>Letter {i}</p>", "filename": f"letter-{i}", "metadata": {"i": i}} for i in range(4)]
    response = tenant.post(
        "/v1/batches",
        json={
            "operation": "transform",
            "entries": entries,
            "metadata": {"run": "nightly"},
            "webhook_url": f"{app.receiver.url}/batch",
        },
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["count"] == 4 and response.headers["location"] == f"/v1/batches/{accepted['batch_id']}"
    batch = wait_for_batch(tenant, accepted["batch_id"])
    assert batch["totals"] == {"pending": 0, "processing": 0, "completed": 4, "failed": 0, "canceled": 0}
    assert [j["job_id"] for j in batch["jobs"]] == [j["job_id"] for j in accepted["jobs"]]  # entry order
    for index, job in enumerate(batch["jobs"]):
        document = tenant.get(f"/v1/documents/{job['document_id']}").json()
        assert document["filename"] == f"letter-{index}.pdf" and document["metadata"] == {"i": index}
    with app.container.db.session() as session:
        events = session.scalars(
            select(WebhookDelivery.event).where(WebhookDelivery.subject_id == accepted["batch_id"])
        ).all()
    assert list(events) == ["batch.completed"]
    assert tenant.get("/v1/credits").json()["credits_left"] == 96  # one credit per document


def test_failed_entries_are_counted_and_the_batch_still_ends(tenant: Tenant) -> None:
    entries = [{"html": "<p>ok</p>"}, {"html": "{{#each items}}{{lookup}}{{/each}}", "data": {"items": [1]}}]
    entries.append({"html": "<p>ok too</p>"})
    response = tenant.post("/v1/batches", json={"operation": "transform", "entries": entries})
    assert response.status_code == 202, response.text
    batch = wait_for_batch(tenant, response.json()["batch_id"])
    assert (batch["totals"]["completed"], batch["totals"]["failed"]) == (2, 1)
    failed = batch["jobs"][1]
    assert failed["status"] == "failed" and failed["document_id"] is None and failed["error"]["code"]
    summary = next(b for b in tenant.get("/v1/batches").json()["data"] if b["id"] == batch["id"])
    assert (summary["count"], summary["finished"], summary["failed"]) == (3, 3, 1)


def test_batch_request_errors(tenant: Tenant) -> None:
    sync = tenant.post("/v1/batches", json={"operation": "transform", "async": False, "entries": [{"html": "x"}]})
    assert sync.status_code == 400 and sync.json()["error"]["code"] == "BATCH_ASYNC_ONLY"
    invalid = tenant.post("/v1/batches", json={"operation": "transform", "entries": [{"html": "x"}, {"css": "p{}"}]})
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "VALIDATION_ERROR"
    assert invalid.json()["error"]["details"][0]["loc"][:2] == ["entries", 1]
    missing = tenant.post(
        "/v1/batches", json={"operation": "generate", "entries": [{"template_id": "tpl_0000", "data": {}}]}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"
    assert tenant.get("/v1/jobs").json()["total"] == 0  # nothing was queued by the refused batches


def test_other_tenants_batches_are_404(tenant: Tenant, other: Tenant) -> None:
    made = tenant.post("/v1/batches", json={"operation": "transform", "entries": [{"html": "<p>mine</p>"}]}).json()
    response = other.get(f"/v1/batches/{made['batch_id']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "BATCH_NOT_FOUND"
    assert other.get("/v1/batches").json()["total"] == 0
