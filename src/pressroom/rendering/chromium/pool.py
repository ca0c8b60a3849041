"""The context pool: every render gets a browser context nobody used before, and a context is never
reused. Contexts are made ahead of time (between renders, or urgently when the pool has run dry), warmed
by a print of our own where renders leave idle gaps, and closed shortly after their render (or killed
with the browser if Chromium cannot close them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from html import escape as escape_html
from typing import Any

from playwright.async_api import BrowserContext, Page, Route
from playwright.async_api import Error as PlaywrightError

from pressroom.rendering.chromium.handles import _BrowserHandle, _Lease, _Scope
from pressroom.rendering.chromium.printing import _FONTS_READY, HEADER_FOOTER_FONT_SIZE
from pressroom.rendering.chromium.request_gate import INIT_SCRIPT, _refuse_websocket

# One logger for the whole engine, as before it was split into modules.
log = logging.getLogger("pressroom.rendering.chromium")

CONTEXT_CLOSE_TIMEOUT_S = 5.0
IDLE_GRACE_S = 0.05
# The pool is refilled between renders; only when it has run dry is a context created while a render runs,
# and then only while at most this many renders run (see _refill_turn).
URGENT_REFILL_MAX_RENDERS = 1
# A used context is closed this long after its render: the caller is then finishing the job (storage, the
# database, the HTTP answer), and tearing a renderer process down beside that costs it ~4 ms (measured, W1).
CLOSE_DELAY_S = 0.05
# A new context is warmed (a print of ours) only where renders leave idle gaps at least this long on average:
# the warm-up costs ~50 ms of CPU and saves a render ~30 ms. Worth it between requests (the next render is
# faster); a loss when renders follow each other closely (a worker draining a queue), where CPU is the bound.
WARM_UP_MIN_IDLE_S = 0.15


class _ContextPool:
    """The context-pool part of ChromiumRenderer (its state is set in ChromiumRenderer.__init__)."""

    prewarm_contexts: int
    stats: dict[str, int]
    warm_ups: int
    _pending: int
    _load_changed: asyncio.Event
    _avg_idle_s: float
    _spawn: Callable[[Coroutine[Any, Any, None]], None]
    _route: Callable[[Route, _Scope], Coroutine[Any, Any, None]]

    async def _take_context(self, handle: _BrowserHandle) -> _Lease:
        """A never-used context: from the pool, else the one being created, else a new one (cold)."""
        try:
            while handle.pool:
                lease = handle.pool.pop(0)  # the oldest: it had the most time to settle after its warm-up
                if not lease.page.is_closed():
                    self.stats["prewarmed"] += 1
                    return lease
            incoming = handle.incoming
            if incoming is not None and not handle.incoming_claimed:
                handle.incoming_claimed = True
                try:
                    lease = await asyncio.shield(incoming)
                except PlaywrightError:
                    pass  # its creation failed: make one here
                else:
                    self.stats["claimed"] += 1
                    return lease
            self.stats["cold"] += 1
            return await self._new_context(handle)
        finally:
            self._load_changed.set()  # a waiting refill loop re-checks: the pool may have run dry
            self._spawn(self._refill(handle))

    async def _refill(self, handle: _BrowserHandle) -> None:
        """Top the pool up, one context at a time: between renders, or urgently when it has run dry.

        Between renders: creating a context keeps Chromium's browser process - the one thread that also
        relays every render's commands - busy, and starts a renderer process (~60 ms of CPU on
        headless-shell). Doing that beside a running render slows the render, so a pool that still has
        contexts is refilled only when no render has run for IDLE_GRACE_S. A pool that has run dry
        (back-to-back renders leave no idle time) is refilled while at most URGENT_REFILL_MAX_RENDERS
        render runs: the next render then finds its context made, instead of making it itself.
        Contexts made while idle are warmed (a print of our own) so that their first real print is nearly as
        fast as a later one; a context a render is waiting for (see _take_context) is handed over unwarmed.
        """
        if handle.refilling:
            return  # the running loop sees the new deficit
        handle.refilling = True
        try:
            while self._needs_context(handle):
                await self._refill_turn(handle)
                if not self._needs_context(handle):
                    return
                if not await self._add_context(handle):
                    return
        finally:
            handle.refilling = False

    def _needs_context(self, handle: _BrowserHandle) -> bool:
        return handle.usable and not handle.retiring and len(handle.pool) < self.prewarm_contexts

    async def _refill_turn(self, handle: _BrowserHandle) -> None:
        """Until a context may be made: no render for IDLE_GRACE_S, or the pool is dry and few renders run."""
        while True:
            self._load_changed.clear()
            if not handle.pool and 0 < self._pending <= URGENT_REFILL_MAX_RENDERS:
                return
            if self._pending == 0:
                await asyncio.sleep(IDLE_GRACE_S)  # back-to-back renders leave no real idle gap
                if self._pending == 0:
                    return
                continue
            await self._load_changed.wait()

    async def _add_context(self, handle: _BrowserHandle) -> bool:
        """Make one context for the pool (or for the render claiming it); False if that failed."""
        future: asyncio.Future[_Lease] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume_exception)
        handle.incoming, handle.incoming_claimed = future, False
        try:
            lease = await self._new_context(handle)
            # Warmed only when nothing runs (beside a render, a warm-up would cost more CPU than it saves)
            # and renders leave real gaps (see WARM_UP_MIN_IDLE_S).
            if not handle.incoming_claimed and self._pending == 0 and self._avg_idle_s >= WARM_UP_MIN_IDLE_S:
                await _warm_up(lease.page)
                self.warm_ups += 1
        except PlaywrightError as exc:
            future.set_exception(exc)
            return False
        finally:
            handle.incoming = None
        if handle.incoming_claimed:
            future.set_result(lease)
        elif handle.usable and not handle.retiring:
            handle.pool.append(lease)
            future.cancel()
        else:
            future.cancel()
            await _quiet(lease.context.close())
        return True

    async def _new_context(self, handle: _BrowserHandle) -> _Lease:
        context = await handle.browser.new_context(
            service_workers="block", java_script_enabled=True, accept_downloads=False
        )
        scope = _Scope()
        await context.add_init_script(INIT_SCRIPT)
        await context.route("**/*", lambda route: self._route(route, scope))
        await context.route_web_socket(lambda _url: True, _refuse_websocket)
        return _Lease(context, await context.new_page(), scope)

    async def _dispose(self, handle: _BrowserHandle, context: BrowserContext | None) -> None:
        """Close a used context; if Chromium does not manage within seconds (a wedged renderer), kill it."""
        if context is None:
            return
        try:
            async with asyncio.timeout(CONTEXT_CLOSE_TIMEOUT_S):
                await context.close()
        except PlaywrightError:
            pass
        except TimeoutError:
            log.error("chromium did not close a context in %ss; killing it", CONTEXT_CLOSE_TIMEOUT_S)
            handle.kill()

    async def _recycle(self, handle: _BrowserHandle, context: BrowserContext | None) -> None:
        """After a render: close its context (never reused), once its caller has had time to answer."""
        await asyncio.sleep(CLOSE_DELAY_S)
        await self._dispose(handle, context)

    def _close_late(self, take: asyncio.Future[_Lease]) -> None:
        if not take.cancelled() and take.exception() is None:
            self._spawn(_quiet(take.result().context.close()))


# The warm-up document: our own content only (no tenant has touched the context yet). It makes the fresh
# renderer compile Playwright's scripts in both worlds (set_content's and evaluate's) and run the text,
# table and page-number-band paths once, on the printable ASCII of the default sans-serif font. Measured
# on headless-shell (noisy 2-core machine): a blank warm-up left the first real print ~6-10 ms slower than
# on a reused page, this one ~3-6 ms; a larger one (five families x three styles) gained ~2 ms more but
# cost twice the CPU (~90 ms), which spills into the next render when renders come every 0.25 s.
_WARM_UP_TEXT = escape_html("".join(map(chr, range(33, 127))))
WARM_UP_HTML = (
    "<!doctype html><html><head><style>"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:2px 4px;background:#f6f6f6}"
    f'</style></head><body><p style="font-family:sans-serif">{_WARM_UP_TEXT} <b>{_WARM_UP_TEXT}</b></p>'
    "<table><thead><tr><th>#</th><th>Item</th></tr></thead><tbody><tr><td>1</td><td>1.00</td></tr></tbody>"
    "</table></body></html>"
)
WARM_UP_FOOTER = (
    f'<div style="font-size:{HEADER_FOOTER_FONT_SIZE}"><span class="pageNumber"></span>/'
    '<span class="totalPages"></span></div>'
)


async def _warm_up(page: Page) -> None:
    """Print our warm-up document once, off the critical path: a fresh renderer's first print is slower
    (fonts, glyphs, Playwright's injected scripts, the print and header/footer machinery)."""
    await page.set_content(WARM_UP_HTML)
    await page.evaluate(_FONTS_READY)  # a render's own evaluate then finds the main world's script ready
    await page.pdf(display_header_footer=True, header_template="<span></span>", footer_template=WARM_UP_FOOTER)


def _consume_exception(future: asyncio.Future[_Lease]) -> None:
    # A failed creation nobody claimed must not be reported as "exception never retrieved".
    if not future.cancelled():
        future.exception()


async def _quiet(awaitable: Awaitable[None]) -> None:
    with contextlib.suppress(PlaywrightError):
        await awaitable
