"""The objects the parts of the Chromium renderer pass each other: a launched browser (with its pool of
contexts and its kill switch), a context leased to one render, and that render's scope (what its page may
load, and what the request gate found while serving it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field

from playwright.async_api import Browser, BrowserContext, Page

from pressroom.core.errors import RenderResourceLimit
from pressroom.rendering.base import AssetMap


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
