"""The Chromium renderer: Playwright (async API) driving the OS Chromium.

One browser is launched once and kept warm; it is recycled after ``restart_after`` renders and relaunched
when it dies (a render that failed because the browser died is retried once). Every render gets its own
browser context - nothing (cookies, storage, cache) is shared between tenants - taken from a pool of
contexts created ahead of time (and warmed by a print of our own) so isolation does not cost a cold start.

Where a context's cost really is (measured on Chromium 156, 2 cores; docs/rendering.md): not in
``Target.createBrowserContext`` (~10 ms) but in the processes a context's first page spawns. Headless
Chromium started *three* renderers per context: the page's, a spare one, and a WebUI renderer for the
omnibox popup of the context's (invisible) window. Disabling the latter two (``DISABLED_FEATURES``) cut a
new context + page from ~250 ms / ~590 ms of CPU to ~90 ms / ~130 ms of CPU. On chromium-headless-shell
(the default binary now) a context + page costs ~50-60 ms and ~60 ms of CPU, nearly all of it the start of
the context's renderer process; ``--disable-threaded-compositing`` cut a whole isolated render (context,
page, print, close) from ~156 to ~130 ms of CPU.

Network: every request a page makes is intercepted (``context.route``). ``data:``/``blob:`` never reach
the network; Pressroom's own assets (``asset_prefix``) are served by ``asset_resolver``; anything else is
fetched *by Pressroom* through :class:`~pressroom.net.SafeHttpClient` (the network gate, IP pinning,
redirects re-checked, size cap) and handed to the page with ``route.fulfill`` - Chromium itself never
opens a connection. As defence in depth Chromium is launched with a dead proxy and a resolver that
resolves nothing, so traffic that escapes interception (WebSockets from workers, preconnects, WebRTC)
cannot reach anything either.

Resources (docs/rendering.md, "Resource limits"): images whose header declares more than
``max_image_pixels`` fail the render (422 ``RENDER_RESOURCE_LIMIT``) before Chromium decodes them -
``data:`` URLs are read from the document, everything else in the route handler; a page's JS heap is
capped (``--js-flags=--max-old-space-size``) and a watchdog kills a renderer process whose resident size
passes ``max_memory_mb`` (typed arrays, canvases and DOM live outside the JS heap). A page whose renderer
died that way fails with the same code, and the browser it ran in is replaced. SVG ``<use>`` expansion is
bounded before rendering (rendering/limits.py). A sync request's ``deadline`` covers its queue wait and
the render (rendering/deadline.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import mimetypes
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from html import escape as escape_html
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    PdfMargins,
    Playwright,
    Route,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from pressroom.config import NetSettings, RenderSettings
from pressroom.core.errors import (
    EngineUnavailable,
    PressroomError,
    QueueFull,
    RenderFailed,
    RenderResourceLimit,
    RenderTimeout,
    ValidationFailed,
)
from pressroom.net.client import SafeHttpClient
from pressroom.net.gate import NetworkGate
from pressroom.rendering.base import (
    ASSET_PREFIX,
    AssetMap,
    PageOptions,
    RenderedPdf,
    StaticAsset,
    WaitDelay,
    WaitExpression,
    WaitSelector,
    check_html_size,
    page_size_inches,
    to_inches,
)
from pressroom.rendering.frameworks import builtin_asset
from pressroom.rendering.limits import (
    image_limit_error,
    image_too_large,
    oversized_data_images,
    svg_use_warning,
    tame_svg_use,
)

log = logging.getLogger(__name__)

AssetResolver = Callable[[str], bytes | None]

__all__ = ["ASSET_PREFIX", "ChromiumRenderer", "pdf_params", "to_inches"]
# When a header (footer) is given and the top (bottom) margin is 0, Chromium would draw it in a zero-high
# band, i.e. not at all; this margin leaves room for one or two lines of 10px text.
HEADER_FOOTER_DEFAULT_MARGIN = "15mm"
HEADER_FOOTER_FONT_SIZE = "10px"
CONTEXT_CLOSE_TIMEOUT_S = 5.0
WAIT_POLL_MS = 50
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
# The memory watchdog looks at the renderer processes this often while renders run.
MEMORY_WATCH_INTERVAL_S = 0.2
RENDERER_SCAN_INTERVAL_S = 1.0
# Documents larger than this are inspected (data: images, SVG <use>) on a thread, not on the engine loop.
INSPECT_INLINE_CHARS = 256 * 1024

# Chromium keeps only the last --disable-features switch, so ours must repeat Playwright's own list
# (tests/unit/rendering checks it still covers the installed Playwright's) before adding:
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# ...the processes a headless print service never uses, spawned for every new context: a spare renderer
# and the WebUI renderer of the omnibox popup (and its top-chrome preloading). Measured: 3 renderers per
# context -> 1; a context + page ~4x cheaper in CPU.
PRESSROOM_DISABLED_FEATURES = (
    "SpareRendererForSitePerProcess",
    "PreloadTopChromeWebUI",
    "WebUIOmniboxPopup",
    "WebUIOmniboxAimPopup",
    "WebUIOmniboxFullPopup",
)
DISABLED_FEATURES = (*PLAYWRIGHT_DISABLED_FEATURES, *PRESSROOM_DISABLED_FEATURES)

LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",  # containers rarely allow the setuid/user-namespace sandbox; contexts isolate tenants
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--dns-prefetch-disable",
    "--mute-audio",
    # A print service never scrolls or animates: the compositor runs on the renderer's main thread instead
    # of a thread of its own. Measured on headless-shell (paired, 30 cycles): a new context + page + print
    # + close ~130 vs ~156 ms of CPU; a print on a reused page ~25% faster.
    "--disable-threaded-compositing",
    # Defence in depth: all requests are answered by our route handler, so Chromium needs no network.
    # A proxy that does not exist (loopback included, which Chromium otherwise bypasses) and a resolver
    # that resolves nothing catch whatever escapes interception.
    "--proxy-server=http://proxy.pressroom.invalid:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=" + ",".join(DISABLED_FEATURES),
)

# Runs before any page script: APIs whose traffic request interception cannot see are removed.
INIT_SCRIPT = """(() => {
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "WebTransport"]) {
    try { Object.defineProperty(globalThis, name, {value: undefined, writable: false, configurable: false}); }
    catch (e) {}
  }
})();"""

_PAGE_RANGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")
_PLACEHOLDERS = (
    (re.compile(r"\{\{\s*pages\s*\}\}|\{pages\}"), '<span class="totalPages"></span>'),
    (re.compile(r"\{\{\s*page\s*\}\}|\{page\}"), '<span class="pageNumber"></span>'),
    (re.compile(r"\{\{\s*date\s*\}\}|\{date\}"), '<span class="date"></span>'),
    (re.compile(r"\{\{\s*title\s*\}\}|\{title\}"), '<span class="title"></span>'),
)
# Response headers that describe the wire, not the body we hand over (httpx already decoded it).
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})

# pypdfium2 ships no type information; it is only used to count pages.
_pdfium: Any = importlib.import_module("pypdfium2")


# ---------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class PdfParams:
    """PageOptions translated to the arguments of Playwright's ``page.pdf``."""

    width: str
    height: str
    margin: dict[str, str]
    scale: float
    print_background: bool
    page_ranges: str
    display_header_footer: bool
    header_template: str
    footer_template: str
    tagged: bool
    outline: bool


