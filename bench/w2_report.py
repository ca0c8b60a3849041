"""W2: a long report (the catalog's report template, 2000 and 4000 table rows, ~50/100 pages) in both engines.

    .venv/bin/python bench/w2_report.py [--rows 2000 4000] [--repeat 2]

For each engine and size: the raw engine on the same HTML (Chromium: Playwright on a warm page; WeasyPrint:
``HTML(string=...).write_pdf()`` in a fresh process) against Pressroom's renderer (Chromium: a fresh
isolated context from the pool + interception + page count; WeasyPrint: the worker pool, the gated URL
fetcher, the PDF shipped back over a pipe). Prints median times, peak RSS, the scaling ratio 4000/2000
(target <= 2.2) and Pressroom's overhead over the raw engine (target <= 2% of engine time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from playwright.async_api import async_playwright

from common import tree_rss_mb
from pressroom.config import default_chromium_path
from pressroom.rendering.base import PageOptions
from pressroom.rendering.chromium import LAUNCH_ARGS, ChromiumRenderer, pdf_params
from pressroom.rendering.html import wrap_document
from pressroom.rendering.weasyprint import WeasyPrintRenderer, decorate
from pressroom.templates.catalog import load_catalog
from pressroom.templating.handlebars import render as handlebars_render

CHROMIUM = default_chromium_path()  # the binary the server uses by default


def report_html(rows: int) -> tuple[str, PageOptions]:
    entry = next(e for e in load_catalog() if e.slug == "report")
    data = dict(entry.sample_data)
    rng = random.Random(rows)
    template_rows = entry.sample_data["rows"]
    data["rows"] = [{**rng.choice(template_rows), "id": i + 1} for i in range(rows)]
    options = PageOptions.model_validate(
        {**entry.options, "footer_html": handlebars_render(entry.options["footer_html"], data)}
    )
    return wrap_document(handlebars_render(entry.body, data), entry.css), options


class PeakRss:
    """Samples the RSS of a process tree every 50 ms (the peak of a render, browsers included)."""

    def __init__(self, pid_of: Callable[[], int | None]) -> None:
        self.pid_of = pid_of
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pid = self.pid_of()
            if pid:
                with contextlib.suppress(OSError):
                    self.peak = max(self.peak, tree_rss_mb(pid))
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def chromium_side(html: str, options: PageOptions, repeat: int) -> dict[str, Any]:
    params = pdf_params(options)
    kwargs: dict[str, Any] = {
        "width": params.width,
        "height": params.height,
        "margin": params.margin,
        "print_background": True,
        "display_header_footer": True,
        "header_template": params.header_template,
        "footer_template": params.footer_template,
    }
    raw_times, ours_times, pages = [], [], 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_ARGS))
        page = await browser.new_page()
        browser_pid = await _pid(browser)
        with PeakRss(lambda: browser_pid) as raw_rss:
            for _ in range(repeat):
                started = time.perf_counter()
                await page.set_content(html, wait_until="load")
                await page.evaluate("document.fonts.ready.then(() => true)")
                await page.pdf(**kwargs)
                raw_times.append(time.perf_counter() - started)
        await browser.close()
    renderer = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1)
    await renderer.start()
    await asyncio.sleep(1.0)
    with PeakRss(lambda: renderer._current.pid if renderer._current else None) as ours_rss:
        for _ in range(repeat):
            result = await renderer.render_pdf(html, options, timeout_s=300)
            ours_times.append(result.render_ms / 1000)
            pages = result.pages
            await asyncio.sleep(1.0)
    await renderer.close()
    return _row(raw_times, ours_times, pages, raw_rss.peak, ours_rss.peak)


RAW_WEASYPRINT = """
import resource, sys, time, weasyprint
html = sys.stdin.read()
times = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    weasyprint.HTML(string=html).write_pdf()
    times.append(time.perf_counter() - started)
print(" ".join(map(str, times)), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


async def weasyprint_side(html: str, options: PageOptions, repeat: int) -> dict[str, Any]:
    # The raw side gets the same page CSS and bands as Pressroom's worker adds, so both lay out the same.
    decorated = decorate(html, options)
    out = subprocess.run(
        [sys.executable, "-c", RAW_WEASYPRINT, str(repeat)], input=decorated, capture_output=True, text=True, check=True
    ).stdout.split()
    raw_times, raw_peak = [float(v) for v in out[:-1]], float(out[-1])
    renderer = WeasyPrintRenderer(workers=1)
    await renderer.start()
    ours_times, pages = [], 0
    with PeakRss(lambda: renderer.worker_pids()[0] if renderer.worker_pids() else None) as ours_rss:
        for _ in range(repeat):
            started = time.perf_counter()
            result = await renderer.render_pdf(html, options, timeout_s=600)
            ours_times.append(time.perf_counter() - started)
            pages = result.pages
    await renderer.close()
    return _row(raw_times, ours_times, pages, raw_peak, ours_rss.peak)


def _row(raw: list[float], ours: list[float], pages: int, raw_rss: float, ours_rss: float) -> dict[str, Any]:
    raw_s, ours_s = statistics.median(raw), statistics.median(ours)
    return {
        "raw_s": round(raw_s, 3),
        "pressroom_s": round(ours_s, 3),
        "overhead_pct": round((ours_s - raw_s) / raw_s * 100, 2),
        "pages": pages,
        "raw_peak_rss_mb": round(raw_rss),
        "pressroom_peak_rss_mb": round(ours_rss),
    }


async def _pid(browser: Any) -> int | None:
    session = await browser.new_browser_cdp_session()
    info = await session.send("SystemInfo.getProcessInfo")
    return next((int(p["id"]) for p in info["processInfo"] if p["type"] == "browser"), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 4000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, dict[int, dict[str, Any]]] = {"chromium": {}, "weasyprint": {}}
    for rows in args.rows:
        html, options = report_html(rows)
        results["chromium"][rows] = asyncio.run(chromium_side(html, options, args.repeat))
        results["weasyprint"][rows] = asyncio.run(weasyprint_side(html, options, args.repeat))
    print(f"W2 - report, rows {args.rows}, median of {args.repeat}")
    print(
        f"{'engine':<11}{'rows':>6}{'pages':>7}{'raw s':>9}{'ours s':>9}{'overhead':>10}{'raw RSS':>10}{'our RSS':>10}"
    )
    for engine, by_rows in results.items():
        for rows, row in by_rows.items():
            print(
                f"{engine:<11}{rows:>6}{row['pages']:>7}{row['raw_s']:>9.2f}{row['pressroom_s']:>9.2f}"
                f"{row['overhead_pct']:>9.1f}%{row['raw_peak_rss_mb']:>8} MB{row['pressroom_peak_rss_mb']:>7} MB"
            )
        if len(args.rows) == 2:
            small, large = (by_rows[r]["pressroom_s"] for r in args.rows)
            print(f"  {engine}: {args.rows[1]}/{args.rows[0]} rows time ratio {large / small:.2f} (target <= 2.2)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
