"""The engines a process can render with, chosen per render, with a fallback when one is missing.

Services are synchronous; the engines are async and live on one :class:`~pressroom.aio.LoopThread`. The
registry is the sync face services call (``render_pdf(..., engine=...)``). When Chromium cannot start
(not installed, broken), the service still starts, says so once in the log, and renders with WeasyPrint
instead: a template asking for Chromium gets WeasyPrint's output rather than an error (what only
Chromium can do - JavaScript, the Tailwind browser build - fails with ENGINE_UNAVAILABLE).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pressroom.aio import LoopThread
from pressroom.core.errors import EngineUnavailable
from pressroom.rendering.base import AssetMap, PageOptions, RenderedPdf, Renderer

log = logging.getLogger(__name__)

# Which engine stands in for which when it is unavailable.
FALLBACKS: Mapping[str, str] = {"chromium": "weasyprint"}


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
    ) -> RenderedPdf:
        renderer = self.engines[self.resolve(engine)]
        # The engine enforces timeout_s itself (and frees its page/worker); the outer bound only guards
        # against a wedged loop, so it is generous.
        return self.loop.run(renderer.render_pdf(html, options, timeout_s=timeout_s, assets=assets), timeout_s + 30)