def _inch_text(inches: float) -> str:
    # Inches are exact in Playwright (96 px/in); its mm factor (3.78 px/mm) is rounded. Chromium then
    # quantizes to 0.96 pt steps: A4 comes out 595.92 x 841.92 pt, Letter exactly 612 x 792.
    return f"{round(inches, 6)}in"


def translate_placeholders(html: str) -> str:
    """``{page}``/``{pages}``/``{date}``/``{title}`` (and a literal ``{{page}}``...) -> Chromium's spans."""
    for pattern, replacement in _PLACEHOLDERS:
        html = pattern.sub(replacement, html)
    return html


def _band_template(html: str | None, left: str, right: str) -> str:
    if not html:
        return "<span></span>"  # an empty template would make Chromium print its default date/title band
    return (
        f'<div style="font-size:{HEADER_FOOTER_FONT_SIZE};width:100%;box-sizing:border-box;'
        f'padding:0 {right} 0 {left};">{translate_placeholders(html)}</div>'
    )


def pdf_params(options: PageOptions) -> PdfParams:
    """Map engine-agnostic PageOptions onto Chromium's print parameters (validating page_ranges)."""
    if options.page_ranges and not _PAGE_RANGES.match(options.page_ranges):
        raise ValidationFailed(
            f"invalid page_ranges {options.page_ranges!r}: use e.g. '1-3, 5'",
            details={"field": "page_ranges"},
        )
    width, height = page_size_inches(options)
    margin = {side: to_inches(getattr(options.margin, side)) for side in ("top", "right", "bottom", "left")}
    default_band = to_inches(HEADER_FOOTER_DEFAULT_MARGIN)
    if options.header_html and margin["top"] == 0:
        margin["top"] = default_band
    if options.footer_html and margin["bottom"] == 0:
        margin["bottom"] = default_band
    # The header/footer band spans the whole page width: pad it like the body, at least 10 mm.
    left = _inch_text(max(margin["left"], 10 / 25.4))
    right = _inch_text(max(margin["right"], 10 / 25.4))
    bands = bool(options.header_html or options.footer_html)
    return PdfParams(
        width=_inch_text(width),
        height=_inch_text(height),
        margin={side: _inch_text(value) for side, value in margin.items()},
        scale=options.scale,
        print_background=options.print_background,
        page_ranges=(options.page_ranges or "").strip(),
        display_header_footer=bands,
        header_template=_band_template(options.header_html, left, right) if bands else "",
        footer_template=_band_template(options.footer_html, left, right) if bands else "",
        tagged=options.tagged,
        outline=options.outline,
    )


