"""The WeasyPrint renderer: CSS paged media (@page margin boxes, counters, running elements), no JavaScript,
native PDF/A and PDF/UA variants and embedded files.

WeasyPrint is pure Python and holds the GIL for the whole layout, so it runs in a pool of worker
*processes* - started as fresh interpreters (``python -c``), not forked (the server has threads) and not
through multiprocessing's spawn (which re-imports the parent's ``__main__``). Each worker renders one
document at a time; a render that exceeds its time limit gets its worker SIGKILLed and replaced
(nothing else can stop a layout in progress), a worker that dies (crash, memory cap) is replaced and
the render retried once, and workers are recycled after ``max_tasks`` renders so that memory
fragmentation does not accumulate.

Network: the worker's ``url_fetcher`` is the same gate as Chromium's route handler - ``data:`` is
decoded locally, URLs under the asset prefix are answered from this render's asset map (or the built-in
frameworks), anything else goes through :class:`~pressroom.net.SafeHttpClient` (the network gate, IP
pinning, every redirect hop re-checked, size cap); ``file:`` and every other scheme are refused.

Images whose header declares more than ``max_image_pixels`` are not handed to WeasyPrint (whose decoder
would allocate for them, or drop them silently past PIL's own limit): the fetcher refuses them, the page is
laid out without them and the result carries a warning saying which image was left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import html as html_lib
import importlib
import io
import logging
import math
import os
import pickle
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection
from typing import Any

from pressroom.config import NetSettings, RenderSettings
from pressroom.core.errors import (
    EngineUnavailable,
    PressroomError,
    QueueFull,
    RenderFailed,
    RenderTimeout,
    ValidationFailed,
    rebuild,
)
from pressroom.core.images import ImageSize
from pressroom.rendering.base import (
    ASSET_PREFIX,
    AssetMap,
    PageOptions,
    RenderedPdf,
    StaticAsset,
    check_html_size,
    page_size_inches,
    to_inches,
)
from pressroom.rendering.limits import image_too_large, image_warning, oversized_data_images

log = logging.getLogger(__name__)

HEADER_FOOTER_DEFAULT_MARGIN = "15mm"  # same rule as Chromium: a band needs room to be visible
WORKER_START_TIMEOUT_S = 60.0
_PAGE_RANGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")
_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_PLACEHOLDERS = (
    (re.compile(r"\{\{\s*pages\s*\}\}|\{pages\}|<span class=\"totalPages\"></span>"), '<span class="pr-pages"></span>'),
    (re.compile(r"\{\{\s*page\s*\}\}|\{page\}|<span class=\"pageNumber\"></span>"), '<span class="pr-page"></span>'),
)
_DATE = re.compile(r"\{\{\s*date\s*\}\}|\{date\}|<span class=\"date\"></span>")
_TITLE_PLACEHOLDER = re.compile(r"\{\{\s*title\s*\}\}|\{title\}|<span class=\"title\"></span>")


# ---------------------------------------------------------------------------------------------- options


def _length_css(length: str) -> str:
    return f"{round(to_inches(length), 6)}in"


def page_css(options: PageOptions) -> str:
    """PageOptions as an @page rule (placed before the template's styles, so the template's own @page
    rules - margin boxes, named pages - override it), plus the header/footer bands."""
    width, height = page_size_inches(options)
    margins = {side: to_inches(getattr(options.margin, side)) for side in ("top", "right", "bottom", "left")}
    band = to_inches(HEADER_FOOTER_DEFAULT_MARGIN)
    if options.header_html and margins["top"] == 0:
        margins["top"] = band
    if options.footer_html and margins["bottom"] == 0:
        margins["bottom"] = band
    margin = " ".join(f"{round(margins[side], 6)}in" for side in ("top", "right", "bottom", "left"))
    rules = [f"@page {{ size: {round(width, 6)}in {round(height, 6)}in; margin: {margin}; "]
    if options.header_html:
        rules.append("@top-center { content: element(prHeader); width: 100%; vertical-align: middle; } ")
    if options.footer_html:
        rules.append("@bottom-center { content: element(prFooter); width: 100%; vertical-align: middle; } ")
    rules.append("}")
    if options.header_html or options.footer_html:
        rules.append(
            ".pr-band { font-size: 10px; } #pr-header { position: running(prHeader); } "
            "#pr-footer { position: running(prFooter); } "
            ".pr-page::before { content: counter(page); } .pr-pages::before { content: counter(pages); }"
        )
    return "".join(rules)


def _band(html: str, title: str) -> str:
    for pattern, replacement in _PLACEHOLDERS:
        html = pattern.sub(replacement, html)
    html = _DATE.sub(date.today().isoformat(), html)
    return _TITLE_PLACEHOLDER.sub(html_lib.escape(title), html)


def decorate(document: str, options: PageOptions) -> str:
    """Insert the page CSS first in <head> and the running header/footer first in <body>."""
    style = f"<style>{page_css(options)}</style>"
    head = _HEAD_OPEN.search(document)
    document = document[: head.end()] + style + document[head.end() :] if head else style + document
    bands = ""
    title_match = _TITLE.search(document)
    title = html_lib.unescape(title_match.group(1).strip()) if title_match else ""
    if options.header_html:
        bands += f'<div id="pr-header" class="pr-band">{_band(options.header_html, title)}</div>'
    if options.footer_html:
        bands += f'<div id="pr-footer" class="pr-band">{_band(options.footer_html, title)}</div>'
    if bands:
        body = _BODY_OPEN.search(document)
        document = document[: body.end()] + bands + document[body.end() :] if body else bands + document
    return document


def select_pages(ranges: str, count: int) -> list[int]:
    """'1-3, 5' / '2-' -> zero-based page indexes (in document order, without duplicates)."""
    if not _PAGE_RANGES.match(ranges):
        raise ValidationFailed(f"invalid page_ranges {ranges!r}: use e.g. '1-3, 5'", details={"field": "page_ranges"})
    chosen: set[int] = set()
    for part in ranges.split(","):
        first, dash, last = (piece.strip() for piece in part.partition("-"))
        start = int(first)
        end = (int(last) if last else count) if dash else start
        chosen.update(range(max(1, start), min(count, end) + 1))
    if not chosen:
        raise ValidationFailed(f"page_ranges {ranges!r} selects no page of {count}", details={"field": "page_ranges"})
    return [index - 1 for index in sorted(chosen)]


# ----------------------------------------------------------------------------------------------- worker


@dataclass(frozen=True)
class WorkerConfig:
    net: NetSettings
    asset_prefix: str
    memory_mb: int
    max_image_pixels: int = 89_478_485


def worker_entry(fd: int) -> None:
    """``python -c 'from pressroom.rendering.weasyprint import worker_entry; worker_entry(FD)'``."""
    conn = Connection(fd)
    config: WorkerConfig = pickle.loads(conn.recv_bytes())
    _worker_main(conn, config)


def _worker_main(conn: Connection, config: WorkerConfig) -> None:
    """A worker process: render jobs from ``conn`` one at a time until the parent closes it (EOF)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    if config.memory_mb:
        limit = config.memory_mb * 1024 * 1024
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # unsupported-CSS warnings (Bootstrap) are noise
    importlib.import_module("weasyprint")  # once, before the first job, so renders do not pay for it

    worker = _Worker(config)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            data, pages, warnings = worker.render(job)
            conn.send(("ok", data, pages, warnings))
        except PressroomError as exc:
            conn.send(("error", exc.code, exc.message, exc.details))
        except MemoryError:
            conn.send(("error", RenderFailed.code, "The document needs more memory than a render may use", None))
        except Exception as exc:  # a WeasyPrint bug on odd input must fail this render, not the worker
            conn.send(("error", RenderFailed.code, f"WeasyPrint failed: {type(exc).__name__}: {exc}"[:500], None))


