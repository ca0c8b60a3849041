"""Jobs left pending or processing when the server dies are completed after restart, exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, WebhookReceiver, have_chromium

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not have_chromium(), reason="Chromium is not installed")]

SLOW_PAGE = "".join(
    f"<section style='page-break-after:always'><h1>Page {i}</h1>{'<p>filler</p>' * 40}</section>" for i in range(40)
)


def test_jobs_survive_a_crash_and_complete_once(tmp_path: Path) -> None:
    with WebhookReceiver() as receiver:
        env = {
            "PRESSROOM_JOBS__LEASE_S": "3",
            "PRESSROOM_JOBS__WORKERS": "1",
            "PRESSROOM_NET__ALLOW_PRIVATE": json.dumps([f"127.0.0.1:{receiver.port}"]),
        }
        first = ServerProcess(data_dir=tmp_path, env_extra=env)
        first.start()
        key = first.create_key("crashy")
        headers = {"Authorization": f"Bearer {key}"}
        job_ids = []
        for index in range(8):
            response = httpx.post(
                f"{first.url}/v1/documents/transform",
                json={
                    "html": SLOW_PAGE + f"<p>job {index}</p>",
                    "async": True,
                    "webhook_url": f"{receiver.url}/h",
                },
                headers=headers,
                timeout=30,
            )
            assert response.status_code == 202
            job_ids.append(response.json()["job_id"])
        # Die, without any chance to clean up, as soon as the worker holds a job (whatever the machine's speed).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "processing" not in _statuses(tmp_path).values():
            time.sleep(0.05)
        first.stop(signal.SIGKILL)

        statuses = _statuses(tmp_path)
        assert any(s in ("pending", "processing") for s in statuses.values()), statuses

        second = ServerProcess(data_dir=tmp_path, env_extra=env)
        second.start()
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and any(s != "completed" for s in _statuses(tmp_path).values()):
                time.sleep(0.5)
            assert set(_statuses(tmp_path).values()) == {"completed"}
            receiver.wait_for(len(job_ids), timeout_s=60)
            time.sleep(1.0)  # a duplicate delivery would arrive now
        finally:
            second.stop()

    db = sqlite3.connect(tmp_path / "pressroom.db")
    per_job = dict(db.execute("SELECT job_id, COUNT(*) FROM documents GROUP BY job_id").fetchall())
    assert per_job == {job_id: 1 for job_id in job_ids}
    hooks = dict(db.execute("SELECT job_id, COUNT(*) FROM webhook_deliveries GROUP BY job_id").fetchall())
    assert hooks == {job_id: 1 for job_id in job_ids}
    ids_per_job: dict[str, set[str]] = {}
    for request in receiver.received:
        ids_per_job.setdefault(request.json()["job_id"], set()).add(request.headers["webhook-id"])
        assert request.json()["status"] == "completed"
    # Delivery is at-least-once, but a job has exactly one webhook id, so receivers can de-duplicate.
    assert {job: len(ids) for job, ids in ids_per_job.items()} == {job_id: 1 for job_id in job_ids}


def _statuses(data_dir: Path) -> dict[str, str]:
    db = sqlite3.connect(data_dir / "pressroom.db")
    try:
        return dict(db.execute("SELECT id, status FROM jobs").fetchall())
    finally:
        db.close()