def count_pages(pdf: bytes) -> int:
    document = _pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


# ---------------------------------------------------------------------------------------------- browser


class _BrowserDied(Exception):
    """The browser went away under a render; the render may be retried once on a new browser."""


@dataclass(eq=False)
class _Scope:
    """The assets the render holding a context may load; set when a render takes the context."""

    assets: AssetMap = field(default_factory=dict)
    # Set by the route handler when a file the page asked for was refused for a resource limit (an
    # oversized image): the render then fails with it instead of printing a page without the file.
    violation: RenderResourceLimit | None = None
    # What was changed in the files the page loaded (SVG <use> copies cut): the render's warnings.
    warnings: list[str] = field(default_factory=list)


@dataclass(eq=False)
class _Lease:
    context: BrowserContext
    page: Page
    scope: _Scope


@dataclass(eq=False)
class _BrowserHandle:
    browser: Browser
    pid: int | None = None
    renders: int = 0
    in_flight: int = 0
    retiring: bool = False
    dead: bool = False
    pool: list[_Lease] = field(default_factory=list)
    # The context being created by the refill loop; a render finding the pool empty claims it (it is
    # further along than a context the render would start itself).
    incoming: asyncio.Future[_Lease] | None = None
    incoming_claimed: bool = False
    refilling: bool = False
    memory_kills: int = 0  # renderer processes the memory watchdog killed

    @property
    def usable(self) -> bool:
        return not self.dead and self.browser.is_connected()

    def kill(self) -> None:
        """Last resort when Chromium stops answering: SIGKILL the browser (its children follow)."""
        self.dead = True
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)


