"""Render-engine benchmark: ChromiumRenderer against raw Playwright on the same Chromium, side by side.

    .venv/bin/python bench/render_engines.py [--iterations 40] [--seconds 10] [--parallel 4] [--chromium PATH]

Same invoice (20 lines, a page-number footer), same binary, same launch flags (Pressroom's LAUNCH_ARGS),
one process:
  (a) raw Playwright, one warm page reused for every render (fastest possible, no isolation);
  (b) raw Playwright, a new browser context + page per render (isolation, paid in the critical path);
  (b0) the same on a browser launched with Playwright's default flags only - what a naive isolated
      service pays (Pressroom's flags also make a new context cheaper, see docs/rendering.md);
  (c) ChromiumRenderer (a fresh isolated context per render from its pre-warmed pool, network
      interception, page counting).
Latency, sequential, p50/p95 in ms:
  - gap 0.25 s between renders (a service is rarely saturated; the pool refills in the gaps): rounds of
    a, b, c in random order, so background noise hits all three alike;
  - back-to-back (gap 0): alternating blocks of consecutive renders per side; the first renders of a
    Pressroom block (served by contexts pooled before it) are not timed, so its steady state is measured.
Throughput at saturation: ``--parallel`` renders at once for ``--seconds`` per side (in three slices, sides
alternating): raw on that many reused pages, raw with a new context per render, ChromiumRenderer with
concurrency ``--parallel``.
Targets (issue 4): c/a p50 <= 1.10, b/c p50 >= 5 (b0/c printed too), throughput c/a >= 0.9. A JSON line
closes the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from pressroom.config import default_chromium_path
from pressroom.rendering.base import PageOptions
from pressroom.rendering.chromium import LAUNCH_ARGS, ChromiumRenderer, pdf_params
from pressroom.rendering.html import wrap_document

CSS = """
body { font-family: 'DejaVu Sans', sans-serif; font-size: 11px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } .muted { color: #777; }
table { width: 100%; border-collapse: collapse; margin-top: 16px; }
th, td { padding: 6px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; } tfoot td { font-weight: bold; border-top: 2px solid #222; }
.header { display: flex; justify-content: space-between; }
"""
DEFAULT_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
BLOCK = 12  # back-to-back renders per block and side
Render = Callable[[], Awaitable[int]]


def invoice_html(items: int = 20) -> str:
    rows = "".join(
        f"<tr><td>{n}</td><td>Consulting service line {n}</td><td class='num'>{n % 5 + 1}</td>"
        f"<td class='num'>{100 + n * 7:.2f} EUR</td><td class='num'>{(n % 5 + 1) * (100 + n * 7):.2f} EUR</td></tr>"
        for n in range(1, items + 1)
    )
    total = sum((n % 5 + 1) * (100 + n * 7) for n in range(1, items + 1))
    body = f"""
    <div class="header"><div><h1>Invoice INV-2024-0042</h1><div class="muted">Issued 2024-05-01</div></div>
    <div><b>ACME SAS</b><br>1 rue de la Paix<br>75002 Paris</div></div>
    <p>Bill to: <b>Example Corp</b>, 10 Downing Street, London</p>
    <table><thead><tr><th>#</th><th>Description</th><th class="num">Qty</th><th class="num">Unit</th>
    <th class="num">Amount</th></tr></thead><tbody>{rows}</tbody>
    <tfoot><tr><td colspan="4">Total</td><td class="num">{total:.2f} EUR</td></tr></tfoot></table>
    <p class="muted">Payment within 30 days. Thank you for your business.</p>"""
    return wrap_document(body, CSS)


OPTIONS = PageOptions(margin="15mm", footer_html='<div style="text-align:center">{page}/{pages}</div>')


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


class Raw:
    """Raw Playwright: set_content + page.pdf with the same print parameters Pressroom uses."""

    def __init__(self, browser: Browser, html: str) -> None:
        params = pdf_params(OPTIONS)
        self.browser = browser
        self.html = html
        self.kwargs: dict[str, Any] = {
            "width": params.width,
            "height": params.height,
            "margin": params.margin,
            "print_background": True,
            "display_header_footer": True,
            "header_template": params.header_template,
            "footer_template": params.footer_template,
        }

    async def on(self, page: Page) -> int:
        await page.set_content(self.html, wait_until="load")
        return len(await page.pdf(**self.kwargs))

    async def cold(self) -> int:
        context = await self.browser.new_context()
        size = await self.on(await context.new_page())
        await context.close()
        return size

    async def pages(self, count: int) -> list[Page]:
        pages = [await (await self.browser.new_context()).new_page() for _ in range(count)]
        for page in pages:
            await self.on(page)
            await self.on(page)
        return pages


async def timed(render: Render) -> float:
    started = time.perf_counter()
    assert await render() > 1000, "suspiciously small PDF"
    return (time.perf_counter() - started) * 1000


async def with_gap(sides: dict[str, Render], iterations: int, gap: float) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for index in range(iterations + 2):
        for name in random.sample(list(sides), len(sides)):
            elapsed = await timed(sides[name])
            if index >= 2:
                samples[name].append(elapsed)
            await asyncio.sleep(gap)
    return samples


async def back_to_back(sides: dict[str, Render], iterations: int, skip: dict[str, int]) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in sides}
    while min(len(s) for s in samples.values()) < iterations:
        for name in random.sample(list(sides), len(sides)):
            for index in range(skip.get(name, 1) + BLOCK):
                elapsed = await timed(sides[name])
                if index >= skip.get(name, 1):
                    samples[name].append(elapsed)
            await asyncio.sleep(1.0)  # the next block starts from an idle machine (and a full pool)
    return samples


async def saturate(render: Callable[[int], Awaitable[int]], parallel: int, seconds: float) -> tuple[int, float]:
    """``parallel`` workers rendering back-to-back for ``seconds``: (documents done, elapsed seconds)."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(slot: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await render(slot)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(parallel)))
    return done, time.perf_counter() - started


async def throughput(
    sides: dict[str, Callable[[int], Awaitable[int]]], parallel: int, seconds: float, rounds: int = 3
) -> dict[str, float]:
    """Documents/s per side; each side runs ``rounds`` slices of seconds/rounds, sides alternating."""
    totals = {name: [0, 0.0] for name in sides}
    for _ in range(rounds):
        for name in random.sample(list(sides), len(sides)):
            done, elapsed = await saturate(sides[name], parallel, seconds / rounds)
            totals[name][0] += done
            totals[name][1] += elapsed
            await asyncio.sleep(1.0)
    return {name: done / elapsed for name, (done, elapsed) in totals.items()}


def report(title: str, samples: dict[str, list[float]]) -> dict[str, float]:
    print(title)
    for name, values in samples.items():
        print(f"  {name:<22} n={len(values):<4} p50 {pct(values, 50):7.1f}   p95 {pct(values, 95):7.1f}")
    names = ("a raw reused page", "b raw new context", "b0 same, default flags", "c ChromiumRenderer")
    a, b, b0, c = (pct(samples[name], 50) for name in names)
    print(f"  c/a p50 {c / a:.2f} (target <= 1.10)   b/c p50 {b / c:.2f}   b0/c p50 {b0 / c:.2f} (target >= 5)")
    return {
        "a_p50_ms": round(a, 1),
        "b_p50_ms": round(b, 1),
        "b0_p50_ms": round(b0, 1),
        "c_p50_ms": round(c, 1),
        "c_over_a": round(c / a, 3),
        "b_over_c": round(b / c, 2),
        "b0_over_c": round(b0 / c, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=40, help="timed renders per side and latency run")
    parser.add_argument("--gap", type=float, default=0.25, help="idle seconds between renders (first run)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each throughput run")
    parser.add_argument("--parallel", type=int, default=4, help="renders at once in the throughput runs")
    parser.add_argument("--chromium", default=default_chromium_path())
    args = parser.parse_args()
    html = invoice_html()
    renderer = ChromiumRenderer(executable_path=args.chromium, concurrency=args.parallel)
    await renderer.start()

    async def ours(_slot: int = 0) -> int:
        return len((await renderer.render_pdf(html, OPTIONS, timeout_s=60)).data)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=args.chromium, args=list(LAUNCH_ARGS))
        raw = Raw(browser, html)
        (page,) = await raw.pages(1)
        naive = Raw(await playwright.chromium.launch(executable_path=args.chromium, args=DEFAULT_ARGS), html)
        sides: dict[str, Render] = {
            "a raw reused page": lambda: raw.on(page),
            "b raw new context": raw.cold,
            "b0 same, default flags": naive.cold,
            "c ChromiumRenderer": ours,
        }
        await asyncio.sleep(1.0)  # the renderer's pool is full
        print(f"{args.chromium}, invoice (20 lines, 1 page), ms")
        gap = report(f"sequential, gap {args.gap}s", await with_gap(sides, args.iterations, args.gap))
        skip = {"c ChromiumRenderer": renderer.prewarm_contexts + 2}
        b2b = report("sequential, back-to-back", await back_to_back(sides, args.iterations, skip))

        pages = await raw.pages(args.parallel)
        saturated: dict[str, Callable[[int], Awaitable[int]]] = {
            "a raw reused pages": lambda slot: raw.on(pages[slot]),
            "b raw new context each": lambda _slot: raw.cold(),
            "c ChromiumRenderer": ours,
        }
        rates = await throughput(saturated, args.parallel, args.seconds)
        await browser.close()
        await naive.browser.close()
    await renderer.close()
    print(f"throughput at saturation, {args.parallel} at once, {args.seconds:g}s per side (documents/s)")
    for name, rate in rates.items():
        print(f"  {name:<24} {rate:6.1f}")
    ratio = rates["c ChromiumRenderer"] / rates["a raw reused pages"]
    isolated = rates["c ChromiumRenderer"] / rates["b raw new context each"]
    print(f"  c/a {ratio:.2f} (target >= 0.9)   c/b {isolated:.2f}")
    print(f"  renderer contexts: {renderer.stats}")
    summary = {"gap": gap, "back_to_back": b2b, "throughput": {k: round(v, 2) for k, v in rates.items()}}
    print(json.dumps({**summary, "throughput_c_over_a": round(ratio, 3), "throughput_c_over_b": round(isolated, 3)}))


if __name__ == "__main__":
    asyncio.run(main())
