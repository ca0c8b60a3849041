"""The engines a process can render with, chosen per render, with a fallback when one is missing.

Services are synchronous; the engines are async and live on one :class:`~pressroom.aio.LoopThread`. The
registry is the sync face services call (``render_pdf(..., engine=...)``). When Chromium cannot start
(not installed, broken), the service still starts, says so once in the log, and renders with WeasyPrint
instead: a template asking for Chromium gets WeasyPrint's output rather than an error (what only
Chromium can do - JavaScript, the Tailwind browser build - fails with ENGINE_UNAVAILABLE).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Mapping

from pressroom.aio import LoopThread
from pressroom.core.errors import EngineUnavailable, RenderTimeout
from pressroom.rendering.base import AssetMap, PageOptions, RenderedPdf, Renderer
from pressroom.rendering.deadline import current_sync_request

log = logging.getLogger(__name__)

# Which engine stands in for which when it is unavailable.
FALLBACKS: Mapping[str, str] = {"chromium": "weasyprint"}
# How long past a render's own limit the calling thread still waits for the engine to answer (the engine
# stops at its limit; this only catches a wedged loop). Without a deadline (async jobs) the engine's queue
# wait is not part of the limit, so the guard leaves room for it.
OUTER_GUARD_S = 10.0
QUEUED_GUARD_S = 300.0


class EngineRegistry:
    def __init__(self, engines: Mapping[str, Renderer], loop: LoopThread, *, default: str = "chromium") -> None:
        if default not in engines:
            raise ValueError(f"default engine {default!r} is not registered")
        self.engines = dict(engines)
        self.loop = loop
        self.default = default
        self.unavailable: dict[str, str] = {}  # engine -> why (logged once)
        self.name = default

    # -- lifecycle

    def start(self) -> None:
        """Start every engine; one that cannot start is marked unavailable (and logged once), not fatal."""
        for name, engine in self.engines.items():
            try:
                self.loop.run(engine.start(), 120)
            except EngineUnavailable as exc:
                self.unavailable[name] = exc.message
                fallback = FALLBACKS.get(name)
                instead = f"; rendering with {fallback} instead" if fallback in self.engines else ""
                log.warning("render engine %s is not available (%s)%s", name, exc.message, instead)

    def close(self) -> None:
        for engine in self.engines.values():
            self.loop.run(engine.close(), 60)

    # -- choosing

    def available(self, name: str) -> bool:
        return name in self.engines and name not in self.unavailable

    def resolve(self, requested: str | None) -> str:
        """The engine that will render a request for ``requested`` (None = the default)."""
        name = requested or self.default
        if self.available(name):
            return name
        fallback = FALLBACKS.get(name)
        if fallback is not None and self.available(fallback):
            return fallback
        reason = self.unavailable.get(name, "not configured")
        raise EngineUnavailable(f"The {name} engine is unavailable: {reason}", details={"engine": name})

    # -- rendering

    def render_pdf(
        self,
        html: str,
        options: PageOptions,
        *,
        timeout_s: float,
        engine: str | None = None,
        assets: AssetMap | None = None,
        deadline: float | None = None,
    ) -> RenderedPdf:
        """Render on the engine loop and wait for it. The engine enforces ``timeout_s`` and ``deadline``
        itself (and frees its page/worker); this wait only guards against a wedged loop. Whenever it ends
        without a result - the guard expired, the caller went away (deadline.SyncRequest.cancel) - the
        engine's task is cancelled: nothing goes on rendering for a caller who already has an answer."""
        renderer = self.engines[self.resolve(engine)]
        future = self.loop.submit(
            renderer.render_pdf(html, options, timeout_s=timeout_s, assets=assets, deadline=deadline)
        )
        request = current_sync_request()
        forget = request.on_cancel(future.cancel) if request is not None else None
        if deadline is None:
            budget, guard = timeout_s, OUTER_GUARD_S + QUEUED_GUARD_S
        else:
            budget, guard = max(0.0, deadline - time.monotonic()), OUTER_GUARD_S
        try:
            return future.result(budget + guard)
        except concurrent.futures.CancelledError:
            raise RenderTimeout(
                "The request was abandoned by its caller; its render was stopped", details={"cancelled": True}
            ) from None
        except TimeoutError:
            future.cancel()
            log.error("render engine %s did not answer within %.0f s; its render was cancelled", renderer.name, budget)
            raise RenderTimeout(
                f"Rendering took longer than {timeout_s:g} s", details={"timeout_s": timeout_s}
            ) from None
        finally:
            if forget is not None:
                forget()