async def _browser_pid(browser: Browser) -> int | None:
    """The browser process id (for the kill switch), asked from Chromium itself over CDP."""
    try:
        session = await browser.new_browser_cdp_session()
        info = await session.send("SystemInfo.getProcessInfo")
        await session.detach()
    except PlaywrightError:
        return None
    for process in info.get("processInfo", []):
        if process.get("type") == "browser":
            return int(process["id"])
    return None


# --------------------------------------------------------------------------------------------- renderer


class ChromiumRenderer:
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

    # -- lifecycle

    async def start(self) -> None:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        async with self._launch_lock:
            if self._current is None or not self._current.usable:
                self._current = await self._launch()

    async def close(self) -> None:
        handle, self._current = self._current, None
        if handle is not None:
            await self._close_browser(handle)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None
        await self.http.aclose()

    async def browser_pid(self) -> int | None:
        """The current browser's process id (diagnostics, tests)."""
        handle = self._current
        return handle.pid if handle is not None else None

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

    def _crashed(self, handle: _BrowserHandle) -> RenderResourceLimit:
        """A page whose renderer died under it: out of memory (V8's heap cap, the watchdog, the kernel).
        The browser it ran in is replaced - renders already on it finish there - so that whatever the
        crash left behind in the browser process goes with it."""
        if handle is self._current:
            self._current = None
            self._retire(handle)
            self._spawn(self._prelaunch())
        limit = f" ({self.max_memory_mb} MB)" if self.max_memory_mb else ""
        return RenderResourceLimit(
            f"The page ran out of the memory a render may use{limit}; its renderer was stopped",
            details={"limit": "memory", "max_memory_mb": self.max_memory_mb},
        )

    # -- memory

    def _watch_memory(self) -> None:
        if self.max_memory_mb and not self._watching:
            self._watching = True
            self._spawn(self._memory_watch())

    async def _memory_watch(self) -> None:
        """While renders run: SIGKILL any renderer process of the browser beyond ``max_memory_mb``
        resident. Its page crashes and that render fails (RENDER_RESOURCE_LIMIT); other renders, in other
        processes (one per context), go on. RLIMIT_AS cannot do this: V8 and PartitionAlloc reserve far
        more address space than they use, and the limit would apply to the browser too."""
        limit = self.max_memory_mb * 1024 * 1024
        renderers: list[int] = []
        browser_pid: int | None = None
        next_scan = 0.0
        try:
            while self._pending > 0:
                handle = self._current
                if handle is not None and handle.pid:
                    now = time.monotonic()
                    if handle.pid != browser_pid or now >= next_scan:
                        # Finding the renderers reads every process's stat (~8 ms on a busy machine): once a
                        # second; their resident sizes (one read each) at every tick.
                        renderers = await asyncio.to_thread(_renderer_pids, handle.pid)
                        browser_pid, next_scan = handle.pid, now + RENDERER_SCAN_INTERVAL_S
                    for pid, rss in await asyncio.to_thread(_resident, renderers):
                        if rss > limit:
                            log.warning("chromium renderer %s at %d MB > %d MB: killed", pid, rss >> 20, limit >> 20)
                            with contextlib.suppress(ProcessLookupError, PermissionError):
                                os.kill(pid, signal.SIGKILL)
                            handle.memory_kills += 1
                            self.memory_kills += 1
                await asyncio.sleep(MEMORY_WATCH_INTERVAL_S)
        finally:
            self._watching = False

    async def _recycle(self, handle: _BrowserHandle, context: BrowserContext | None) -> None:
        """After a render: close its context (never reused), once its caller has had time to answer."""
        await asyncio.sleep(CLOSE_DELAY_S)
        await self._dispose(handle, context)

    # -- browsers

    async def _acquire(self) -> _BrowserHandle:
        async with self._launch_lock:
            handle = self._current
            if handle is None or not handle.usable:
                if handle is not None:
                    self._retire(handle)
                if self._playwright is None:
                    raise EngineUnavailable("The Chromium renderer is not started")
                handle = self._current = await self._launch()
            handle.in_flight += 1
            handle.renders += 1
            if handle.renders >= self.restart_after:
                # Recycle: renders already on this browser finish there; the next ones get a new browser,
                # launched now so that they do not wait for it.
                self._current = None
                self._retire(handle)
                self._spawn(self._prelaunch())
            return handle

    def _release(self, handle: _BrowserHandle) -> None:
        handle.in_flight -= 1
        if handle.retiring and handle.in_flight == 0:
            self._spawn(self._close_browser(handle))

    def _retire(self, handle: _BrowserHandle) -> None:
        handle.retiring = True
        if handle.in_flight == 0:
            self._spawn(self._close_browser(handle))

    async def _prelaunch(self) -> None:
        async with self._launch_lock:
            if self._current is None and self._playwright is not None:
                self._current = await self._launch()

    async def _launch(self) -> _BrowserHandle:
        assert self._playwright is not None
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=self.executable_path,
                args=list(self.launch_args),
                headless=True,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
                timeout=30_000,
            )
        except PlaywrightError as exc:
            raise EngineUnavailable(f"Chromium could not start: {_playwright_message(exc)}") from None
        handle = _BrowserHandle(browser)
        browser.on("disconnected", lambda _browser: setattr(handle, "dead", True))
        handle.pid = await _browser_pid(browser)
        self._spawn(self._refill(handle))
        log.info("chromium started (pid %s)", handle.pid)
        return handle

    async def _close_browser(self, handle: _BrowserHandle) -> None:
        leases, handle.pool = handle.pool, []
        handle.dead = True
        try:
            async with asyncio.timeout(CONTEXT_CLOSE_TIMEOUT_S):
                for lease in leases:
                    await lease.context.close()
                await handle.browser.close()
        except (PlaywrightError, TimeoutError):
            handle.kill()

    # -- contexts

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

    # -- network

    async def _route(self, route: Route, scope: _Scope) -> None:
        """Every request of every page: answered by us, never by Chromium's own network stack."""
        request = route.request
        url = request.url
        try:
            if url.startswith(("data:", "blob:")):
                await route.fallback()
            elif self.asset_prefix and url.startswith(self.asset_prefix):
                await self._fulfill_asset(route, url, scope)
            else:
                await self._fulfill_remote(route, url, scope)
        except PlaywrightError:
            pass  # the context closed under us (render finished or timed out)

    async def _fulfill_asset(self, route: Route, url: str, scope: _Scope) -> None:
        """This render's own assets, then the built-in frameworks, then the global resolver hook."""
        key = url.split("#", 1)[0].split("?", 1)[0]  # a query string never selects another file
        asset = scope.assets.get(key) or builtin_asset(key, self.asset_prefix or ASSET_PREFIX)
        if asset is None and self.asset_resolver is not None:
            body = await asyncio.to_thread(self.asset_resolver, key)
            if body is not None:
                guessed = mimetypes.guess_type(key.split("?", 1)[0])[0] or "application/octet-stream"
                asset = StaticAsset(content_type=guessed, data=body)
        if asset is None:
            await route.fulfill(status=404, body=b"")
            return
        if not await self._within_limits(route, scope, asset.data, asset.content_type, f"asset {key}"):
            return
        headers = {"content-type": asset.content_type, "access-control-allow-origin": "*"}
        body = await _tamed_svg(asset.data, asset.content_type, scope)
        await route.fulfill(status=200, body=body, headers=headers)

    async def _within_limits(self, route: Route, scope: _Scope, body: bytes, content_type: str, where: str) -> bool:
        """An image beyond ``max_image_pixels`` (or a stylesheet carrying one in a data: URL) is not handed
        to Chromium: the request is aborted and the render fails with the limit (see _render_once)."""
        size = image_too_large(body, self.max_image_pixels)
        if size is None and "css" in content_type.lower():
            found = oversized_data_images(body.decode("utf-8", "replace"), self.max_image_pixels)
            size = found[0] if found else None
        if size is None:
            return True
        scope.violation = scope.violation or image_limit_error(size, self.max_image_pixels, where)
        await route.abort("blockedbyclient")
        return False

    async def _fulfill_remote(self, route: Route, url: str, scope: _Scope) -> None:
        request = route.request
        try:
            result = await self.http.fetch(
                url,
                purpose="render",
                method=request.method,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                content=request.post_data_buffer,
            )
        except PressroomError as exc:
            log.info("render request refused: %s", exc.message)
            await route.abort("blockedbyclient")
            return
        content_type = result.headers.get("content-type", "")
        if not await self._within_limits(route, scope, result.body, content_type, url[:200]):
            return
        headers = {k: v for k, v in result.headers.items() if k.lower() not in _HOP_HEADERS}
        body = await _tamed_svg(result.body, content_type, scope)
        await route.fulfill(status=result.status, headers=headers, body=body)

    # -- helpers

    def _close_late(self, take: asyncio.Future[_Lease]) -> None:
        if not take.cancelled() and take.exception() is None:
            self._spawn(_quiet(take.result().context.close()))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@dataclass(frozen=True)
