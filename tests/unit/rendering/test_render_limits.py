"""Render limits checked before an engine sees the document (rendering/limits.py) and the sync deadline
plumbing (rendering/deadline.py)."""

from __future__ import annotations

import asyncio
import base64
import struct
import threading
import time
import zlib

import pytest

from pressroom.core.errors import QueueFull
from pressroom.rendering.deadline import SyncRenderGate, current_sync_request, deadline_for, sync_request
from pressroom.rendering.limits import MAX_SVG_USE_COPIES, oversized_data_images, tame_svg_use


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_an_oversized_data_image_is_found_from_its_header() -> None:
    small, huge = data_url(png_header(100, 100)), data_url(png_header(20000, 20000))
    html = f'<img src="{small}"><div style="background:url({huge})">'
    found = oversized_data_images(html, 1_000_000)
    assert [(size.width, size.height) for size in found] == [(20000, 20000)]
    assert oversized_data_images(html, 400_000_000) == []


def test_a_data_image_split_by_whitespace_is_still_read() -> None:
    encoded = base64.b64encode(png_header(30000, 30000)).decode()
    wrapped = "\n".join(encoded[i : i + 10] for i in range(0, len(encoded), 10))
    assert len(oversized_data_images(f"data:image/png;base64,{wrapped}", 1000)) == 1


def nested_uses(levels: int, fanout: int) -> str:
    groups = "".join(f'<g id="a{i}">' + f'<use href="#a{i - 1}"/>' * fanout + "</g>" for i in range(1, levels + 1))
    return f'<svg><defs><g id="a0"><rect width="1" height="1"/></g>{groups}</defs><use href="#a{levels}"/></svg>'


def test_exponential_use_nesting_is_cut_to_one_level() -> None:
    tamed, disabled = tame_svg_use(nested_uses(7, 10))
    # Every <use> inside a group that another <use> copies loses its reference; the top-level one stays.
    assert disabled == 70
    assert tamed.count('href="#') == 1 and tamed.count("data-pressroom-removed=") == 70
    again, more = tame_svg_use(tamed)
    assert more == 0 and again == tamed  # what is left is within the limit


def test_ordinary_reuse_is_left_alone() -> None:
    icons = '<svg><defs><symbol id="i"><circle r="3"/></symbol></defs>' + '<use href="#i"/>' * 500 + "</svg>"
    assert tame_svg_use(icons) == (icons, 0)
    assert tame_svg_use(nested_uses(3, 10)) == (nested_uses(3, 10), 0)  # 10^3 copies: fine
    assert tame_svg_use("<p>no svg</p>") == ("<p>no svg</p>", 0)


def test_cycles_and_unclosed_markup_do_not_break_the_count() -> None:
    for html in ('<svg><use href="#id">', '<svg><g id="g"><use href="#g"/></g></svg>', '<svg id="s"><use href="#s">'):
        assert tame_svg_use(html) == (html, 0)


def test_many_first_level_copies_of_a_large_drawing_are_capped() -> None:
    big = '<g id="big">' + "<rect/>" * 1000 + "</g>"
    html = f"<svg><defs>{big}</defs>" + '<use href="#big"/>' * 100 + "</svg>"
    tamed, disabled = tame_svg_use(html)
    kept = 100 - disabled
    assert kept > 0 and kept * 1001 <= MAX_SVG_USE_COPIES
    assert tamed.count('href="#big"') == kept


def test_the_deadline_counts_from_the_arrival_of_a_sync_request() -> None:
    assert deadline_for(5) is None  # async jobs: the engine's own limit
    with sync_request() as request:
        assert current_sync_request() is request
        deadline = deadline_for(5)
        assert deadline is not None and deadline == pytest.approx(request.arrived + 5)
    assert current_sync_request() is None


def test_cancelling_a_sync_request_runs_its_callbacks_once() -> None:
    calls: list[str] = []
    with sync_request() as request:
        forget = request.on_cancel(lambda: calls.append("a"))
        request.on_cancel(lambda: calls.append("b"))
        forget()
        request.cancel()
        request.cancel()
        request.on_cancel(lambda: calls.append("late"))  # already cancelled: at once
    assert calls == ["b", "late"]


def test_the_sync_render_gate_refuses_beyond_its_capacity_without_a_thread() -> None:
    gate = SyncRenderGate(2)
    release = asyncio.Event()

    async def scenario() -> list[object]:
        loop = asyncio.get_running_loop()

        def hold() -> float:
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(10)
            request = current_sync_request()
            assert request is not None  # the job runs marked as a sync request
            return request.arrived

        held = [asyncio.create_task(gate.run(hold)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull) as refused:
            await gate.run(lambda: time.monotonic())
        assert refused.value.retry_after >= 1
        release.set()
        return list(await asyncio.gather(*held))

    arrivals = asyncio.run(scenario())
    assert len(arrivals) == 2 and gate.active == 0


def test_a_caller_who_disconnects_cancels_its_sync_request() -> None:
    gate = SyncRenderGate(1)
    polls: list[int] = []

    async def disconnected() -> bool:
        polls.append(1)
        return len(polls) >= 2  # gone at the second look

    def job() -> bool:
        request = current_sync_request()
        assert request is not None
        gone = threading.Event()
        request.on_cancel(gone.set)
        return gone.wait(10)  # what the registry does: its render is cancelled with the request

    assert asyncio.run(gate.run(job, disconnected)) is True
    assert gate.active == 0


def test_a_failing_sync_job_raises_its_own_error_through_the_gate() -> None:
    async def connected() -> bool:
        return False

    def job() -> None:
        raise QueueFull("busy", retry_after=3)

    with pytest.raises(QueueFull) as raised:
        asyncio.run(SyncRenderGate(1).run(job, connected))
    assert raised.value.retry_after == 3
