"""The engine's own price of isolation: CPU of Chromium's processes per operation, driven over the raw
DevTools protocol (``--remote-debugging-pipe``, no Playwright, no Node driver, no Pressroom).

It answers one question: can any service give every render its own browser context and still render at
the throughput of a reused page? Chromium starts a renderer process per browser context; this script
measures what that costs with nothing else in the way:

    (a) reused page: setDocumentContent + printToPDF of the W1 invoice
    (b) empty isolated context: createBrowserContext + createTarget + attach + disposeBrowserContext
    (c) isolated render: (b) with (a) inside

CPU is summed over the whole Chromium process tree (utime+stime of live processes plus what the reaped
ones left in their parents' cutime/cstime), so it does not depend on how busy the machine is.

    .venv/bin/python bench/isolation_floor.py [--renders 30] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from pressroom.config import default_chromium_path
from pressroom.rendering.html import wrap_document
from pressroom.templating.handlebars import render as handlebars_render
from w1_generate import BODY, CSS, DATA

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-threaded-compositing",
]
A4_15MM = {
    "paperWidth": 8.27,
    "paperHeight": 11.69,
    "marginTop": 0.59,
    "marginBottom": 0.59,
    "marginLeft": 0.59,
    "marginRight": 0.59,
    "printBackground": True,
}


class PipeBrowser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (replies out), NUL-separated."""

    def __init__(self, executable: str) -> None:
        # Keep fds 3 and 4 taken in this process, so the pipes get other numbers and the child can have
        # its ends moved onto 3 and 4 without clobbering ours.
        self._reserved = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
        self._from_chrome, chrome_out = os.pipe()
        chrome_in, self._to_chrome = os.pipe()

        def wire() -> None:
            os.dup2(chrome_in, 3)
            os.dup2(chrome_out, 4)

        self.process = subprocess.Popen(
            [executable, *FLAGS, "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4),
            preexec_fn=wire,  # only dup2 before exec
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(chrome_in)
        os.close(chrome_out)
        self._buffer = b""
        self._next_id = 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:  # events in between are not needed here
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        reply: dict[str, Any] = json.loads(raw)
        return reply

    def open_page(self, context: str | None = None) -> tuple[str, str]:
        params = {"url": "about:blank", **({"browserContextId": context} if context else {})}
        target = self.call("Target.createTarget", params)["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", None, session)
        frame = self.call("Page.getFrameTree", None, session)["frameTree"]["frame"]["id"]
        return session, frame

    def print_html(self, session: str, frame: str, html: str) -> bytes:
        self.call("Page.setDocumentContent", {"frameId": frame, "html": html}, session)
        return base64.b64decode(self.call("Page.printToPDF", A4_15MM, session)["data"])

    def tree_cpu_ms(self) -> float:
        parents: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = _stat(int(entry))
                except OSError:
                    continue
                parents.setdefault(int(fields[1]), []).append(int(entry))
        tree, index, total = [self.process.pid], 0, 0.0
        while index < len(tree):
            tree.extend(parents.get(tree[index], []))
            index += 1
        for pid in tree:
            try:
                total += sum(int(value) for value in _stat(pid)[11:15])
            except OSError:
                continue
        return total * 1000 / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        for fd in (self._from_chrome, self._to_chrome, *self._reserved):
            os.close(fd)


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def measure(browser: PipeBrowser, renders: int, operation: Callable[[], None]) -> tuple[float, float]:
    """(CPU ms, wall ms) per operation, after two untimed ones."""
    operation()
    operation()
    cpu, wall = browser.tree_cpu_ms(), time.perf_counter()
    for _ in range(renders):
        operation()
    wall = time.perf_counter() - wall
    time.sleep(0.5)  # the last teardown's CPU lands in its parent's cutime
    return (browser.tree_cpu_ms() - cpu) / renders, wall * 1000 / renders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--chromium", default=default_chromium_path())
    args = parser.parse_args()
    html = wrap_document(handlebars_render(BODY, DATA), CSS)
    browser = PipeBrowser(args.chromium)
    try:
        time.sleep(1.0)  # let start-up settle before the first reading
        session, frame = browser.open_page()

        def reused() -> None:
            assert browser.print_html(session, frame, html).startswith(b"%PDF")

        def context_cycle(with_render: bool) -> None:
            context = browser.call("Target.createBrowserContext")["browserContextId"]
            page_session, page_frame = browser.open_page(context)
            if with_render:
                assert browser.print_html(page_session, page_frame, html).startswith(b"%PDF")
            browser.call("Target.disposeBrowserContext", {"browserContextId": context})

        rows = {
            "(a) reused page: render": measure(browser, args.renders, reused),
            "(b) empty isolated context: create + dispose": measure(
                browser, args.renders, lambda: context_cycle(False)
            ),
            "(c) isolated render: (b) with (a) inside": measure(browser, args.renders, lambda: context_cycle(True)),
        }
    finally:
        browser.close()
    print(f"Isolation floor - raw CDP, {args.chromium}, {args.renders} operations each, {os.cpu_count()} cores")
    for label, (cpu, wall) in rows.items():
        print(f"  {label:48s} CPU {cpu:6.1f} ms   wall {wall:6.1f} ms")
    (reused_cpu, reused_wall), _, (isolated_cpu, isolated_wall) = rows.values()
    cores = os.cpu_count() or 1
    print(
        f"  CPU-bound throughput bound, isolated vs reused: {reused_cpu / isolated_cpu:.2f} "
        f"(the best any service giving each render its own context can reach at saturation)"
    )
    print(
        f"  best possible 'N x reused render / cores' ratio for a batch of isolated renders: "
        f"{isolated_cpu / cores / (reused_wall / cores):.2f}x"
    )
    print(f"  cold context per render vs reused page, wall: {isolated_wall / reused_wall:.2f}x")
    print(
        json.dumps(
            {
                "reused_cpu_ms": round(reused_cpu, 1),
                "context_cpu_ms": round(rows["(b) empty isolated context: create + dispose"][0], 1),
                "isolated_cpu_ms": round(isolated_cpu, 1),
                "reused_wall_ms": round(reused_wall, 1),
                "isolated_wall_ms": round(isolated_wall, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