class _Job:
    html: str
    options: PageOptions
    params: PdfParams
    assets: AssetMap
    warnings: list[str] = field(default_factory=list)  # filled by the route handler (see _Scope)


async def _load(page: Page, job: _Job) -> None:
    """Load the document and wait for what the options ask (the render deadline bounds every wait)."""
    wait = job.options.wait_for
    await page.set_content(job.html, wait_until="networkidle" if wait == "networkidle" else "load")
    if isinstance(wait, WaitSelector):
        await page.wait_for_selector(wait.selector, state="attached")
    elif isinstance(wait, WaitExpression):
        await page.wait_for_function(wait.expression, polling=WAIT_POLL_MS)
    elif isinstance(wait, WaitDelay):
        await asyncio.sleep(wait.delay_ms / 1000)
    faces = band_font_faces(job.params)
    if faces:
        await page.evaluate(_PRIME_BAND_FONTS, faces)
    if faces or may_load_web_fonts(job.html):
        await page.evaluate(_FONTS_READY)


_FONTS_READY = "document.fonts.ready.then(() => true)"
# Where a document can get a web font from: @font-face rules (in <style>, in an SVG, or in a stylesheet
# behind <link>/@import) or the FontFace API from a script. Without any of these every font is a system
# font, available synchronously, so waiting for document.fonts.ready is a round trip for nothing.
_WEB_FONT_SOURCES = re.compile(r"font-?face|<link|@import|<script", re.IGNORECASE)


