"""Soak: N renders through `pressroom serve` (sync HTTP), RSS drift after warm-up.

    .venv/bin/python bench/soak.py [--renders 1000] [--warmup 100] [--engines chromium weasyprint]

Renders the 1-page invoice of W1, alternating the engines given, from 2 concurrent clients. Reads the RSS
of the server process and of its whole tree (browser and WeasyPrint workers included) after the warm-up
and at the end. Target: drift after warm-up < 5% (the browser is recycled every render.restart_after
renders and WeasyPrint workers every render.weasyprint_max_tasks, so the tree's RSS saw-tooths; the
figures are read at the same point of the cycle when possible).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import httpx

from common import ServerProcess, percentile, rss_mb, tree_rss_mb
from w1_generate import BODY, CSS, DATA


def run(url: str, key: str, template_id: str, count: int, engines: list[str], clients: int) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()
    counter = iter(range(count))

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            for index in counter:
                engine = engines[index % len(engines)]
                body = {"template_id": template_id, "data": DATA, "options": {"engine": engine}}
                started = time.perf_counter()
                response = client.post("/v1/documents/generate", json=body)
                assert response.status_code == 201, response.text
                with lock:
                    timings.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--renders", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["chromium", "weasyprint"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # Recycling periods that divide the run, so that both readings fall at the same point of the cycle.
        env = {"PRESSROOM_RENDER__RESTART_AFTER": "250", "PRESSROOM_RENDER__WEASYPRINT_MAX_TASKS": "100"}
        server = ServerProcess(data_dir=Path(tmp), env_extra=env)
        server.start()
        try:
            server.cli("accounts", "create", "soak", "--plan", "enterprise", check=False)
            key = server.create_key("soak")
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
                template_id = api.post("/v1/templates", json={"name": "soak", "body": BODY, "css": CSS}).json()["id"]
            assert server.process is not None
            pid = server.process.pid
            run(server.url, key, template_id, args.warmup, args.engines, args.clients)
            time.sleep(2.0)
            before, before_tree = rss_mb(pid), tree_rss_mb(pid)
            started = time.perf_counter()
            timings = run(server.url, key, template_id, args.renders, args.engines, args.clients)
            seconds = time.perf_counter() - started
            time.sleep(2.0)
            after, after_tree = rss_mb(pid), tree_rss_mb(pid)
        finally:
            server.stop()
    drift = (after - before) / before * 100
    tree_drift = (after_tree - before_tree) / before_tree * 100
    print(f"soak: {args.renders} renders after {args.warmup} warm-up, engines {args.engines}, {args.clients} clients")
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    print(f"  {args.renders / seconds:.1f} documents/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"  server RSS {before:.0f} -> {after:.0f} MB ({drift:+.1f}%, target < 5%)")
    print(f"  server + engines tree RSS {before_tree:.0f} -> {after_tree:.0f} MB ({tree_drift:+.1f}%)")
    print(json.dumps({"soak_rss_drift_pct": round(drift, 2), "soak_tree_rss_drift_pct": round(tree_drift, 2)}))


if __name__ == "__main__":
    main()
