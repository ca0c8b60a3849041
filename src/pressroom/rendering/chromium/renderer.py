"""``ChromiumRenderer``: the Renderer protocol on Chromium. This module holds what a render goes through -
its checks (HTML size, oversized data: images, SVG ``<use>``), a slot in the bounded queue (QueueFull
early rather than a timeout late), one attempt on the current browser under the render deadline (and a
second on a new browser if the first died), and the mapping of Chromium's failures onto Pressroom's errors.
The browser, the memory watchdog, the context pool and the request gate are the mixins it is built from
(browser.py, watchdog.py, pool.py, request_gate.py); printing.py holds what is done with a page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from playwright.async_api import BrowserContext, Playwright
from playwright.async_api import Error as PlaywrightError

from pressroom.config import NetSettings, RenderSettings
from pressroom.core.errors import QueueFull, RenderFailed, RenderResourceLimit, RenderTimeout
from pressroom.net.client import SafeHttpClient
from pressroom.net.gate import NetworkGate
from pressroom.rendering.base import ASSET_PREFIX, AssetMap, PageOptions, RenderedPdf, check_html_size
from pressroom.rendering.chromium.browser import LAUNCH_ARGS, _BrowserLifecycle, _died, _playwright_message
from pressroom.rendering.chromium.handles import _BrowserDied, _BrowserHandle
from pressroom.rendering.chromium.pool import _ContextPool
from pressroom.rendering.chromium.printing import PdfParams, _Job, _load, _print, count_pages, pdf_params
from pressroom.rendering.chromium.request_gate import AssetResolver, _RequestGate
from pressroom.rendering.chromium.watchdog import _MemoryWatchdog
from pressroom.rendering.limits import image_limit_error, oversized_data_images, svg_use_warning, tame_svg_use

# One logger for the whole engine, as before it was split into modules.
log = logging.getLogger("pressroom.rendering.chromium")

# Documents larger than this are inspected (data: images, SVG <use>) on a thread, not on the engine loop.
INSPECT_INLINE_CHARS = 256 * 1024


class ChromiumRenderer(_BrowserLifecycle, _MemoryWatchdog, _ContextPool, _RequestGate):
    """The Renderer protocol on a warm Chromium with isolated, pre-warmed contexts per render."""

    name = "chromium"

    def __init__(
        self,
        *,
        executable_path: str = "/usr/bin/chromium",
        concurrency: int = 0,
        queue_size: int = 32,
        restart_after: int = 500,
        max_timeout_s: float = 120.0,
        max_html_bytes: int = 5 * 1024 * 1024,
        gate: NetworkGate | None = None,
        http: SafeHttpClient | None = None,
        asset_prefix: str | None = ASSET_PREFIX,
        asset_resolver: AssetResolver | None = None,
        prewarm_contexts: int = 4,
        extra_args: tuple[str, ...] = (),
        max_memory_mb: int = 1024,
        max_image_pixels: int = 89_478_485,
    ) -> None:
        self.executable_path = executable_path
        self.slots = concurrency or (os.cpu_count() or 1) * 2
        self.queue_size = queue_size
        self.restart_after = restart_after
        self.max_timeout_s = max_timeout_s
        self.max_html_bytes = max_html_bytes
        # The renderer owns its client (it closes it in close()); a render-only gate when none is given.
        self.http = http or SafeHttpClient(gate or NetworkGate())
        self.asset_prefix = asset_prefix
        self.asset_resolver = asset_resolver
        self.prewarm_contexts = max(0, prewarm_contexts)
        self.max_memory_mb = max_memory_mb
        self.max_image_pixels = max_image_pixels
        # The JS heap gets half the page's memory cap: V8 then fails the page itself (a renderer crash)
        # before the watchdog has to kill it, and the other half is left for images, layout and the DOM.
        heap = (f"--js-flags=--max-old-space-size={max(64, max_memory_mb // 2)}",) if max_memory_mb else ()
        self.launch_args = (*LAUNCH_ARGS, *heap, *extra_args)
        self.memory_kills = 0  # renderer processes killed by the memory watchdog (diagnostics, tests)
        self._watching = False
        self._semaphore = asyncio.Semaphore(self.slots)
        self._pending = 0  # renders running + waiting for a slot
        self._load_changed = asyncio.Event()  # set when _pending or a pool changes (wakes the refill loop)
        self._avg_render_s = 1.0
        self._idle_since: float | None = time.monotonic()  # when the last render ended (None: one runs)
        self._avg_idle_s = 0.5  # moving average of the idle gaps between renders (s)
        # How renders got their context: from the pool, by claiming the one being created, or cold.
        self.stats = {"prewarmed": 0, "claimed": 0, "cold": 0}
        self.warm_ups = 0  # contexts warmed by a print of ours before their first render
        self._playwright: Playwright | None = None
        self._current: _BrowserHandle | None = None
        self._launch_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(
        cls,
        render: RenderSettings,
        gate: NetworkGate | None = None,
        *,
        net: NetSettings | None = None,
        asset_resolver: AssetResolver | None = None,
    ) -> ChromiumRenderer:
        """Build from RenderSettings; sub-requests use ``gate`` (and ``net``'s timeout and size cap)."""
        net = net or NetSettings()
        gate = gate or NetworkGate.from_settings(net)
        return cls(
            executable_path=render.chromium_path,
            concurrency=render.concurrency,
            queue_size=render.queue_size,
            restart_after=render.restart_after,
            max_timeout_s=render.max_timeout_s,
            max_html_bytes=render.max_html_bytes,
            gate=gate,
            http=SafeHttpClient.from_settings(net, gate),
            asset_prefix=render.asset_prefix,
            asset_resolver=asset_resolver,
            prewarm_contexts=render.prewarm_contexts,
            extra_args=tuple(render.extra_args),
            max_memory_mb=render.max_memory_mb,
            max_image_pixels=render.max_image_pixels,
        )

    # -- rendering

    async def render_pdf(
        self,
        html: str,
        options: PageOptions,
        *,
        timeout_s: float,
        assets: AssetMap | None = None,
        deadline: float | None = None,
    ) -> RenderedPdf:
        check_html_size(html, self.max_html_bytes)
        params = pdf_params(options)
        if len(html) > INSPECT_INLINE_CHARS:
            html, warnings = await asyncio.to_thread(self._inspect, html, params)
        else:
            html, warnings = self._inspect(html, params)
        job = _Job(html, options, params, assets or {})
        timeout_s = min(timeout_s, self.max_timeout_s)
        async with self._slot(deadline):
            budget = timeout_s if deadline is None else min(timeout_s, deadline - time.monotonic())
            started = time.perf_counter()
            try:
                if budget <= 0:
                    raise RenderTimeout()
                data = await self._render_with_retry(job, budget)
            except RenderTimeout:
                raise _timeout(timeout_s, deadline is not None and budget < timeout_s) from None
            elapsed = time.perf_counter() - started
        self._avg_render_s = 0.8 * self._avg_render_s + 0.2 * elapsed
        return RenderedPdf(
            data=data,
            pages=count_pages(data),
            engine=self.name,
            render_ms=elapsed * 1000,
            warnings=(*warnings, *dict.fromkeys(job.warnings)),
        )

    def _inspect(self, html: str, params: PdfParams) -> tuple[str, tuple[str, ...]]:
        """Refuse oversized data: images (document and bands); bound SVG <use> expansion (a warning)."""
        for where, text in (("document", html), ("header/footer", params.header_template + params.footer_template)):
            for size in oversized_data_images(text, self.max_image_pixels):
                raise image_limit_error(size, self.max_image_pixels, f"a data: URL in the {where}")
        html, disabled = tame_svg_use(html)
        return html, (svg_use_warning(disabled),) if disabled else ()

    @contextlib.asynccontextmanager
    async def _slot(self, deadline: float | None = None) -> AsyncIterator[None]:
        """A page slot; at most ``queue_size`` renders wait for one, the next gets QueueFull (429). With a
        deadline, a render that could not start (and finish) in time by the queue ahead of it and recent
        render times is refused at once, and one still waiting when the deadline passes gives up: both
        QueueFull, so that load answers 429 early instead of 504s (or worse) late."""
        ahead = self._pending - self.slots + 1  # renders to finish before this one gets a slot
        retry_after = max(1, math.ceil(self._avg_render_s * max(ahead, 1) / self.slots))
        details = {"concurrency": self.slots, "queue_size": self.queue_size}
        if self._pending >= self.slots + self.queue_size:
            raise QueueFull("Too many renders waiting; retry later", retry_after=retry_after, details=details)
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and ahead > 0:
            expected_wait = self._avg_render_s * ahead / self.slots
            if expected_wait + self._avg_render_s > remaining:
                raise QueueFull(
                    "The render queue is too long for this request's time limit; retry later",
                    retry_after=retry_after,
                    details={**details, "expected_wait_s": round(expected_wait, 1)},
                )
        if self._pending == 0 and self._idle_since is not None:
            self._avg_idle_s = 0.7 * self._avg_idle_s + 0.3 * (time.monotonic() - self._idle_since)
            self._idle_since = None
        self._pending += 1
        self._load_changed.set()
        self._watch_memory()
        try:
            try:
                async with asyncio.timeout(remaining):
                    await self._semaphore.acquire()
            except TimeoutError:
                raise QueueFull(
                    "No render slot freed up before this request's time limit; retry later",
                    retry_after=retry_after,
                    details=details,
                ) from None
            try:
                yield
            finally:
                self._semaphore.release()
        finally:
            self._pending -= 1
            if self._pending == 0:
                self._idle_since = time.monotonic()
            self._load_changed.set()

    async def _render_with_retry(self, job: _Job, timeout_s: float) -> bytes:
        deadline = asyncio.get_running_loop().time() + timeout_s
        for attempt in (1, 2):
            handle = await self._acquire()
            try:
                return await self._render_once(handle, job, deadline, timeout_s)
            except _BrowserDied:
                log.warning("chromium died during a render (attempt %d)", attempt)
            finally:
                self._release(handle)
        raise RenderFailed("The browser crashed twice while rendering this document")

    async def _render_once(self, handle: _BrowserHandle, job: _Job, deadline: float, timeout_s: float) -> bytes:
        context: BrowserContext | None = None
        # Shielded so that a deadline hitting during context creation does not orphan the new context.
        take = asyncio.ensure_future(self._take_context(handle))
        try:
            async with asyncio.timeout_at(deadline):
                lease = await asyncio.shield(take)
                context, page = lease.context, lease.page
                lease.scope.assets = job.assets
                lease.scope.warnings = job.warnings
                # Our deadline governs; Playwright's own timers only back it up.
                page.set_default_timeout(timeout_s * 1000 + 5000)
                if job.options.emulate_media == "screen":
                    await page.emulate_media(media="screen")
                await _load(page, job)
                if lease.scope.violation is not None:
                    raise lease.scope.violation
                data = await _print(page, job.params)
                if lease.scope.violation is not None:
                    raise lease.scope.violation
        except RenderResourceLimit:
            self._spawn(self._recycle(handle, context))
            raise
        except asyncio.CancelledError:
            # The caller is gone (deadline passed, disconnected): its page stops now, not when it is done.
            if context is None:
                take.add_done_callback(self._close_late)
            self._spawn(self._dispose(handle, context))
            raise
        except TimeoutError:
            if context is None:
                take.add_done_callback(self._close_late)
            # Awaited: the runaway page must be gone before its slot goes to the next render.
            await self._dispose(handle, context)
            self._spawn(self._refill(handle))
            raise RenderTimeout(
                f"Rendering took longer than {timeout_s:g} s", details={"timeout_s": timeout_s}
            ) from None
        except PlaywrightError as exc:
            self._spawn(self._recycle(handle, context))
            if await _died(handle, exc):
                raise _BrowserDied from exc
            if _page_crashed(exc):
                raise self._crashed(handle) from None
            raise RenderFailed(_playwright_message(exc)) from None
        self._spawn(self._recycle(handle, context))  # not on the critical path
        return data

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _page_crashed(exc: PlaywrightError) -> bool:
    """A page's renderer died (the browser did not: see _died)."""
    return "crash" in str(exc).lower()


def _timeout(timeout_s: float, by_deadline: bool) -> RenderTimeout:
    if by_deadline:
        return RenderTimeout(
            f"The request's time limit ({timeout_s:g} s, waiting for a render slot included) ran out while rendering",
            details={"timeout_s": timeout_s, "queued": True},
        )
    return RenderTimeout(f"Rendering took longer than {timeout_s:g} s", details={"timeout_s": timeout_s})