def may_load_web_fonts(html: str) -> bool:
    """Whether the document might load a web font (conservative: any stylesheet link or script counts)."""
    return _WEB_FONT_SOURCES.search(html) is not None


# Chromium draws header/footer bands synchronously at print time: a web font declared there is only
# used if the page itself has already loaded the very same face. So the bands' @font-face rules are
# added to the page and used by hidden text, and printing waits for them (measured: without this the
# band falls back to a system font).
_PRIME_BAND_FONTS = """(faces) => {
  const style = document.createElement("style");
  style.textContent = faces.map(f => f.rule).join(" ");
  document.head.appendChild(style);
  for (const face of faces) {
    const probe = document.createElement("span");
    probe.setAttribute("aria-hidden", "true");
    probe.style.cssText = "position:absolute;left:0;top:0;visibility:hidden;font-size:1px;font-family:" +
      JSON.stringify(face.family) + ";font-weight:" + face.weight + ";font-style:" + face.style;
    probe.textContent = "x";
    document.body.appendChild(probe);
  }
}"""
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_FACE_FAMILY = re.compile(r"font-family\s*:\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_FACE_WEIGHT = re.compile(r"font-weight\s*:\s*(\d+)", re.IGNORECASE)
_FACE_ITALIC = re.compile(r"font-style\s*:\s*italic", re.IGNORECASE)


def band_font_faces(params: PdfParams) -> list[dict[str, str]]:
    """The @font-face rules of the header/footer templates, with the family/weight/style each declares."""
    faces = []
    for rule in _FONT_FACE.findall(params.header_template + params.footer_template):
        family = _FACE_FAMILY.search(rule)
        if family:
            weight = _FACE_WEIGHT.search(rule)
            faces.append(
                {
                    "rule": rule,
                    "family": family.group(1),
                    "weight": weight.group(1) if weight else "400",
                    "style": "italic" if _FACE_ITALIC.search(rule) else "normal",
                }
            )
    return faces


async def _print(page: Page, params: PdfParams) -> bytes:
    return await page.pdf(
        width=params.width,
        height=params.height,
        margin=PdfMargins(
            top=params.margin["top"],
            right=params.margin["right"],
            bottom=params.margin["bottom"],
            left=params.margin["left"],
        ),
        scale=params.scale,
        print_background=params.print_background,
        page_ranges=params.page_ranges,
        display_header_footer=params.display_header_footer,
        header_template=params.header_template,
        footer_template=params.footer_template,
        tagged=params.tagged,
        outline=params.outline,
        landscape=False,  # width/height are already swapped for landscape
        prefer_css_page_size=False,
    )


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


async def _refuse_websocket(ws: WebSocketRoute) -> None:
    # Not connecting to the server and closing: the page sees a failed socket, nothing leaves the machine.
    with contextlib.suppress(PlaywrightError):
        await ws.close(code=1008, reason="blocked by Pressroom")


def _consume_exception(future: asyncio.Future[_Lease]) -> None:
    # A failed creation nobody claimed must not be reported as "exception never retrieved".
    if not future.cancelled():
        future.exception()


async def _quiet(awaitable: Awaitable[None]) -> None:
    with contextlib.suppress(PlaywrightError):
        await awaitable


async def _died(handle: _BrowserHandle, exc: PlaywrightError) -> bool:
    """Whether ``exc`` came from the browser dying; its 'disconnected' event may trail the error a little."""
    if "closed" not in str(exc) and "crash" not in str(exc).lower():
        return not handle.usable
    for _ in range(20):
        if not handle.usable:
            return True
        await asyncio.sleep(0.05)
    return False


def _playwright_message(exc: PlaywrightError) -> str:
    lines = (exc.message or str(exc)).strip().splitlines()
    return (lines[0].removeprefix("Error: ")[:500] if lines else "") or "Chromium failed"


async def _tamed_svg(body: bytes, content_type: str, scope: _Scope) -> bytes:
    """An SVG file the page loads gets the same bound on <use> expansion as the document (limits.py)."""
    if "svg" not in content_type.lower() or b"<use" not in body:
        return body
    text, disabled = await asyncio.to_thread(tame_svg_use, body.decode("utf-8", "replace"))
    if not disabled:
        return body
    scope.warnings.append(svg_use_warning(disabled))
    return text.encode("utf-8")


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


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident(pids: list[int]) -> list[tuple[int, int]]:
    """(pid, resident bytes) of these processes, read from /proc (Linux)."""
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                found.append((pid, int(statm.read().split()[1]) * _PAGE_SIZE))
        except (OSError, IndexError, ValueError):
            continue  # gone since the scan
    return found


def _renderer_pids(browser_pid: int) -> list[int]:
    """The browser's renderer processes (its descendants started with --type=renderer), from /proc (Linux;
    [] elsewhere: no watchdog there, the JS heap cap still applies)."""
    parents: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found = []
    for pid in parents:
        ancestor, hops = parents.get(pid), 0
        while ancestor not in (None, 0, 1, browser_pid) and hops < 8:
            ancestor, hops = parents.get(ancestor or 0), hops + 1
        if ancestor != browser_pid:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"--type=renderer" in cmdline.read():
                    found.append(pid)
        except OSError:
            continue
    return found
