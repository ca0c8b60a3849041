"""The deadline of a sync request: one budget for waiting in the render queue *and* rendering.

A sync caller waits for its answer. Before, the engines bounded only the render itself (``timeout_s``) and
the thread waiting for it gave up ``timeout_s + 30`` s later, whatever time the request had spent queued:
under load callers got a 500 (the outer wait expired) while their abandoned renders still ran afterwards.

Now the HTTP layer marks when a sync request arrived (:func:`sync_request`); the generator turns that into
a deadline (arrival + the render's time limit) and hands it to the engine, which

* refuses at once (429 ``QUEUE_FULL`` with Retry-After) a render that could not start in time - by the
  queue's length and recent render times - instead of letting it wait until it is too late,
* stops waiting for a slot when the deadline passes (429 ``QUEUE_FULL``: it never started),
* renders for at most the time left (504 ``RENDER_TIMEOUT``),

and the registry cancels the engine's task when its own wait ends, so nothing keeps running for a caller
who got an answer - or who went away (:meth:`SyncRequest.cancel`).

The marker travels in a context variable: the request's thread runs the whole job (jobs.runner ->
generation.generator -> rendering.registry), so no signature between them has to carry it, and async
jobs (no marker) keep the engine's own limits.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.to_thread

from pressroom.config import RenderSettings
from pressroom.core.errors import QueueFull

T = TypeVar("T")
# How often a sync request's connection is checked while its job runs.
DISCONNECT_POLL_S = 0.25


@dataclass(eq=False)
class SyncRequest:
    """A sync request being served: when it arrived (``time.monotonic()``) and whether its caller left."""

    arrived: float = field(default_factory=time.monotonic)
    # What the render left out or changed (RenderedPdf.warnings), for the sync answer.
    warnings: list[str] = field(default_factory=list)
    _cancelled: threading.Event = field(default_factory=threading.Event)
    _on_cancel: list[Callable[[], object]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """The caller is gone (disconnected): stop whatever runs for it. Safe from any thread."""
        with self._lock:
            self._cancelled.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` when the request is cancelled (at once if it already is); returns an undo."""
        with self._lock:
            if not self._cancelled.is_set():
                self._on_cancel.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], object]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._on_cancel.remove(callback)


_current: ContextVar[SyncRequest | None] = ContextVar("pressroom_sync_request", default=None)


@contextlib.contextmanager
def sync_request(request: SyncRequest | None = None) -> Iterator[SyncRequest]:
    """Mark the code inside (on this thread / context) as serving a sync request."""
    marker = request or SyncRequest()
    token = _current.set(marker)
    try:
        yield marker
    finally:
        _current.reset(token)


def current_sync_request() -> SyncRequest | None:
    return _current.get()


def deadline_for(timeout_s: float) -> float | None:
    """The deadline (``time.monotonic()``) of a render with this time limit: arrival + limit for a sync
    request, None (the engine's own ``timeout_s``) for anything else."""
    request = _current.get()
    return None if request is None else request.arrived + timeout_s


class SyncRenderGate:
    """The threads sync renders wait on, apart from the pool every other route shares.

    A sync render holds its thread while it waits in the engine's queue and renders (seconds). On the
    default pool (40 threads) a burst of them left no thread for anyone else: another tenant's
    ``GET /v1/credits`` waited for a render to finish. Here they get ``capacity`` threads of their own -
    the engines' slots plus their queue, i.e. as many as could be waiting or rendering anyway - and a sync
    render beyond that is refused at once (429 ``QUEUE_FULL``), without taking any thread.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.limiter = anyio.CapacityLimiter(self.capacity)
        self.active = 0

    @classmethod
    def for_engines(cls, render: RenderSettings) -> SyncRenderGate:
        """Sized to what the engines admit: their render slots plus their queue."""
        cores = os.cpu_count() or 1
        slots = max(render.concurrency or cores * 2, render.weasyprint_workers or cores)
        return cls(slots + render.queue_size)

    async def run(self, func: Callable[[], T], disconnected: Callable[[], Awaitable[bool]] | None = None) -> T:
        """Run ``func`` (a sync request's whole job) on one of the gate's threads, marked as a sync request
        that arrived now, so that its deadline counts from here. ``disconnected`` (the HTTP request's
        ``is_disconnected``) is polled meanwhile: once the caller is gone the request is cancelled, and its
        render with it."""
        if self.active >= self.capacity:
            raise QueueFull(
                "Too many sync renders in progress; retry later, or submit with async: true",
                retry_after=1,
                details={"sync_renders": self.capacity},
            )
        marker = SyncRequest()
        self.active += 1

        def call() -> T:
            with sync_request(marker):
                return func()

        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as tasks:
                if disconnected is not None:
                    tasks.start_soon(_watch, marker, disconnected)
                try:
                    result = await anyio.to_thread.run_sync(call, limiter=self.limiter)
                except Exception as exc:  # raised below as is: a task group would wrap it in a group
                    failure = exc
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            self.active -= 1
        if failure is not None:
            raise failure
        return result


async def _watch(marker: SyncRequest, disconnected: Callable[[], Awaitable[bool]]) -> None:
    while True:
        await anyio.sleep(DISCONNECT_POLL_S)
        if await disconnected():
            marker.cancel()
            return
