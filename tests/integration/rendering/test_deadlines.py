"""Sync deadlines on the real engines (issue #12 item 5): the deadline covers the wait for a slot and the
render; a render that cannot start in time is QueueFull (429), one cut short is RenderTimeout (504), and a
cancelled render frees its slot at once (rendering/deadline.py, registry.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pressroom.aio import LoopThread
from pressroom.config import NetSettings
from pressroom.core.errors import QueueFull, RenderTimeout
from pressroom.rendering.base import PageOptions, RenderedPdf, WaitDelay
from pressroom.rendering.chromium import ChromiumRenderer
from pressroom.rendering.html import wrap_document
from pressroom.rendering.registry import EngineRegistry
from pressroom.rendering.weasyprint import WeasyPrintRenderer
from tests.integration.rendering.conftest import CHROMIUM

pytestmark = pytest.mark.chromium

SLOW = PageOptions(wait_for=WaitDelay(delay_ms=2000))


@pytest.fixture(scope="module")
def one_slot(loop_thread: LoopThread) -> Iterator[ChromiumRenderer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    renderer = ChromiumRenderer(executable_path=CHROMIUM, concurrency=1, queue_size=4, prewarm_contexts=1)
    loop_thread.run(renderer.start(), 60)
    yield renderer
    loop_thread.run(renderer.close(), 60)


def test_chromium_waits_for_a_slot_only_until_the_deadline(loop_thread: LoopThread, one_slot: ChromiumRenderer) -> None:
    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(one_slot.render_pdf("<p>slow</p>", SLOW, timeout_s=10))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        ended: list[float] = []

        async def second() -> RenderedPdf:
            # 1 s of budget while the first holds the slot 2 s: refused, never rendered.
            try:
                return await one_slot.render_pdf("<p>late</p>", PageOptions(), timeout_s=10, deadline=started + 1.0)
            finally:
                ended.append(time.monotonic() - started)

        results = await asyncio.gather(first, second(), return_exceptions=True)
        return [*results, ended[0]]

    first, second, took = loop_thread.run(scenario(), 60)
    assert isinstance(first, RenderedPdf)
    assert isinstance(second, QueueFull) and second.retry_after >= 1
    assert took < 1.5  # refused at once (queue too long for its budget) or at its deadline, not after the wait


def test_chromium_cuts_a_render_at_the_deadline(loop_thread: LoopThread, one_slot: ChromiumRenderer) -> None:
    started = time.monotonic()
    with pytest.raises(RenderTimeout) as raised:
        loop_thread.run(one_slot.render_pdf("<p>x</p>", SLOW, timeout_s=10, deadline=started + 1.0), 30)
    assert time.monotonic() - started < 2.5
    assert raised.value.status == 504 and raised.value.details["queued"] is True
    assert loop_thread.run(one_slot.render_pdf("<p>next</p>", PageOptions(), timeout_s=10), 30).pages == 1


def test_a_cancelled_render_frees_its_slot_at_once(loop_thread: LoopThread, one_slot: ChromiumRenderer) -> None:
    registry = EngineRegistry({"chromium": one_slot}, loop_thread)
    future = loop_thread.submit(one_slot.render_pdf("<p>abandoned</p>", SLOW, timeout_s=10))
    time.sleep(0.5)
    future.cancel()  # what the registry does when its caller is gone
    started = time.monotonic()
    pdf = registry.render_pdf("<p>next</p>", PageOptions(), timeout_s=10, deadline=time.monotonic() + 1.5)
    assert pdf.pages == 1 and time.monotonic() - started < 1.5  # the abandoned page no longer held the slot


def test_weasyprint_waits_for_a_worker_only_until_the_deadline(loop_thread: LoopThread) -> None:
    small = WeasyPrintRenderer(workers=1, queue_size=4, net=NetSettings())
    loop_thread.run(small.start(), 120)
    try:
        slow = wrap_document("<table>" + "<tr><td>row</td></tr>" * 3000 + "</table>")

        async def scenario() -> list[Any]:
            first = asyncio.ensure_future(small.render_pdf(slow, PageOptions(), timeout_s=60))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            second = small.render_pdf("<p>late</p>", PageOptions(), timeout_s=60, deadline=started + 0.5)
            results = await asyncio.gather(first, second, return_exceptions=True)
            return [*results, started]

        first, second, _ = loop_thread.run(scenario(), 120)
        assert isinstance(first, RenderedPdf)
        assert isinstance(second, QueueFull), second
    finally:
        loop_thread.run(small.close(), 60)