class _Worker:
    def __init__(self, config: WorkerConfig) -> None:
        from pressroom.net.client import SafeHttpClient
        from pressroom.net.gate import NetworkGate

        self.config = config
        self.gate = NetworkGate.from_settings(config.net)
        self.client_class = SafeHttpClient
        self.loop = asyncio.new_event_loop()  # the gate and client are async; this process has no other loop

    def render(self, job: dict[str, Any]) -> tuple[bytes, int, list[str]]:
        weasyprint: Any = importlib.import_module("weasyprint")  # ships no type information

        options = PageOptions.model_validate(job["options"])
        warnings: list[str] = []
        fetcher = gated_fetcher(self, job["assets"], warnings)
        document = weasyprint.HTML(
            string=decorate(job["html"], options), url_fetcher=fetcher, media_type=options.emulate_media
        ).render(pdf_tags=options.tagged or options.pdf_variant == "pdf/ua-1")
        if options.page_ranges:
            keep = select_pages(options.page_ranges, len(document.pages))
            document = document.copy([document.pages[i] for i in keep])
        attachments = [
            weasyprint.Attachment(string=item.content(), name=item.filename, description=item.description or None)
            for item in options.attachments
        ]
        buffer = io.BytesIO()
        document.write_pdf(
            buffer,
            zoom=options.scale,
            pdf_variant=options.pdf_variant,
            attachments=attachments or None,
            pdf_tags=options.tagged or options.pdf_variant == "pdf/ua-1",
        )
        return buffer.getvalue(), len(document.pages), list(dict.fromkeys(warnings))

    def fetch(self, url: str) -> tuple[bytes, str, str]:
        """A remote URL through the network gate: (body, content type, final URL)."""

        async def go() -> tuple[bytes, str, str]:
            client = self.client_class.from_settings(self.config.net, self.gate)
            try:
                result = await client.fetch(url, purpose="render")
            finally:
                await client.aclose()
            content_type = result.headers.get("content-type", "application/octet-stream")
            return result.body, content_type, result.final_url

        return self.loop.run_until_complete(go())


