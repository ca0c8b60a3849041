"""Batches over HTTP (and the CLI) on every stack: many async jobs, one batch webhook when all have ended."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import BATCH_LIMITED_ACCOUNT, Stack
from tests.support import pdftotext


@pytest.fixture(scope="module")
def batch_key(stack: Stack) -> str:
    stack.server.cli("accounts", "create", "batcher", "--plan", "enterprise")
    return stack.server.create_key("batcher")


@pytest.fixture()
def bapi(stack: Stack, batch_key: str) -> httpx.Client:
    return stack.client(batch_key)


def wait_for_batch(api: httpx.Client, batch_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch: dict[str, Any] = api.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] == "completed":
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not complete in {timeout_s}s: {batch['totals']}")


def batch_hooks(stack: Stack, batch_id: str) -> list[Any]:
    return [r for r in stack.receiver.received if r.body and r.json().get("batch_id") == batch_id]


def test_batch_runs_every_entry_and_notifies_once(stack: Stack, bapi: httpx.Client) -> None:
    entries: list[dict[str, Any]] = [
        {"html": "<h1>Letter {{n}}</h1>", "data": {"n": i}, "filename": f"letter-{i}", "metadata": {"i": i}}
        for i in range(5)
    ]
    entries[2]["webhook_url"] = f"{stack.receiver.url}/entry"  # an entry may have its own job webhook
    response = bapi.post(
        "/v1/batches",
        json={
            "operation": "transform",
            "entries": entries,
            "webhook_url": f"{stack.receiver.url}/batch",
            "metadata": {"run": "nightly"},
        },
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["count"] == 5 and accepted["batch_id"].startswith("bat_")
    assert response.headers["location"] == f"/v1/batches/{accepted['batch_id']}"
    assert [j["status_url"] for j in accepted["jobs"]] == [f"/v1/jobs/{j['job_id']}" for j in accepted["jobs"]]

    batch = wait_for_batch(bapi, accepted["batch_id"])
    assert batch["count"] == 5 and batch["metadata"] == {"run": "nightly"} and batch["completed_at"]
    assert batch["totals"] == {"pending": 0, "processing": 0, "completed": 5, "failed": 0, "canceled": 0}
    assert [j["job_id"] for j in batch["jobs"]] == [j["job_id"] for j in accepted["jobs"]]  # entry order
    for index, job in enumerate(batch["jobs"]):
        assert job["status"] == "completed" and job["attempts"] == 1 and job["error"] is None
        document = bapi.get(f"/v1/documents/{job['document_id']}").json()
        assert document["filename"] == f"letter-{index}.pdf" and document["metadata"] == {"i": index}
        assert f"Letter {index}" in pdftotext(httpx.get(document["download_url"]).content)

    stack.receiver.wait_for(1, timeout_s=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not batch_hooks(stack, accepted["batch_id"]):
        time.sleep(0.2)
    time.sleep(1.0)  # a duplicate would arrive now
    hooks = batch_hooks(stack, accepted["batch_id"])
    assert len(hooks) == 1, hooks
    secret = bapi.get("/v1/account").json()["webhook_signing_secret"]
    payload = Webhook(secret).verify(hooks[0].body, hooks[0].headers)
    assert hooks[0].path == "/batch"
    assert payload["type"] == "batch.completed" and payload["status"] == "completed"
    assert payload["count"] == 5 and payload["totals"] == {"completed": 5}
    assert payload["metadata"] == {"run": "nightly"}
    entry_hooks = [r for r in stack.receiver.received if r.path == "/entry"]
    assert [r.json()["job_id"] for r in entry_hooks] == [accepted["jobs"][2]["job_id"]]


def test_failed_entries_are_counted_and_the_batch_still_ends(stack: Stack, bapi: httpx.Client) -> None:
    entries = [{"html": "<p>ok {{n}}</p>", "data": {"n": 1}}, {"html": "{{> missing_partial}}"}, {"html": "<p>2</p>"}]
    response = bapi.post(
        "/v1/batches", json={"operation": "transform", "entries": entries, "webhook_url": f"{stack.receiver.url}/b2"}
    )
    assert response.status_code == 202, response.text
    batch = wait_for_batch(bapi, response.json()["batch_id"])
    assert (batch["totals"]["completed"], batch["totals"]["failed"]) == (2, 1)
    failed = batch["jobs"][1]
    assert failed["status"] == "failed" and failed["error"]["code"] == "TEMPLATE_RENDER_ERROR"
    assert failed["document_id"] is None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not batch_hooks(stack, batch["id"]):
        time.sleep(0.2)
    [hook] = batch_hooks(stack, batch["id"])
    assert hook.json()["totals"] == {"completed": 2, "failed": 1}
    listed = bapi.get("/v1/batches", params={"limit": 100}).json()
    summary = next(b for b in listed["data"] if b["id"] == batch["id"])
    assert (summary["count"], summary["finished"], summary["failed"]) == (3, 3, 1)


def test_generate_batch_uses_templates_and_checks_them_up_front(
    bapi: httpx.Client, invoice_template_for_batches: str
) -> None:
    good = {"template_id": invoice_template_for_batches, "data": {"number": "B-1"}}
    missing = bapi.post(
        "/v1/batches", json={"operation": "generate", "entries": [good, {"template_id": "tpl_nope", "data": {}}]}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"
    jobs_before = bapi.get("/v1/jobs", params={"limit": 1}).json()["total"]
    response = bapi.post("/v1/batches", json={"operation": "generate", "entries": [good, good]})
    assert response.status_code == 202
    batch = wait_for_batch(bapi, response.json()["batch_id"])
    assert batch["totals"]["completed"] == 2
    assert bapi.get("/v1/jobs", params={"limit": 1}).json()["total"] == jobs_before + 2  # none from the 404


@pytest.fixture()
def invoice_template_for_batches(bapi: httpx.Client) -> str:
    response = bapi.post("/v1/templates", json={"name": "Batch invoice", "body": "<h1>Invoice {{number}}</h1>"})
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


def test_batch_request_errors(stack: Stack, bapi: httpx.Client, api_b: httpx.Client) -> None:
    sync = bapi.post("/v1/batches", json={"operation": "transform", "async": False, "entries": [{"html": "x"}]})
    assert sync.status_code == 400 and sync.json()["error"]["code"] == "BATCH_ASYNC_ONLY"
    sync_entry = bapi.post("/v1/batches", json={"operation": "transform", "entries": [{"html": "x", "async": False}]})
    assert sync_entry.status_code == 400 and sync_entry.json()["error"]["code"] == "BATCH_ASYNC_ONLY"

    invalid = bapi.post("/v1/batches", json={"operation": "transform", "entries": [{"html": "x"}, {"css": "p{}"}]})
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "VALIDATION_ERROR"
    assert invalid.json()["error"]["details"][0]["loc"][:2] == ["entries", 1]
    for body in ({"operation": "transform", "entries": []}, {"operation": "fill", "entries": [{}]}):
        assert bapi.post("/v1/batches", json=body).status_code == 400
    private = bapi.post(
        "/v1/batches",
        json={"operation": "transform", "entries": [{"html": "x"}], "webhook_url": "http://10.0.0.1/hook"},
    )
    assert private.status_code == 422 and private.json()["error"]["code"] == "URL_FORBIDDEN"

    made = bapi.post("/v1/batches", json={"operation": "transform", "entries": [{"html": "<p>mine</p>"}]}).json()
    other = api_b.get(f"/v1/batches/{made['batch_id']}")
    assert other.status_code == 404 and other.json()["error"]["code"] == "BATCH_NOT_FOUND"
    assert made["batch_id"] not in {b["id"] for b in api_b.get("/v1/batches").json()["data"]}


def test_entry_limit_per_account_is_a_422(stack: Stack) -> None:
    key = stack.server.create_key(BATCH_LIMITED_ACCOUNT)  # limited to 3 entries by the stack's settings
    with stack.client(key) as api:
        entries = [{"html": f"<p>{i}</p>"} for i in range(4)]
        response = api.post("/v1/batches", json={"operation": "transform", "entries": entries})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "BATCH_TOO_LARGE" and error["details"] == {"limit": 3, "count": 4}
        french = api.post(
            "/v1/batches", json={"operation": "transform", "entries": entries}, headers={"Accept-Language": "fr"}
        )
        assert french.json()["error"]["message"] == "Le lot contient trop d'entrées pour ce compte."
        assert api.get("/v1/jobs").json()["total"] == 0  # nothing was created
        ok = api.post("/v1/batches", json={"operation": "transform", "entries": entries[:3]})
        assert ok.status_code == 202


def test_cli_batch_from_jsonl_with_progress(stack: Stack, tmp_path: Path) -> None:
    lines = [json.dumps({"html": "<h1>CLI {{n}}</h1>", "data": {"n": n}, "filename": f"cli-{n}"}) for n in range(3)]
    source = tmp_path / "entries.jsonl"
    source.write_text("\n".join(lines) + "\n\n")
    out = tmp_path / "out"
    result = stack.server.cli(
        "batch", str(source), "--operation", "transform", "--account", "batcher", "--out", str(out), "--timeout", "90"
    )
    assert "3 jobs" in result.stdout and "completed=3" in result.stdout, result.stdout + result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["00000-cli-0.pdf", "00001-cli-1.pdf", "00002-cli-2.pdf"]
    assert "CLI 2" in pdftotext((out / files[2]).read_bytes())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"html": "x"}\nnot json\n')
    failed = stack.server.cli("batch", str(bad), "--operation", "transform", check=False)
    assert failed.returncode == 2 and "invalid JSON" in failed.stderr
