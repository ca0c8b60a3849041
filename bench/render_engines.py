"""Render-engine benchmark: ChromiumRenderer against raw Playwright on the same Chromium, side by side.

    .venv/bin/python bench/render_engines.py [--iterations 30] [--gap 0.25] [--chromium PATH]

(a) raw Playwright, one warm page reused for every render (fastest possible, no isolation);
(b) raw Playwright, a new browser context + page per render (isolation, paid in the critical path);
(c) ChromiumRenderer (isolation from pre-warmed contexts, network interception, page counting).
Prints p50/p95 in ms for each and the ratios c/a and c/b. ``--gap`` idles between renders (a service
is rarely saturated; it also lets the pool refill); ``--gap 0`` measures back-to-back renders.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, async_playwright

from pressroom.config import default_chromium_path
from pressroom.rendering.base import PageOptions
from pressroom.rendering.chromium import ChromiumRenderer, pdf_params
from pressroom.rendering.html import wrap_document

CSS = """
body { font-family: 'DejaVu Sans', sans-serif; font-size: 11px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } .muted { color: #777; }
table { width: 100%; border-collapse: collapse; margin-top: 16px; }
th, td { padding: 6px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; } tfoot td { font-weight: bold; border-top: 2px solid #222; }
.header { display: flex; justify-content: space-between; }
"""


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


async def measure(name: str, render: Callable[[], Awaitable[int]], iterations: int, gap: float) -> list[float]:
    for _ in range(3):  # warm-up
        await render()
        await asyncio.sleep(gap)
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        size = await render()
        samples.append((time.perf_counter() - started) * 1000)
        assert size > 1000, f"{name}: suspiciously small PDF"
        await asyncio.sleep(gap)
    return samples


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


async def raw_variants(browser: Browser, html: str) -> tuple[Callable[[], Awaitable[int]], ...]:
    params = pdf_params(OPTIONS)
    kwargs = {
        "width": params.width,
        "height": params.height,
        "margin": params.margin,
        "print_background": True,
        "display_header_footer": True,
        "header_template": params.header_template,
        "footer_template": params.footer_template,
    }
    warm = await (await browser.new_context()).new_page()

    async def reused_page() -> int:
        await warm.set_content(html, wait_until="load")
        return len(await warm.pdf(**kwargs))  # type: ignore[arg-type]

    async def new_context() -> int:
        context = await browser.new_context()
        page = await context.new_page()
        await page.set_content(html, wait_until="load")
        data = await page.pdf(**kwargs)  # type: ignore[arg-type]
        await context.close()
        return len(data)

    return reused_page, new_context


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.25, help="idle seconds between renders")
    parser.add_argument("--chromium", default=default_chromium_path())
    args = parser.parse_args()
    html = invoice_html()

    renderer = ChromiumRenderer(executable_path=args.chromium, concurrency=2)
    await renderer.start()

    async def ours() -> int:
        return len((await renderer.render_pdf(html, OPTIONS, timeout_s=30)).data)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=args.chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        reused_page, new_context = await raw_variants(browser, html)
        results = {
            "a raw reused page": await measure("a", reused_page, args.iterations, args.gap),
            "b raw new context": await measure("b", new_context, args.iterations, args.gap),
            "c ChromiumRenderer": await measure("c", ours, args.iterations, args.gap),
        }
        await browser.close()
    await renderer.close()

    print(f"invoice, 20 lines, {args.iterations} iterations, gap {args.gap}s (ms)")
    for name, samples in results.items():
        print(f"  {name:<20} p50 {pct(samples, 50):7.1f}   p95 {pct(samples, 95):7.1f}")
    a, b, c = (pct(s, 50) for s in results.values())
    a95, b95, c95 = (pct(s, 95) for s in results.values())
    print(f"  ratio c/a  p50 {c / a:.2f}  p95 {c95 / a95:.2f}")
    print(f"  ratio c/b  p50 {c / b:.2f}  p95 {c95 / b95:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
