"""The compose topology on loopback: 2 API nodes + 2 Celery workers, PostgreSQL, S3, Redis.

200 async jobs from 3 accounts, spread over both API nodes: every job completes exactly once (one
document, one webhook id) and each account sees only its own documents, whichever node it asks.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.scaleout.cluster import cluster, moto, requires_chromium
from tests.support import MotoServer, pdftotext, require_service, shared_redis_url

__all__ = ["moto"]
pytestmark = [pytest.mark.slow, requires_chromium]

JOBS = 200
ACCOUNTS = ("north", "south", "east")


def test_two_api_nodes_two_workers_200_jobs_three_accounts(tmp_path: Path, moto: MotoServer) -> None:
    require_service(shared_redis_url() is not None, "Redis is not answering on 127.0.0.1:6379")
    with cluster(tmp_path, moto, "redis://127.0.0.1:6379/12") as running:
        running.add_api()
        running.add_api()
        running.add_worker(concurrency=1)
        running.add_worker(concurrency=1)
        keys = {name: running.account_key(name) for name in ACCOUNTS}

        def submit(index: int) -> tuple[str, str]:
            account = ACCOUNTS[index % len(ACCOUNTS)]
            with running.client(keys[account], api=index % 2) as api:  # alternate API nodes
                response = api.post(
                    "/v1/documents/transform",
                    json={
                        "html": "<h1>{{account}} #{{n}}</h1>",
                        "data": {"account": account, "n": index},
                        "async": True,
                        "webhook_url": f"{running.receiver.url}/hooks",
                    },
                )
            assert response.status_code == 202, response.text
            return account, response.json()["job_id"]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            submitted = list(pool.map(submit, range(JOBS)))
        job_ids = [job_id for _, job_id in submitted]
        running.wait_ended(job_ids, timeout_s=240)
        elapsed = time.monotonic() - started
        running.assert_exactly_once(job_ids)
        attempts = running.sql("SELECT attempts, COUNT(*) FROM jobs WHERE id = ANY(%s) GROUP BY attempts", job_ids)
        assert attempts == [(1, JOBS)]
        print(f"\n{JOBS} jobs on 2 API nodes + 2 workers in {elapsed:.1f}s ({JOBS / elapsed:.1f} jobs/s)")

        # Each account sees exactly its own documents, on either node; the others' are 404.
        mine = {account: {job_id for owner, job_id in submitted if owner == account} for account in ACCOUNTS}
        for index, account in enumerate(ACCOUNTS):
            with running.client(keys[account], api=index % 2) as api:
                seen: list[dict[str, str]] = []
                for offset in range(0, JOBS, 100):
                    page = api.get("/v1/documents", params={"limit": 100, "offset": offset}).json()
                    seen.extend(page["data"])
                assert {d["job_id"] for d in seen} == mine[account]
                sample = seen[0]
                # Downloads are presigned S3 URLs (the default with S3): no API node in the path.
                assert "X-Amz-Signature=" in sample["download_url"] and moto.endpoint in sample["download_url"]
                assert account in pdftotext(httpx.get(sample["download_url"]).content)
                other = next(a for a in ACCOUNTS if a != account)
                foreign = next(iter(mine[other]))
                assert api.get(f"/v1/jobs/{foreign}").status_code == 404
        # Both workers took part (each runner's pid is in the lease owner while it holds a job; the
        # document rows do not say who made them, the worker logs do not either at warning level).
        assert all(worker.alive() for worker in running.workers)