def gated_fetcher(worker: _Worker, assets: dict[str, tuple[str, bytes]], warnings: list[str] | None = None) -> Any:
    """A WeasyPrint URLFetcher whose every request goes through Pressroom's rules (see module doc).
    Images beyond ``max_image_pixels`` are refused and noted in ``warnings``."""
    from pressroom.rendering.frameworks import builtin_asset

    urls: Any = importlib.import_module("weasyprint.urls")
    URLFetcher, URLFetcherResponse = urls.URLFetcher, urls.URLFetcherResponse

    prefix = worker.config.asset_prefix
    max_pixels = worker.config.max_image_pixels
    noted = warnings if warnings is not None else []

    def refuse(size: ImageSize, where: str) -> ValueError:
        noted.append(image_warning(size, max_pixels, where))
        return ValueError(f"image beyond {max_pixels} pixels")

    class GatedFetcher(URLFetcher):  # type: ignore[misc,valid-type]  # WeasyPrint ships no type information
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                for found_size in oversized_data_images(url, max_pixels):
                    raise refuse(found_size, "a data: URL")
                return super().fetch(url, headers)  # decoded in memory (only data: is an allowed protocol)
            key = url.split("#", 1)[0].split("?", 1)[0]  # a query string never selects another file
            if key.startswith(prefix):
                found = assets.get(key)
                asset = StaticAsset(*found) if found else builtin_asset(key, prefix)
                if asset is None:
                    raise ValueError(f"unknown asset {key}")
                if (size := image_too_large(asset.data, max_pixels)) is not None:
                    raise refuse(size, f"asset {key.removeprefix(prefix)}")
                return URLFetcherResponse(key, asset.data, {"Content-Type": asset.content_type})
            if scheme not in ("http", "https"):
                raise ValueError(f"refused: {scheme}: URLs are never fetched")
            try:
                body, content_type, final_url = worker.fetch(url)
            except PressroomError as exc:
                raise ValueError(exc.message) from None
            if (size := image_too_large(body, max_pixels)) is not None:
                raise refuse(size, url[:200])
            return URLFetcherResponse(final_url, body, {"Content-Type": content_type})

    factory: Any = GatedFetcher
    return factory(allowed_protocols=("data",), allow_redirects=False, timeout=worker.config.net.timeout_s)


# --------------------------------------------------------------------------------------------- renderer


@dataclass(eq=False)
class _Proc:
    process: subprocess.Popen[bytes]
    conn: Connection
    pid: int
    jobs: int = 0


class _WorkerDied(Exception):
    pass


@dataclass
class _PoolState:
    idle: asyncio.Queue[_Proc] = field(default_factory=asyncio.Queue)
    all: set[_Proc] = field(default_factory=set)


