"""The browser's lifecycle: the flags Chromium is launched with, one warm browser shared by all renders,
recycled after ``restart_after`` renders (renders already on it finish there; the next browser is
launched at once so they do not wait), relaunched when it dies or after a page ran out of memory, and
killed (SIGKILL) when it stops answering.

Where a context's cost really is (measured on Chromium 156, 2 cores; docs/rendering.md): not in
``Target.createBrowserContext`` (~10 ms) but in the processes a context's first page spawns. Headless
Chromium started *three* renderers per context: the page's, a spare one, and a WebUI renderer for the
omnibox popup of the context's (invisible) window. Disabling the latter two (``DISABLED_FEATURES``) cut a
new context + page from ~250 ms / ~590 ms of CPU to ~90 ms / ~130 ms of CPU. On chromium-headless-shell
(the default binary now) a context + page costs ~50-60 ms and ~60 ms of CPU, nearly all of it the start of
the context's renderer process; ``--disable-threaded-compositing`` cut a whole isolated render (context,
page, print, close) from ~156 to ~130 ms of CPU.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from pressroom.core.errors import EngineUnavailable, RenderResourceLimit
from pressroom.net.client import SafeHttpClient
from pressroom.rendering.chromium.handles import _BrowserHandle
from pressroom.rendering.chromium.pool import CONTEXT_CLOSE_TIMEOUT_S

# One logger for the whole engine, as before it was split into modules.
log = logging.getLogger("pressroom.rendering.chromium")

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


class _BrowserLifecycle:
    """The browser-lifecycle part of ChromiumRenderer (its state is set in ChromiumRenderer.__init__)."""

    executable_path: str
    launch_args: tuple[str, ...]
    restart_after: int
    max_memory_mb: int
    http: SafeHttpClient
    _playwright: Playwright | None
    _current: _BrowserHandle | None
    _launch_lock: asyncio.Lock
    _tasks: set[asyncio.Task[None]]
    _spawn: Callable[[Coroutine[Any, Any, None]], None]
    _refill: Callable[[_BrowserHandle], Coroutine[Any, Any, None]]

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
