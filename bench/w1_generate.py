"""W1: a 1-page invoice (20 line items) - raw Playwright on a warm page vs POST /v1/documents/generate.

Both run in the same process run, interleaved, on the same machine, so the ratio b/a is the service's own
overhead (HTTP, auth, job row, Handlebars, isolated context, storage, document row) over the bare engine.
Also prints the server's RSS before and after N renders.

    .venv/bin/python bench/w1_generate.py [--renders 500] [--samples 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from common import ServerProcess, percentile, rss_mb, summary, tree_rss_mb
from pressroom.config import default_chromium_path
from pressroom.rendering.html import wrap_document
from pressroom.templating.handlebars import render as handlebars_render

CHROMIUM = default_chromium_path()  # the binary the server uses by default
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]

BODY = """
<header><h1>Invoice {{number}}</h1><p>{{customer.name}}<br>{{customer.address}}</p></header>
<table>
  <thead><tr><th>#</th><th>Item</th><th>Qty</th><th>Unit</th><th>Amount</th></tr></thead>
  <tbody>
  {{#each items}}<tr><td>{{@index}}</td><td>{{name}}</td><td>{{qty}}</td><td>{{price}}</td><td>{{amount}}</td></tr>
  {{/each}}
  </tbody>
</table>
<p class="total">Total: {{total}} EUR</p>
"""
CSS = """
body { font-family: 'DejaVu Sans', sans-serif; font-size: 11px; }
table { width: 100%; border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 3px; }
.total { text-align: right; font-weight: bold; }
"""
ITEMS = [
    {"name": f"Item {i}", "qty": i % 5 + 1, "price": 9.5 + i, "amount": (i % 5 + 1) * (9.5 + i)} for i in range(20)
]
DATA = {
    "number": "INV-001",
    "customer": {"name": "Ada Lovelace", "address": "12 Analytical St"},
    "items": ITEMS,
    "total": round(sum(item["amount"] for item in ITEMS), 2),
}
OPTIONS = {"paper": "A4", "margin": "15mm"}


async def raw_engine(samples: int, gap_s: float = 0.0) -> list[float]:
    html = wrap_document(handlebars_render(BODY, DATA), CSS)
    timings: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page()
        for index in range(samples + 5):
            start = time.perf_counter()
            await page.set_content(html, wait_until="load")
            pdf = await page.pdf(
                format="A4",
                margin={k: "15mm" for k in ("top", "right", "bottom", "left")},
                print_background=True,
            )
            if index >= 5:  # warm-up excluded
                timings.append((time.perf_counter() - start) * 1000)
            assert pdf.startswith(b"%PDF")
            await asyncio.sleep(gap_s)
        await browser.close()
    return timings


def through_http(client: httpx.Client, template_id: str, samples: int, gap_s: float = 0.0) -> list[float]:
    timings: list[float] = []
    for index in range(samples + 5):
        start = time.perf_counter()
        response = client.post("/v1/documents/generate", json={"template_id": template_id, "data": DATA})
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 201, response.text
        if index >= 5:
            timings.append(elapsed)
        time.sleep(gap_s)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=60, help="timed renders per side, per round")
    parser.add_argument("--renders", type=int, default=500, help="renders for the RSS growth reading")
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=0.0,
        help="think time between requests; 0 = back-to-back (each isolated render then pays a fresh context)",
    )
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (samples are split between them)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(data_dir=Path(tmp), env_extra={"PRESSROOM_RENDER__CONCURRENCY": "2"})
        server.start()
        try:
            server.cli("accounts", "create", "bench", "--plan", "enterprise")  # no quota in the way
            key = server.create_key("bench")
            client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            template = client.post("/v1/templates", json={"name": "W1", "body": BODY, "css": CSS, "options": OPTIONS})
            template_id = template.json()["id"]
            assert server.process is not None
            pid = server.process.pid

            raw_a, http_b = [], []
            per_round = max(1, args.samples // args.rounds)
            for _ in range(args.rounds):  # interleave the two sides so background noise hits both
                raw_a += asyncio.run(raw_engine(per_round, args.gap_ms / 1000))
                http_b += through_http(client, template_id, per_round, args.gap_ms / 1000)
            print(f"W1 - 1-page invoice, 20 line items (sequential, one client, {args.gap_ms:.0f} ms between requests)")
            print(summary("(a) raw Playwright, warm reused page", raw_a))
            print(summary("(b) POST /v1/documents/generate (sync JSON)", http_b))
            ratio50 = percentile(http_b, 50) / percentile(raw_a, 50)
            ratio95 = percentile(http_b, 95) / percentile(raw_a, 95)
            print(f"ratio b/a: p50 {ratio50:.2f}  p95 {ratio95:.2f}   (target <= 1.5; long-run goal <= 1.1)")

            before, before_tree = rss_mb(pid), tree_rss_mb(pid)
            started = time.perf_counter()
            for _ in range(args.renders):
                response = client.post("/v1/documents/generate", json={"template_id": template_id, "data": DATA})
                assert response.status_code == 201
            seconds = time.perf_counter() - started
            after, after_tree = rss_mb(pid), tree_rss_mb(pid)
            growth = (after - before) / before * 100
            readings = f"{before:.0f} MB -> {after:.0f} MB ({growth:+.1f}%, target < 10%)"
            print(f"server RSS over {args.renders} renders: {readings}")
            print(f"server + browser tree RSS: {before_tree:.0f} MB -> {after_tree:.0f} MB")
            print(f"throughput (one sequential client): {args.renders / seconds:.1f} documents/s")
            print(json.dumps({"w1_p50_ratio": round(ratio50, 3), "rss_growth_pct": round(growth, 2)}))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