class WeasyPrintRenderer:
    """The Renderer protocol on a pool of WeasyPrint worker processes."""

    name = "weasyprint"

    def __init__(
        self,
        *,
        workers: int = 0,
        queue_size: int = 32,
        max_timeout_s: float = 120.0,
        max_html_bytes: int = 5 * 1024 * 1024,
        max_tasks: int = 200,
        memory_mb: int = 2048,
        net: NetSettings | None = None,
        asset_prefix: str = ASSET_PREFIX,
        background_start: bool = False,
        max_image_pixels: int = 89_478_485,
    ) -> None:
        self.size = workers or (os.cpu_count() or 1)
        # start() returns at once and the workers boot in the background (~1.5 s of CPU each); a render
        # arriving before they are up waits for them.
        self.background_start = background_start
        self._starting: asyncio.Task[None] | None = None
        self.queue_size = queue_size
        self.max_timeout_s = max_timeout_s
        self.max_html_bytes = max_html_bytes
        self.max_tasks = max_tasks
        self.config = WorkerConfig(
            net=net or NetSettings(), asset_prefix=asset_prefix, memory_mb=memory_mb, max_image_pixels=max_image_pixels
        )
        self._pool: _PoolState | None = None
        self._pending = 0
        self._avg_render_s = 1.0
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(
        cls, render: RenderSettings, net: NetSettings | None = None, *, background_start: bool = True
    ) -> WeasyPrintRenderer:
        return cls(
            background_start=background_start,
            workers=render.weasyprint_workers,
            queue_size=render.queue_size,
            max_timeout_s=render.max_timeout_s,
            max_html_bytes=render.max_html_bytes,
            max_tasks=render.weasyprint_max_tasks,
            memory_mb=render.weasyprint_memory_mb,
            net=net,
            asset_prefix=render.asset_prefix,
            max_image_pixels=render.max_image_pixels,
        )

    # -- lifecycle

    async def start(self) -> None:
        if self._pool is not None:
            return
        if self._starting is None or (self._starting.done() and self._starting.exception() is not None):
            self._starting = asyncio.get_running_loop().create_task(self._start_pool())
        if not self.background_start:
            await asyncio.shield(self._starting)

    async def _ready_pool(self) -> _PoolState:
        if self._pool is None:
            await self.start()
            assert self._starting is not None
            await asyncio.shield(self._starting)
        if self._pool is None:
            raise EngineUnavailable("The WeasyPrint renderer is closed")
        return self._pool

    async def _start_pool(self) -> None:
        pool = _PoolState()
        procs = await asyncio.gather(*(self._spawn_worker() for _ in range(self.size)), return_exceptions=True)
        for proc in procs:
            if isinstance(proc, BaseException):
                for started in pool.all:
                    self._kill(started)
                raise EngineUnavailable(f"WeasyPrint workers could not start: {proc}") from None
            pool.all.add(proc)
            pool.idle.put_nowait(proc)
        self._pool = pool

    async def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            await asyncio.gather(self._starting, return_exceptions=True)
        pool, self._pool = self._pool, None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if pool is None:
            return
        for proc in list(pool.all):
            with contextlib.suppress(OSError):
                proc.conn.close()
        await asyncio.to_thread(self._join_all, list(pool.all))

    def worker_pids(self) -> list[int]:
        return [proc.pid for proc in self._pool.all] if self._pool else []

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
        if options.page_ranges and not _PAGE_RANGES.match(options.page_ranges):
            select_pages(options.page_ranges, 1)  # raises the validation error
        job = {
            "html": html,
            "options": options.model_dump(mode="json"),
            "assets": {url: (asset.content_type, asset.data) for url, asset in (assets or {}).items()},
        }
        timeout_s = min(timeout_s, self.max_timeout_s)
        async with self._slot(deadline) as retry_after:
            started = time.perf_counter()
            data, pages, warnings = await self._run_with_retry(job, timeout_s, deadline, retry_after)
            elapsed = time.perf_counter() - started
        self._avg_render_s = 0.8 * self._avg_render_s + 0.2 * elapsed
        return RenderedPdf(data=data, pages=pages, engine=self.name, render_ms=elapsed * 1000, warnings=tuple(warnings))

    @contextlib.asynccontextmanager
    async def _slot(self, deadline: float | None = None) -> AsyncIterator[int]:
        """Admission, as Chromium's (chromium.ChromiumRenderer._slot): beyond the queue, or a queue too
        long for the request's deadline, QueueFull at once. Yields the Retry-After to use if the deadline
        passes while waiting for a worker."""
        ahead = self._pending - self.size + 1
        retry_after = max(1, math.ceil(self._avg_render_s * max(ahead, 1) / self.size))
        details = {"concurrency": self.size, "queue_size": self.queue_size}
        if self._pending >= self.size + self.queue_size:
            raise QueueFull("Too many renders waiting; retry later", retry_after=retry_after, details=details)
        if deadline is not None and ahead > 0:
            expected_wait = self._avg_render_s * ahead / self.size
            if expected_wait + self._avg_render_s > deadline - time.monotonic():
                raise QueueFull(
                    "The render queue is too long for this request's time limit; retry later",
                    retry_after=retry_after,
                    details={**details, "expected_wait_s": round(expected_wait, 1)},
                )
        self._pending += 1
        try:
            yield retry_after
        finally:
            self._pending -= 1

    async def _run_with_retry(
        self, job: dict[str, Any], timeout_s: float, request_deadline: float | None = None, retry_after: int = 1
    ) -> tuple[bytes, int, list[str]]:
        pool = await self._ready_pool()
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            # Waiting for a worker counts as queueing, not render time - but against a sync request's deadline.
            remaining = None if request_deadline is None else request_deadline - time.monotonic()
            try:
                async with asyncio.timeout(remaining):
                    proc = await pool.idle.get()
            except TimeoutError:
                raise QueueFull(
                    "No render worker freed up before this request's time limit; retry later",
                    retry_after=retry_after,
                    details={"concurrency": self.size, "queue_size": self.queue_size},
                ) from None
            if deadline is None:
                deadline = loop.time() + timeout_s
                if request_deadline is not None:
                    deadline = min(deadline, loop.time() + request_deadline - time.monotonic())
            try:
                return await self._run(pool, proc, job, deadline, timeout_s)
            except _WorkerDied:
                log.warning("a WeasyPrint worker died during a render (attempt %d)", attempt)
        raise RenderFailed("The WeasyPrint worker crashed twice while rendering this document")

    async def _run(
        self, pool: _PoolState, proc: _Proc, job: dict[str, Any], deadline: float, timeout_s: float
    ) -> tuple[bytes, int, list[str]]:
        try:
            proc.conn.send(job)
            async with asyncio.timeout_at(deadline):
                reply = await _receive(proc.conn)
        except asyncio.CancelledError:
            # The caller is gone: its layout stops now (only the worker's end stops it), not when done.
            self._replace(pool, proc)
            raise
        except TimeoutError:
            # Nothing but the process's end stops a layout in progress.
            self._replace(pool, proc)
            raise RenderTimeout(
                f"Rendering took longer than {timeout_s:g} s", details={"timeout_s": timeout_s}
            ) from None
        except (EOFError, OSError, BrokenPipeError):
            self._replace(pool, proc)
            raise _WorkerDied from None
        proc.jobs += 1
        if proc.jobs >= self.max_tasks:
            self._replace(pool, proc, graceful=True)
        else:
            pool.idle.put_nowait(proc)
        if reply[0] == "ok":
            return reply[1], reply[2], list(reply[3]) if len(reply) > 3 else []
        raise rebuild(reply[1], reply[2], reply[3])

    # -- workers

    async def _spawn_worker(self) -> _Proc:
        ours, theirs = socket.socketpair()
        code = f"from pressroom.rendering.weasyprint import worker_entry; worker_entry({theirs.fileno()})"
        process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        conn = Connection(ours.detach())
        try:
            conn.send_bytes(pickle.dumps(self.config))
            async with asyncio.timeout(WORKER_START_TIMEOUT_S):
                hello = await _receive(conn)
        except (TimeoutError, EOFError, OSError) as exc:
            process.kill()
            conn.close()
            raise EngineUnavailable(f"a WeasyPrint worker did not start: {type(exc).__name__}") from None
        return _Proc(process=process, conn=conn, pid=int(hello[1]))

    def _replace(self, pool: _PoolState, proc: _Proc, *, graceful: bool = False) -> None:
        pool.all.discard(proc)
        if graceful:
            with contextlib.suppress(OSError):
                proc.conn.close()  # the worker's recv() sees EOF and it exits
        else:
            self._kill(proc)
        self._spawn(self._add_worker(pool, proc))

    async def _add_worker(self, pool: _PoolState, old: _Proc) -> None:
        try:
            await asyncio.to_thread(old.process.wait, 5)
        except subprocess.TimeoutExpired:
            self._kill(old)
            await asyncio.to_thread(old.process.wait, 5)
        while self._pool is pool:
            try:
                proc = await self._spawn_worker()
            except EngineUnavailable:
                log.exception("could not replace a WeasyPrint worker; retrying")
                await asyncio.sleep(1)
                continue
            if self._pool is not pool:
                self._kill(proc)
                return
            pool.all.add(proc)
            pool.idle.put_nowait(proc)
            return

    @staticmethod
    def _kill(proc: _Proc) -> None:
        with contextlib.suppress(OSError):
            proc.conn.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)

    @staticmethod
    def _join_all(procs: list[_Proc]) -> None:
        for proc in procs:
            try:
                proc.process.wait(5)
            except subprocess.TimeoutExpired:
                WeasyPrintRenderer._kill(proc)
                proc.process.wait(5)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _receive(conn: Connection) -> Any:
    """``conn.recv()`` without a thread: wait until the pipe is readable on the event loop."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    return conn.recv()
