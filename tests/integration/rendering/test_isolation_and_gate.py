"""Isolation between renders (Chromium) and the network gate of both engines, against the real engines.

Isolation: render A, on a real origin (an iframe served from the asset prefix), writes a cookie,
localStorage, sessionStorage, IndexedDB and the Cache API, and reads them back (the positive control:
the probe works); render B, the same probe in read-only mode, must see none of them.

Gate: a matrix of ways to reach a loopback canary or the filesystem, through both engines; the canary
must record zero connections and no PDF may contain its text or /etc/passwd's.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pressroom.aio import LoopThread
from pressroom.rendering.base import ASSET_PREFIX, PageOptions, StaticAsset
from pressroom.rendering.chromium import ChromiumRenderer
from pressroom.rendering.weasyprint import WeasyPrintRenderer
from tests.integration.rendering.conftest import CANARY_TEXT, Canary
from tests.rendering_support import text

PROBE = """<!doctype html><html><body><p id="out">probe:</p><script>
const out = (s) => document.getElementById("out").append(" " + s);
const write = location.search.includes("write");
(async () => {
  if (write) {
    document.cookie = "tenant=A; path=/; secure";
    localStorage.setItem("tenant", "A");
    sessionStorage.setItem("tenant", "A");
    await new Promise((ok, ko) => {
      const open = indexedDB.open("probe", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("s");
      open.onsuccess = () => { const tx = open.result.transaction("s", "readwrite");
        tx.objectStore("s").put("A", "tenant"); tx.oncomplete = () => { open.result.close(); ok(); }; };
      open.onerror = ko;
    });
    const cache = await caches.open("probe");
    await cache.put("/probe-entry", new Response("A"));
  }
  out("cookie=" + (document.cookie.includes("tenant=A") ? "A" : "none"));
  out("local=" + (localStorage.getItem("tenant") || "none"));
  out("session=" + (sessionStorage.getItem("tenant") || "none"));
  const dbs = (await indexedDB.databases()).map(d => d.name);
  out("idb=" + (dbs.includes("probe") ? "A" : "none"));
  out("cache=" + ((await caches.keys()).includes("probe") ? "A" : "none"));
  document.title = "done";
})().catch(e => out("error=" + e));
</script></body></html>"""
PROBE_URL = f"{ASSET_PREFIX}probe/index.html"
PROBE_ASSETS = {PROBE_URL: StaticAsset("text/html", PROBE.encode())}


def probe_document(mode: str) -> str:
    # The probe must be a top-level document with a real origin (a third-party frame gets no storage):
    # the page navigates itself to it, as a tenant's template could.
    return f'<script>location.replace("{PROBE_URL}?{mode}")</script>'


def render(loop: LoopThread, engine: Any, html: str, **options: Any) -> Any:
    assets = options.pop("assets", None)
    return loop.run(engine.render_pdf(html, PageOptions(**options), timeout_s=20, assets=assets), 60)


@pytest.mark.chromium
def test_nothing_a_render_stores_is_seen_by_the_next(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    # Print once the probe has written its results (it sets the title last).
    done = {"wait_for": {"expression": "document.title === 'done'"}}
    first = text(render(loop_thread, chromium, probe_document("write"), assets=PROBE_ASSETS, **done).data)
    assert "cookie=A" in first and "local=A" in first and "session=A" in first, first
    assert "idb=A" in first and "cache=A" in first, first
    # Several later renders (pre-warmed and cold contexts alike) see nothing of it.
    for _ in range(3):
        later = text(render(loop_thread, chromium, probe_document("read"), assets=PROBE_ASSETS, **done).data)
        for marker in ("cookie=none", "local=none", "session=none", "idb=none", "cache=none"):
            assert marker in later, later
        assert "error=" not in later, later


@pytest.mark.chromium
def test_assets_are_per_render(loop_thread: LoopThread, chromium: ChromiumRenderer) -> None:
    css = f'<link rel="stylesheet" href="{ASSET_PREFIX}u/x/tenant.css"><p>body</p>'
    mine = {f"{ASSET_PREFIX}u/x/tenant.css": StaticAsset("text/css", b'p::after { content: " OWN-ASSET"; }')}
    assert "OWN-ASSET" in text(render(loop_thread, chromium, css, assets=mine).data)
    # The next render (maybe on the same browser) did not get that asset: it is not served to it.
    assert "OWN-ASSET" not in text(render(loop_thread, chromium, css).data)


# ---------------------------------------------------------------------------------------------- the gate


def attacks(port: int, port6: int | None) -> str:
    bases = [
        f"http://127.0.0.1:{port}",
        f"http://localhost:{port}",
        f"http://[::ffff:127.0.0.1]:{port}",
        f"http://2130706433:{port}",
        f"http://0x7f.1:{port}",
        f"http://127.1:{port}",
    ]
    if port6 is not None:
        bases.append(f"http://[::1]:{port6}")
    parts = ['<p id="out">results:</p>']
    for n, base in enumerate(bases):
        parts.append(
            f'<iframe src="{base}/frame{n}"></iframe><img src="{base}/img{n}.png">'
            f'<link rel="stylesheet" href="{base}/link{n}.css">'
            f'<style>@import url("{base}/import{n}.css"); .b{n} {{ background: url("{base}/bg{n}.png"); }}</style>'
            f'<p class="b{n}">x</p>'
        )
    for target in ("file:///etc/passwd", "FILE:///etc/passwd", "file://localhost/etc/passwd"):
        parts.append(
            f'<iframe src="{target}"></iframe><img src="{target}"><link rel="stylesheet" href="{target}">'
            f'<style>@import url("{target}");</style>'
        )
    parts.append(
        "<script>"
        + "".join(
            f'fetch("{base}/fetch").catch(() => 0); try {{ new WebSocket("{base.replace("http", "ws")}/ws"); }}'
            " catch (e) {}"
            for base in bases
        )
        + 'fetch("file:///etc/passwd").catch(() => 0);</script>'
    )
    return "".join(parts)


def assert_untouched(pdf: bytes, *canaries: Canary | None) -> None:
    time.sleep(0.5)  # stragglers (sockets opened late) would show up now
    body = text(pdf)
    for server in canaries:
        if server is not None:
            assert server.connections == 0, server.hits
    assert CANARY_TEXT not in body and "root:x:" not in body


@pytest.mark.chromium
def test_chromium_reaches_nothing(
    loop_thread: LoopThread, chromium: ChromiumRenderer, canary: Canary, canary6: Canary | None
) -> None:
    html = attacks(canary.port, canary6.port if canary6 else None)
    pdf = render(loop_thread, chromium, html)
    assert_untouched(pdf.data, canary, canary6)


def test_weasyprint_reaches_nothing(
    loop_thread: LoopThread, weasy: WeasyPrintRenderer, canary: Canary, canary6: Canary | None
) -> None:
    html = attacks(canary.port, canary6.port if canary6 else None)
    pdf = render(loop_thread, weasy, html)
    assert_untouched(pdf.data, canary, canary6)


def test_weasyprint_rechecks_redirects(loop_thread: LoopThread, canary: Canary) -> None:
    from http.server import BaseHTTPRequestHandler

    from pressroom.config import NetSettings

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/ok.css"):
                body = b'p::after { content: " PUBLIC-OK"; }'
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            targets = {
                "/to-canary.css": f"http://127.0.0.1:{canary.port}/x.css",
                "/to-localhost.css": f"http://localhost:{canary.port}/x.css",
                "/to-file.css": "file:///etc/passwd",
                "/to-metadata.css": "http://169.254.169.254/latest/meta-data/",
            }
            self.send_response(302)
            self.send_header("Location", targets.get(self.path, "/"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    import threading
    from http.server import ThreadingHTTPServer

    public = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=public.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = public.server_address[1]
    net = NetSettings(render_public_hosts=["127.0.0.1"], allow_private=[f"127.0.0.1:{port}"])
    engine = WeasyPrintRenderer(workers=1, net=net)
    loop_thread.run(engine.start(), 120)
    try:
        links = "".join(
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}{path}">'
            for path in ("/ok.css", "/to-canary.css", "/to-localhost.css", "/to-file.css", "/to-metadata.css")
        )
        pdf = render(loop_thread, engine, f"<html><head>{links}</head><body><p>after</p></body></html>")
        assert "PUBLIC-OK" in text(pdf.data)  # the allowed host is fetched through the gate...
        assert_untouched(pdf.data, canary)  # ...and none of its redirects is followed to the canary or a file
    finally:
        loop_thread.run(engine.close(), 60)
        public.shutdown()
        public.server_close()
