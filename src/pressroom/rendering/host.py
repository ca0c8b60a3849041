"""The synchronous face of an async renderer: what services and workers call."""

from __future__ import annotations

from pressroom.aio import LoopThread
from pressroom.rendering.base import PageOptions, RenderedPdf, Renderer


class BlockingRenderer:
    def __init__(self, renderer: Renderer, loop: LoopThread) -> None:
        self.renderer = renderer
        self.loop = loop
        self.name = renderer.name

    def start(self) -> None:
        self.loop.run(self.renderer.start())

    def close(self) -> None:
        self.loop.run(self.renderer.close())

    def render_pdf(self, html: str, options: PageOptions, *, timeout_s: float) -> RenderedPdf:
        # The renderer enforces timeout_s itself (and frees the page); the outer bound only guards
        # against a wedged loop, so it is generous.
        return self.loop.run(self.renderer.render_pdf(html, options, timeout_s=timeout_s), timeout_s + 30)
