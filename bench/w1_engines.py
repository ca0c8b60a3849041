"""W1 (engines): a 1-page invoice - the raw engine vs Pressroom over HTTP, latency and saturation throughput.

    .venv/bin/python bench/w1_engines.py [--samples 60] [--gap 0] [--seconds 20] [--parallel 4]

Latency (sequential, one client; sides interleaved in rounds so background noise hits all of them):
  (a) raw Playwright, one warm page reused for every render - the fastest possible, no isolation;
  (b) raw Playwright, a new browser context per render, Playwright's default flags - what isolation costs
      a naive service (Gotenberg-like);
  (b') the same with Pressroom's launch flags (one renderer per context, see docs/rendering.md);
  (c) POST /v1/documents/generate, sync - Pressroom, every render in its own fresh context.
Targets (issue 4): c/a <= 1.10; b/c >= 5.

Throughput at saturation (``--parallel`` clients/pages for ``--seconds`` each):
  raw reused pages, raw new context per render (Pressroom's flags), Pressroom over HTTP. Target: c/a >= 0.9.
Prints a JSON line with the ratios for the closing note.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, async_playwright

from common import ServerProcess, percentile, summary
from pressroom.config import default_chromium_path
from pressroom.rendering.base import PageOptions
from pressroom.rendering.chromium import LAUNCH_ARGS, pdf_params
from pressroom.rendering.html import wrap_document
from pressroom.templating.handlebars import render as handlebars_render
from w1_generate import BODY, CSS, DATA

CHROMIUM = default_chromium_path()  # the binary the server uses by default
OPTIONS = {"paper": "A4", "margin": "15mm"}
DEFAULT_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def pdf_kwargs() -> dict[str, Any]:
    params = pdf_params(PageOptions.model_validate(OPTIONS))
    return {"width": params.width, "height": params.height, "margin": params.margin, "print_background": True}


class RawEngine:
    """Raw Playwright on the OS Chromium: a reused page, or a new context per render."""

    def __init__(self, browser: Browser, html: str) -> None:
        self.browser = browser
        self.html = html
        self.kwargs = pdf_kwargs()

    async def reused(self, page: Any) -> int:
        await page.set_content(self.html, wait_until="load")
        return len(await page.pdf(**self.kwargs))

    async def cold(self) -> int:
        context = await self.browser.new_context()
        page = await context.new_page()
        await page.set_content(self.html, wait_until="load")
        size = len(await page.pdf(**self.kwargs))
        await context.close()
        return size


async def timed(render: Callable[[], Awaitable[int]], samples: int, gap: float) -> list[float]:
    timings = []
    for index in range(samples + 3):
        started = time.perf_counter()
        assert await render() > 1000
        if index >= 3:
            timings.append((time.perf_counter() - started) * 1000)
        if gap:
            await asyncio.sleep(gap)
    return timings


async def raw_latency(args: list[str], samples: int, gap: float, html: str) -> tuple[list[float], list[float]]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        engine = RawEngine(browser, html)
        page = await (await browser.new_context()).new_page()
        reused = await timed(lambda: engine.reused(page), samples, gap)
        cold = await timed(engine.cold, max(10, samples // 3), gap)
        await browser.close()
    return reused, cold


async def raw_throughput(args: list[str], parallel: int, seconds: float, html: str, cold: bool) -> float:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        engine = RawEngine(browser, html)
        pages = [await (await browser.new_context()).new_page() for _ in range(parallel)]
        for page in pages:
            await engine.reused(page)
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker(page: Any) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await (engine.cold() if cold else engine.reused(page))
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(page) for page in pages))
        elapsed = time.perf_counter() - started
        await browser.close()
    return done / elapsed


def http_latency(client: httpx.Client, template_id: str, samples: int, gap: float) -> list[float]:
    timings = []
    for index in range(samples + 3):
        started = time.perf_counter()
        response = client.post("/v1/documents/generate", json={"template_id": template_id, "data": DATA})
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.text
        if index >= 3:
            timings.append(elapsed)
        if gap:
            time.sleep(gap)
    return timings


def http_throughput(url: str, key: str, template_id: str, parallel: int, seconds: float) -> tuple[float, int]:
    done, refused = 0, 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal done, refused
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            while time.perf_counter() < deadline:
                response = client.post("/v1/documents/generate", json={"template_id": template_id, "data": DATA})
                with lock:
                    if response.status_code == 201:
                        done += 1
                    else:
                        refused += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.perf_counter() - started), refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=60, help="timed sequential renders per side")
    parser.add_argument("--gap", type=float, default=0.0, help="idle seconds between sequential renders")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each throughput run")
    parser.add_argument("--parallel", type=int, default=(os.cpu_count() or 1) * 2, help="clients/pages at once")
    args = parser.parse_args()
    html = wrap_document(handlebars_render(BODY, DATA), CSS)
    ours = list(LAUNCH_ARGS)

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(data_dir=Path(tmp), env_extra={"PRESSROOM_RENDER__CONCURRENCY": str(args.parallel)})
        server.start()
        try:
            server.cli("accounts", "create", "bench", "--plan", "enterprise", check=False)
            key = server.create_key("bench")
            client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
            template = client.post("/v1/templates", json={"name": "W1", "body": BODY, "css": CSS, "options": OPTIONS})
            template_id = template.json()["id"]

            a: list[float] = []
            b: list[float] = []
            b2: list[float] = []
            c: list[float] = []
            half = max(5, args.samples // 2)
            for _ in range(2):
                reused, cold_default = asyncio.run(raw_latency(DEFAULT_ARGS, half, args.gap, html))
                a += reused
                b += cold_default
                b2 += asyncio.run(raw_latency(ours, 5, args.gap, html))[1]
                time.sleep(1.0)  # let the server's context pool refill after the raw runs
                c += http_latency(client, template_id, half, args.gap)
            print(f"W1 - 1-page invoice, sequential, gap {args.gap}s")
            print(summary("(a) raw Playwright, reused page", a))
            print(summary("(b) raw, new context/render, default flags", b))
            print(summary("(b') raw, new context/render, Pressroom flags", b2))
            print(summary("(c) Pressroom sync HTTP (fresh context each)", c))
            p50 = {name: percentile(s, 50) for name, s in {"a": a, "b": b, "b2": b2, "c": c}.items()}
            print(
                f"c/a p50 {p50['c'] / p50['a']:.2f} (target <= 1.10)   b/c p50 {p50['b'] / p50['c']:.2f} "
                f"(target >= 5)   b'/c p50 {p50['b2'] / p50['c']:.2f}"
            )

            print(f"\nThroughput at saturation, {args.parallel} in parallel, {args.seconds:.0f}s each (documents/s)")
            raw_reused = asyncio.run(raw_throughput(ours, args.parallel, args.seconds, html, cold=False))
            raw_cold = asyncio.run(raw_throughput(ours, args.parallel, args.seconds, html, cold=True))
            time.sleep(1.0)
            served, refused = http_throughput(server.url, key, template_id, args.parallel, args.seconds)
            print(f"  raw reused pages                 {raw_reused:6.1f}")
            print(f"  raw new context per render       {raw_cold:6.1f}")
            print(f"  Pressroom HTTP (isolated)        {served:6.1f}   ({refused} refused)")
            print(
                f"  Pressroom / raw reused {served / raw_reused:.2f} (target >= 0.9)   "
                f"Pressroom / raw isolated {served / raw_cold:.2f}"
            )
            print(
                json.dumps(
                    {
                        "w1_c_over_a_p50": round(p50["c"] / p50["a"], 3),
                        "w1_cold_default_over_c_p50": round(p50["b"] / p50["c"], 2),
                        "w1_cold_tuned_over_c_p50": round(p50["b2"] / p50["c"], 2),
                        "throughput_vs_raw_reused": round(served / raw_reused, 3),
                        "throughput_vs_raw_isolated": round(served / raw_cold, 3),
                    }
                )
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
