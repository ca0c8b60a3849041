"""The memory watchdog: while renders run, it reads the resident size of the browser's renderer processes
from /proc and SIGKILLs one beyond ``max_memory_mb`` (typed arrays, canvases and the DOM live outside the
JS heap that ``--max-old-space-size`` caps). Its page crashes and that render fails with
RENDER_RESOURCE_LIMIT (see ChromiumRenderer._crashed); renders in other contexts go on. Linux only: elsewhere
no renderer is found and only the JS heap cap applies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from pressroom.rendering.chromium.handles import _BrowserHandle

# One logger for the whole engine, as before it was split into modules.
log = logging.getLogger("pressroom.rendering.chromium")

# The memory watchdog looks at the renderer processes this often while renders run.
MEMORY_WATCH_INTERVAL_S = 0.2
RENDERER_SCAN_INTERVAL_S = 1.0


class _MemoryWatchdog:
    """The memory-watchdog part of ChromiumRenderer (its state is set in ChromiumRenderer.__init__)."""

    max_memory_mb: int
    memory_kills: int
    _watching: bool
    _pending: int
    _current: _BrowserHandle | None
    _spawn: Callable[[Coroutine[Any, Any, None]], None]

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
