"""W2: a long report (the catalog's report template, 2000 and 4000 table rows, ~50/100 pages) in both engines.

    .venv/bin/python bench/w2_report.py [--rows 2000 4000] [--repeat 3] [--engines chromium weasyprint]

For each engine and size: the raw engine on the same HTML (Chromium: Playwright on a warm page, same
binary and launch flags; WeasyPrint: ``HTML(string=...).write_pdf()`` in a fresh process, timed inside it)
against the call of Pressroom's renderer (Chromium: ``ChromiumRenderer.render_pdf`` - a fresh isolated
context from the pool, interception, page count; WeasyPrint: ``WeasyPrintRenderer.render_pdf`` - the
worker pool, the gated URL fetcher, the PDF shipped back over a pipe), timed around the whole call.
The two sides alternate (random order in each of ``--repeat`` rounds) so that the machine's background
noise hits both alike. Prints median times, peak RSS, the scaling ratio 4000/2000 (target <= 2.2) and
Pressroom's overhead as a % of engine time - the median of the per-round ratios ours/raw - 1 (target
<= 2%). For Chromium a third side renders raw in a fresh context warmed like the pool's (the isolation
every Pressroom render gets, done by hand): ours against it is the service's overhead beyond isolation.
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
    raw_times: list[float] = []
    fresh_times: list[float] = []
    ours_times: list[float] = []
    pages = 0
    renderer = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1)
    await renderer.start()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_ARGS))
        page = await browser.new_page()
        browser_pid = await _pid(browser)

        async def raw() -> None:
            started = time.perf_counter()
            await page.set_content(html, wait_until="load")
            await page.evaluate("document.fonts.ready.then(() => true)")
            await page.pdf(**kwargs)
            raw_times.append(time.perf_counter() - started)

        async def raw_fresh() -> None:
            # The isolation Pressroom gives every render, done by hand: a new context whose renderer has
            # printed only a small warm-up page (as the pool's contexts have), then the report.
            context = await browser.new_context()
            fresh = await context.new_page()
            await fresh.set_content("<p>warm-up</p>")
            await fresh.pdf()
            started = time.perf_counter()
            await fresh.set_content(html, wait_until="load")
            await fresh.evaluate("document.fonts.ready.then(() => true)")
            await fresh.pdf(**kwargs)
            fresh_times.append(time.perf_counter() - started)
            await context.close()

        async def ours() -> None:
            nonlocal pages
            started = time.perf_counter()
            result = await renderer.render_pdf(html, options, timeout_s=300)
            ours_times.append(time.perf_counter() - started)
            pages = result.pages

        await raw()  # the raw page's first print is a warm-up, like the renderer's pooled contexts had
        raw_times.clear()
        with PeakRss(lambda: browser_pid) as raw_rss, PeakRss(renderer_pid(renderer)) as ours_rss:
            for _ in range(repeat):
                for side in random.sample([raw, raw_fresh, ours], 3):
                    await asyncio.sleep(1.0)  # the renderer's pool refills between renders
                    await side()
        await browser.close()
    await renderer.close()
    row = _row(raw_times, ours_times, pages, raw_rss.peak, ours_rss.peak)
    row["raw_fresh_s"] = round(statistics.median(fresh_times), 3)
    paired = statistics.median(o / f for o, f in zip(ours_times, fresh_times, strict=True))
    row["overhead_vs_fresh_pct"] = round((paired - 1) * 100, 2)
    return row


def renderer_pid(renderer: ChromiumRenderer) -> Callable[[], int | None]:
    return lambda: renderer._current.pid if renderer._current else None


RAW_WEASYPRINT = """
import resource, sys, time, weasyprint
html = sys.stdin.read()
weasyprint.HTML(string="<p>warm-up</p>").write_pdf()  # like the pool's worker: fonts and UA styles loaded
started = time.perf_counter()
weasyprint.HTML(string=html).write_pdf()
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


async def weasyprint_side(html: str, options: PageOptions, repeat: int) -> dict[str, Any]:
    # The raw side gets the same page CSS and bands as Pressroom's worker adds, so both lay out the same.
    decorated = decorate(html, options)
    raw_times: list[float] = []
    ours_times: list[float] = []
    raw_peak, pages = 0.0, 0
    renderer = WeasyPrintRenderer(workers=1, max_timeout_s=1800)  # 4000 rows take minutes on a busy machine
    await renderer.start()

    async def raw() -> None:
        nonlocal raw_peak
        command = [sys.executable, "-c", RAW_WEASYPRINT]
        done = await asyncio.to_thread(subprocess.run, command, input=decorated, capture_output=True, text=True)
        elapsed, peak = done.stdout.split()
        raw_times.append(float(elapsed))
        raw_peak = max(raw_peak, float(peak))

    async def ours() -> None:
        nonlocal pages
        started = time.perf_counter()
        result = await renderer.render_pdf(html, options, timeout_s=600)
        ours_times.append(time.perf_counter() - started)
        pages = result.pages

    await renderer.render_pdf("<p>warm-up</p>", options, timeout_s=120)
    with PeakRss(lambda: renderer.worker_pids()[0] if renderer.worker_pids() else None) as ours_rss:
        for _ in range(repeat):
            for side in random.sample([raw, ours], 2):
                await side()
    await renderer.close()
    return _row(raw_times, ours_times, pages, raw_peak, ours_rss.peak)


def _row(raw: list[float], ours: list[float], pages: int, raw_rss: float, ours_rss: float) -> dict[str, Any]:
    raw_s, ours_s = statistics.median(raw), statistics.median(ours)
    paired = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
    return {
        "raw_s": round(raw_s, 3),
        "pressroom_s": round(ours_s, 3),
        "overhead_pct": round((paired - 1) * 100, 2),
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
    parser.add_argument("--repeat", type=int, default=3, help="rounds (raw and Pressroom once each)")
    parser.add_argument("--engines", nargs="+", choices=["chromium", "weasyprint"], default=["chromium", "weasyprint"])
    args = parser.parse_args()
    sides = {"chromium": chromium_side, "weasyprint": weasyprint_side}
    results: dict[str, dict[int, dict[str, Any]]] = {engine: {} for engine in args.engines}
    for rows in args.rows:
        html, options = report_html(rows)
        for engine in args.engines:
            results[engine][rows] = asyncio.run(sides[engine](html, options, args.repeat))
    print(f"W2 - report, rows {args.rows}, {args.repeat} rounds; overhead target <= 2% of engine time")
    print(
        f"{'engine':<11}{'rows':>6}{'pages':>7}{'raw s':>9}{'ours s':>9}{'overhead':>10}{'raw RSS':>10}{'our RSS':>10}"
    )
    for engine, by_rows in results.items():
        for rows, row in by_rows.items():
            print(
                f"{engine:<11}{rows:>6}{row['pages']:>7}{row['raw_s']:>9.2f}{row['pressroom_s']:>9.2f}"
                f"{row['overhead_pct']:>9.1f}%{row['raw_peak_rss_mb']:>8} MB{row['pressroom_peak_rss_mb']:>7} MB"
            )
            if "raw_fresh_s" in row:
                print(
                    f"{'':<11}{'':>6}{'':>7}{row['raw_fresh_s']:>9.2f}  <- raw, fresh warmed context; ours vs it "
                    f"{row['overhead_vs_fresh_pct']:+.1f}% (the service beyond isolation)"
                )
        if len(args.rows) == 2:
            small, large = (by_rows[r]["pressroom_s"] for r in args.rows)
            print(f"  {engine}: {args.rows[1]}/{args.rows[0]} rows time ratio {large / small:.2f} (target <= 2.2)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
