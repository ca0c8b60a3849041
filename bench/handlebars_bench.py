"""Benchmark: Pressroom's Handlebars engine vs pybars3 on an invoice with 100 line items and a partial.

    .venv/bin/python bench/handlebars_bench.py            # creates bench/.venv-bench with pybars3 if missing
    .venv/bin/python bench/handlebars_bench.py --no-pybars

Prints compile time, render p50/p95 per render, and the p50 ratio pybars3 / Pressroom (> 1 = Pressroom
faster). pybars3 runs in its own virtualenv (bench/.venv-bench, from bench/requirements-bench.txt) so it
never enters the project environment; this script re-executes itself there with ``--engine pybars``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / "bench" / ".venv-bench"
REQUIREMENTS = ROOT / "bench" / "requirements-bench.txt"

TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Invoice {{invoice.number}}</title></head>
<body>
  <header>
    <h1>{{seller.name}}</h1>
    <address>{{seller.street}}<br>{{seller.zip}} {{seller.city}}<br>{{seller.country}}</address>
  </header>
  <section class="buyer">
    {{#with buyer}}
    <strong>{{name}}</strong><br>{{street}}<br>{{zip}} {{city}}
    {{#if vat_id}}<br>VAT: {{vat_id}}{{/if}}
    {{/with}}
  </section>
  <p>Invoice <b>{{invoice.number}}</b> issued {{invoice.date}}, due {{invoice.due}}</p>
  <table>
    <thead><tr><th>#</th><th>Item</th><th>Qty</th><th>Unit</th><th>Amount</th></tr></thead>
    <tbody>
    {{#each items}}
      {{> line}}
    {{/each}}
    </tbody>
  </table>
  <p class="totals">Subtotal {{totals.subtotal}} {{currency}} &middot; VAT {{totals.vat}} {{currency}}
  &middot; <b>Total {{totals.total}} {{currency}}</b></p>
  {{#if notes}}<footer>{{#each notes}}<p>{{this}}</p>{{/each}}</footer>{{/if}}
</body></html>
"""

LINE_PARTIAL = """<tr class="{{#if discount}}discounted{{/if}}">
        <td>{{sku}}</td><td>{{description}}{{#if discount}} <em>-{{discount}}%</em>{{/if}}</td>
        <td>{{qty}}</td><td>{{unit_price}} {{@root.currency}}</td><td>{{amount}} {{@root.currency}}</td>
      </tr>
"""


def invoice_data(n_items: int = 100) -> dict[str, Any]:
    items = []
    subtotal = 0.0
    for i in range(n_items):
        qty = (i % 7) + 1
        price = round(3.5 + (i * 1.37) % 120, 2)
        amount = round(qty * price, 2)
        subtotal += amount
        items.append(
            {
                "sku": f"SKU-{1000 + i}",
                "description": f'Widget <model {i}> & accessories "deluxe"' if i % 10 == 0 else f"Widget model {i}",
                "qty": qty,
                "unit_price": price,
                "amount": amount,
                "discount": 5 if i % 4 == 0 else 0,
            }
        )
    vat = round(subtotal * 0.2, 2)
    return {
        "currency": "EUR",
        "seller": {
            "name": "Pressroom Supplies Ltd",
            "street": "1 Press Lane",
            "zip": "75001",
            "city": "Paris",
            "country": "France",
        },
        "buyer": {"name": "ACME Corp", "street": "42 Road", "zip": "10115", "city": "Berlin", "vat_id": "DE123"},
        "invoice": {"number": "INV-2024-0042", "date": "2024-03-05", "due": "2024-04-04"},
        "items": items,
        "totals": {"subtotal": round(subtotal, 2), "vat": vat, "total": round(subtotal + vat, 2)},
        "notes": ["Thank you for your business.", "Payment by bank transfer."],
    }


def _measure(render: Any, iterations: int) -> dict[str, float]:
    for _ in range(max(5, iterations // 10)):
        render()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        render()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples) * 1000,
        "p95_ms": samples[int(len(samples) * 0.95) - 1] * 1000,
        "min_ms": samples[0] * 1000,
    }


def bench_pressroom(iterations: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    from pressroom.templating.handlebars import compile as hb_compile

    data = invoice_data()
    t0 = time.perf_counter()
    tpl = hb_compile(TEMPLATE, partials={"line": LINE_PARTIAL})
    compile_ms = (time.perf_counter() - t0) * 1000
    output = tpl.render(data)
    result = _measure(lambda: tpl.render(data), iterations)
    return {"engine": "pressroom", "compile_ms": compile_ms, "output_chars": len(output), **result, "output": output}


def bench_pybars(iterations: int) -> dict[str, Any]:
    import pybars  # type: ignore[import-not-found]

    data = invoice_data()
    compiler = pybars.Compiler()
    t0 = time.perf_counter()
    tpl = compiler.compile(TEMPLATE)
    line = compiler.compile(LINE_PARTIAL)
    compile_ms = (time.perf_counter() - t0) * 1000
    partials = {"line": line}
    output = str(tpl(data, partials=partials))
    result = _measure(lambda: str(tpl(data, partials=partials)), iterations)
    return {"engine": "pybars3", "compile_ms": compile_ms, "output_chars": len(output), **result, "output": output}


def _ensure_bench_venv() -> Path:
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {BENCH_VENV} with {REQUIREMENTS.name} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(BENCH_VENV)
    probe = subprocess.run([str(python), "-c", "import pybars"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--engine", choices=["pressroom", "pybars"], help=argparse.SUPPRESS)
    parser.add_argument("--no-pybars", action="store_true", help="only measure Pressroom")
    args = parser.parse_args()

    if args.engine == "pybars":
        print(json.dumps(bench_pybars(args.iterations)))
        return 0

    ours = bench_pressroom(args.iterations)
    print(f"invoice: 100 line items + 1 partial, {ours['output_chars']} chars of HTML, {args.iterations} renders")
    print(
        f"pressroom  compile {ours['compile_ms']:7.2f} ms   render p50 {ours['p50_ms']:6.3f} ms   "
        f"p95 {ours['p95_ms']:6.3f} ms"
    )
    status = 0
    if ours["p50_ms"] > 2.0:
        print("WARNING: render p50 above the 2 ms target")
        status = 1
    if not args.no_pybars:
        python = _ensure_bench_venv()
        proc = subprocess.run(
            [str(python), __file__, "--engine", "pybars", "--iterations", str(args.iterations)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": ""},
        )
        theirs = json.loads(proc.stdout)
        print(
            f"pybars3    compile {theirs['compile_ms']:7.2f} ms   render p50 {theirs['p50_ms']:6.3f} ms   "
            f"p95 {theirs['p95_ms']:6.3f} ms"
        )
        ratio = theirs["p50_ms"] / ours["p50_ms"]
        print(
            f"ratio pybars3/pressroom (p50): {ratio:.2f}x  ({'Pressroom faster' if ratio >= 1 else 'Pressroom SLOWER'})"
        )
        same = theirs["output"] == ours["output"]
        print(
            f"identical output to pybars3: {same} "
            "(pybars3 does not strip standalone lines or indent partials like handlebars.js)"
        )
        if ratio < 1:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
