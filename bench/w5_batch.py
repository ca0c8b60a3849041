"""W5: a batch of 500 one-page invoices - embedded queue vs Celery with 2 workers vs the raw engine.

The reference is measured in the same run: the median time of one raw Playwright render of the same
invoice on a warm page, times 500, divided by the cores - the wall time a perfect scheduler with zero
overhead would need on this machine. Each stack then receives the 500 entries as one POST /v1/batches;
its wall time runs from the POST to the batch's completion. Target: wall <= 1.1 x the reference.

    (a) embedded: one `pressroom serve` (SQLite, filesystem, in-process worker threads)
    (b) celery:   one API node (--no-worker) + 2 `pressroom worker` processes (PostgreSQL, S3 on moto,
                  Redis) - skipped when PostgreSQL or Redis does not answer

    .venv/bin/python bench/w5_batch.py [--entries 500] [--only embedded|celery]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # reuse the test suite's process helpers (same commands as the tests)

from tests.support import (  # noqa: E402
    S3_ENV,
    MotoServer,
    ServerProcess,
    WorkerProcess,
    fresh_postgres_database,
    postgres_url,
    shared_redis_url,
)

from common import percentile  # noqa: E402
from pressroom.rendering.html import wrap_document  # noqa: E402
from pressroom.templating.handlebars import render as handlebars_render  # noqa: E402
from w1_generate import ARGS, BODY, CHROMIUM, CSS, DATA  # noqa: E402


async def raw_single_render_ms(samples: int) -> float:
    from playwright.async_api import async_playwright

    html = wrap_document(handlebars_render(BODY, DATA), CSS)
    timings: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page()
        for index in range(samples + 5):
            start = time.perf_counter()
            await page.set_content(html, wait_until="load")
            pdf = await page.pdf(format="A4", margin=dict.fromkeys(("top", "right", "bottom", "left"), "15mm"))
            if index >= 5:
                timings.append((time.perf_counter() - start) * 1000)
            assert pdf.startswith(b"%PDF")
        await browser.close()
    return percentile(timings, 50)


def run_batch(api_url: str, key: str, entries: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=300) as client:
        template = client.post(
            "/v1/templates", json={"name": "W5 invoice", "body": BODY, "css": CSS, "options": {"margin": "15mm"}}
        )
        template.raise_for_status()
        batch_entries = [
            {"template_id": template.json()["id"], "data": {**DATA, "number": f"INV-{i:04d}"}} for i in range(entries)
        ]
        started = time.monotonic()
        response = client.post("/v1/batches", json={"operation": "generate", "entries": batch_entries})
        response.raise_for_status()
        accepted = time.monotonic() - started
        batch_id = response.json()["batch_id"]
        deadline = started + 1800
        while time.monotonic() < deadline:
            batch = client.get(f"/v1/batches/{batch_id}").json()
            if batch["status"] == "completed":
                break
            time.sleep(0.1)
        wall = time.monotonic() - started
        assert batch["totals"]["completed"] == entries, batch["totals"]
        latencies = []
        for offset in range(0, entries + 100, 100):
            for job in client.get("/v1/jobs", params={"limit": 100, "offset": offset}).json()["data"]:
                created = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
                completed = datetime.fromisoformat(job["completed_at"].replace("Z", "+00:00"))
                latencies.append((completed - created).total_seconds() * 1000)
    return {"wall_s": wall, "accept_s": accepted, "latencies_ms": latencies}


def embedded(work: Path, entries: int) -> dict[str, Any]:
    server = ServerProcess(data_dir=work / "embedded")
    server.start()
    try:
        server.cli("accounts", "create", "w5", "--plan", "enterprise")
        return run_batch(server.url, server.create_key("w5"), entries)
    finally:
        server.stop()


def celery(work: Path, entries: int) -> dict[str, Any] | None:
    base = postgres_url()
    if base is None or shared_redis_url() is None:
        print("  (b) celery: skipped - PostgreSQL or Redis is not answering on 127.0.0.1")
        return None
    moto = MotoServer(work).start()
    env = {
        **S3_ENV,
        "PRESSROOM_DATABASE_URL": fresh_postgres_database(base),
        "PRESSROOM_STORAGE_URL": moto.storage_url(f"w5-{uuid.uuid4().hex[:8]}"),
        "PRESSROOM_STORAGE__CREATE_BUCKET": "true",
        "PRESSROOM_QUEUE": "celery",
        "PRESSROOM_BROKER_URL": "redis://127.0.0.1:6379/10",
        "PRESSROOM_CELERY__QUEUE_NAME": f"w5-{uuid.uuid4().hex[:8]}",
        "PRESSROOM_SECRET_KEY": "w5-" + "k" * 40,
    }
    api = ServerProcess(data_dir=work / "api", env_extra=env, serve_args=["--no-worker"])
    api.start()
    workers = [
        WorkerProcess(data_dir=work / f"worker{i}", env_extra={**env, "PRESSROOM_PUBLIC_URL": api.url})
        for i in range(2)
    ]
    try:
        for worker in workers:
            worker.start(timeout_s=120)
        api.cli("accounts", "create", "w5", "--plan", "enterprise")
        time.sleep(3)  # let the pool processes finish warming their engines
        return run_batch(api.url, api.create_key("w5"), entries)
    finally:
        for worker in workers:
            worker.stop()
        api.stop()
        moto.stop()


def report(name: str, result: dict[str, Any], reference_s: float, entries: int) -> None:
    latencies = result["latencies_ms"]
    ratio = result["wall_s"] / reference_s
    print(
        f"  {name}: wall {result['wall_s']:.1f} s (accepted in {result['accept_s']:.2f} s) -> "
        f"{entries / result['wall_s']:.1f} docs/s; job latency p50 {percentile(latencies, 50) / 1000:.1f} s, "
        f"p95 {percentile(latencies, 95) / 1000:.1f} s; ratio to reference {ratio:.2f}x "
        f"({'meets' if ratio <= 1.1 else 'misses'} the 1.1x target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--only", choices=["embedded", "celery"])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    single_ms = asyncio.run(raw_single_render_ms(args.samples))
    reference_s = args.entries * single_ms / 1000 / cores
    print(f"W5: batch of {args.entries} one-page invoices on {cores} cores")
    print(f"  raw engine: {single_ms:.1f} ms per render (median of {args.samples}, warm page)")
    print(f"  reference: {args.entries} x {single_ms:.1f} ms / {cores} cores = {reference_s:.1f} s")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="w5-") as tmp:
        work = Path(tmp)
        if args.only in (None, "embedded"):
            results["embedded"] = embedded(work, args.entries)
            report("(a) embedded", results["embedded"], reference_s, args.entries)
        if args.only in (None, "celery"):
            outcome = celery(work, args.entries)
            if outcome is not None:
                results["celery"] = outcome
                report("(b) celery, 2 workers", outcome, reference_s, args.entries)
    summary = {
        name: {"wall_s": round(r["wall_s"], 2), "p95_ms": round(percentile(r["latencies_ms"], 95))}
        for name, r in results.items()
    }
    print(json.dumps({"single_render_ms": round(single_ms, 1), "reference_s": round(reference_s, 2), **summary}))


if __name__ == "__main__":
    main()
