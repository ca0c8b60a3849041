"""Opening untrusted PDFs: error mapping, limits, and the sandbox processes that contain the parsers.

Every PDF a tenant sends (upload, URL, stored document) is parsed by qpdf (pikepdf), PDFium or pyHanko.
Those are C/C++ parsers fed hostile bytes, so they run in a small pool of warm worker processes, each
with an address-space limit (``RLIMIT_AS``) and a wall-clock deadline enforced by the parent:

* a decompression bomb or an allocation storm hits the memory limit -> ``MemoryError`` inside the
  worker (413 ``PDF_LIMIT_EXCEEDED``), or the worker dies and is replaced (same answer);
* a parser loop hits the deadline -> the parent kills that one worker and starts a fresh one
  (422 ``PDF_TIMEOUT``);
* a stream that inflates beyond ``max_decoded_bytes`` (a Flate bomb: 10 KB that inflate to 4 GB) is
  refused before any step decodes it (413 ``PDF_LIMIT_EXCEEDED``, ``details.limit = "decoded_bytes"``):
  :func:`check_decoded_size` measures what the document's streams inflate to, counting and discarding
  the output as it goes, and stops at the limit. The memory limit alone would not do it: qpdf decodes
  streams piecewise, so a bomb recompressed by qpdf never exceeds it - it just runs for minutes;

* the server process and its other jobs never notice.

Workers are forked from a forkserver that has already imported the PDF stack, so replacing one costs
milliseconds and a warm worker adds only the pickling of the bytes to each call - or of a file name, for
files of the local blob store, which the worker maps itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import multiprocessing
import os
import queue
import re
import resource
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, BinaryIO, TypeVar

import pikepdf
from PIL import Image

from pressroom.core.errors import (
    InvalidPdf,
    PdfEncrypted,
    PdfLimitExceeded,
    PdfTimeout,
    PressroomError,
    WrongPassword,
    rebuild,
)

T = TypeVar("T")
U = TypeVar("U")

# Modules the forkserver imports once, so that each forked worker starts warm.
_PRELOAD = ["pressroom.pdf.pipeline"]


def open_pdf(
    data: bytes | os.PathLike[str] | BinaryIO, password: str | None = None, *, max_pages: int | None = None
) -> pikepdf.Pdf:
    """Open ``data`` (the bytes, or a local file holding them: its path or an open file, which the document
    then owns) with qpdf; every failure becomes a stable 4xx error. A file is read by qpdf itself, on
    demand, so the bytes are never copied into Python."""
    source = _Source(data)
    try:
        return _checked(source, password, max_pages)
    except BaseException:
        source.close()
        raise


def _checked(source: _Source, password: str | None, max_pages: int | None) -> pikepdf.Pdf:
    if b"%PDF-" not in source.head(1024):  # the spec allows leading junk; qpdf would "recover" anything
        raise InvalidPdf("The file is not a PDF (no %PDF- header)")
    try:
        pdf = _open(source, password)
    except pikepdf.PasswordError:
        if password:
            raise WrongPassword("The password does not open this PDF") from None
        raise PdfEncrypted("The PDF is encrypted: give its password") from None
    except InvalidPdf:
        raise
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        if limit_hit(exc):  # an object or cross-reference stream that inflates beyond qpdf's per-stream limit
            raise decoded_limit_error(None) from None
        raise InvalidPdf(f"The PDF cannot be read: {_short(exc)}", details={"reason": _short(exc)}) from None
    try:
        count = len(pdf.pages)
    except (pikepdf.PdfError, RuntimeError, RecursionError) as exc:
        pdf.close()
        raise InvalidPdf(f"The PDF page tree is broken: {_short(exc)}", details={"reason": _short(exc)}) from None
    if count == 0:
        pdf.close()
        raise InvalidPdf("The PDF has no pages")
    if max_pages is not None and count > max_pages:
        pdf.close()
        raise PdfLimitExceeded(
            f"The PDF has {count} pages; the limit is {max_pages}",
            details={"limit": "pages", "pages": count, "max_pages": max_pages},
        )
    return pdf


class _Source:
    """The bytes of a PDF, or the local file that holds them: qpdf reads that file through a read-only
    mapping, so its bytes are never copied into Python. (The file's pages count against the worker's
    address space limit, as the bytes themselves would.)"""

    def __init__(self, data: bytes | os.PathLike[str] | BinaryIO) -> None:
        self.data: bytes | None = None
        self.file: BinaryIO | None = None
        if isinstance(data, bytes):
            self.data = data
        elif isinstance(data, os.PathLike):
            self.file = open(data, "rb")  # noqa: SIM115  # owned by the Pdf
        else:
            self.file = data

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def head(self, size: int) -> bytes:
        if self.file is None:
            return bytes((self.data or b"")[:size])
        return os.pread(self.file.fileno(), size, 0)

    def tail(self, size: int) -> bytes:
        if self.file is None:
            return bytes((self.data or b"")[-size:])
        fd = self.file.fileno()
        return os.pread(fd, size, max(0, os.fstat(fd).st_size - size))

    def open(self, password: str | None, *, recover: bool) -> pikepdf.Pdf:
        if self.file is None:
            target: Any = io.BytesIO(self.data or b"")
            mode = pikepdf.AccessMode.stream
        else:  # read natively from the mapping, not through Python read() calls (twice as slow)
            target, mode = self.file, pikepdf.AccessMode.mmap
        return pikepdf.open(target, password=password or "", attempt_recovery=recover, access_mode=mode)


def _open(source: _Source, password: str | None) -> pikepdf.Pdf:
    """Strict first; qpdf's xref reconstruction only for files that are complete.

    Real-world PDFs often carry slightly wrong xref offsets, which qpdf repairs by scanning the file. A
    file cut short is different: "repairing" it silently drops whatever was lost, so a file without its
    final ``%%EOF`` marker that does not open strictly is refused as truncated.
    """
    try:
        return source.open(password, recover=False)
    except pikepdf.PasswordError:
        raise
    except pikepdf.PdfError as exc:
        if b"%%EOF" not in source.tail(2048):
            raise InvalidPdf(
                "The PDF is truncated (no end-of-file marker) and its cross-reference table is damaged",
                details={"reason": "truncated", "parser": _short(exc)},
            ) from None
    return source.open(password, recover=True)


_STREAM_PREFIX = re.compile(r"^stream <[^>]*>:?\s*")


def _short(exc: BaseException) -> str:
    """The parser's message without qpdf's "stream <_io.BytesIO object at 0x...>" prefix (which names the
    file, for a file)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _STREAM_PREFIX.sub("", text)[:300]


# -- decoded size ------------------------------------------------------------------------------------------
# Filters whose output only an image decoder produces (qpdf leaves them encoded; PDFium and PIL bound them
# by the image's declared size). Filters before them in a chain are decoded and counted.
_IMAGE_CODECS = frozenset({"/DCTDecode", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode"})
_INFLATE_CHUNK = 1 << 20
_QPDF_MAX_LIMIT = 0xFFFFFFFF


class _OverBudget(Exception):
    pass


def apply_qpdf_limits(max_decoded_bytes: int) -> None:
    """qpdf's own per-stream decode limits, as a second line behind :func:`check_decoded_size`: any stream
    qpdf decodes (object and cross-reference streams while opening, content streams for a watermark or
    PDF/A, every stream of a compressing write) stops at ``max_decoded_bytes`` with a "limit exceeded"
    error or warning instead of inflating on. The setting is process-wide: it is meant for the sandbox
    workers, which run one call at a time. qpdf takes a 32-bit value: a larger setting is capped there (the
    measure itself still applies the setting)."""
    limit = min(max_decoded_bytes, _QPDF_MAX_LIMIT)
    pikepdf.settings.set_qpdf_limits(
        flate_max_memory=limit, run_length_max_memory=limit, png_max_memory=limit, tiff_max_memory=limit
    )


def limit_hit(exc: BaseException) -> bool:
    """Whether qpdf failed because one of its decode limits was reached ("PL_Flate memory limit exceeded")."""
    return "limit exceeded" in str(exc).lower()


def decoded_limit_error(max_decoded_bytes: int | None) -> PdfLimitExceeded:
    details: dict[str, Any] = {"limit": "decoded_bytes"}
    if max_decoded_bytes is not None:
        details["max_decoded_bytes"] = max_decoded_bytes
    suffix = f" ({max_decoded_bytes} bytes)" if max_decoded_bytes is not None else ""
    return PdfLimitExceeded(f"The PDF's streams decompress to more than the limit{suffix}", details=details)


def check_decoded_size(
    pdf: pikepdf.Pdf, max_decoded_bytes: int, counted: int = 0, *, streams: Iterable[pikepdf.Object] | None = None
) -> int:
    """Refuse ``pdf`` (413 ``PDF_LIMIT_EXCEEDED``) when its streams inflate to more than ``max_decoded_bytes``
    in total, with ``counted`` bytes already decoded from the request's other documents; returns the new
    running total otherwise. ``streams``: only these (e.g. :func:`page_streams`) instead of every object.

    Run before any step that decodes streams (rendering a preview, recompressing, PDF/A, a watermark).
    Flate chains - what bombs are made of - are inflated here a megabyte at a time and the output is
    counted and dropped, so measuring a 4 GB bomb costs a few megabytes and stops at the limit. Other
    filters are decoded by qpdf, whose per-stream limits (:func:`apply_qpdf_limits`) bound them.
    Unfiltered streams cost no more than the file's own size and are not counted.
    """
    total = counted
    seen: set[tuple[int, int]] = set()
    for obj in pdf.objects if streams is None else streams:
        if not isinstance(obj, pikepdf.Stream):
            continue
        if obj.objgen in seen:  # pikepdf can list an object twice (one made indirect again): count it once
            continue
        seen.add(obj.objgen)
        filters = _filters(obj)
        decoded = filters[: next((i for i, name in enumerate(filters) if name in _IMAGE_CODECS), len(filters))]
        if not decoded:
            continue
        remaining = max_decoded_bytes - total
        try:
            if all(name in ("/FlateDecode", "/Fl") for name in decoded):
                total += _inflated_size(obj.read_raw_bytes(), len(decoded), remaining)
            else:
                total += _qpdf_decoded_size(obj)
        except _OverBudget:
            raise decoded_limit_error(max_decoded_bytes) from None
        if total > max_decoded_bytes:
            raise decoded_limit_error(max_decoded_bytes)
    return total


# Keys that lead from what a page draws to other pages (the page tree, link and action targets, threads,
# annotation back-references): not followed, so that one page's measure is not the whole document's.
_ELSEWHERE = frozenset({"/Parent", "/P", "/Dest", "/D", "/A", "/AA", "/Next", "/Prev", "/B", "/IRT"})


def page_streams(pdf: pikepdf.Pdf, index: int) -> list[pikepdf.Object]:
    """The streams page ``index`` (0-based) can make a renderer decode: its contents and everything its
    resources (inherited from the page tree too), annotations and the form's default resources reach -
    PDFium draws forms. A key missed here leaves that stream to the sandbox's memory and time limits."""
    page = pdf.pages[index].obj
    roots: list[pikepdf.Object] = [page]
    node: pikepdf.Object | None = page
    for _ in range(64):  # inherited /Resources: the nearest ancestor that has them
        if node is None or "/Resources" in node:
            if node is not None and node is not page:
                roots.append(node.Resources)
            break
        parent = node.get("/Parent")
        node = parent if isinstance(parent, pikepdf.Dictionary) else None
    form = pdf.Root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary) and "/DR" in form:
        roots.append(form.DR)
    found: list[pikepdf.Object] = []
    seen: set[tuple[int, int]] = set()
    stack = roots
    while stack:
        obj = stack.pop()
        if not isinstance(obj, pikepdf.Object):  # numbers, booleans... come back as Python values
            continue
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            found.append(obj)
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            stack.extend(value for key, value in obj.items() if key not in _ELSEWHERE)
        elif isinstance(obj, pikepdf.Array):
            stack.extend(obj)
    return found


def _filters(stream: pikepdf.Stream) -> list[str]:
    value = stream.get("/Filter")
    if value is None:
        return []
    if isinstance(value, pikepdf.Array):
        return [str(item) for item in value if isinstance(item, pikepdf.Name)]
    return [str(value)] if isinstance(value, pikepdf.Name) else []


def _inflated_size(raw: bytes, layers: int, budget: int) -> int:
    """What ``layers`` nested Flate filters make of ``raw``, counted without keeping it; :class:`_OverBudget`
    past ``budget``. Corrupt data counts what inflated before the error (qpdf would stop there too)."""
    decoders = [zlib.decompressobj() for _ in range(layers)]
    total = 0

    def feed(level: int, data: bytes) -> None:
        nonlocal total
        decoder = decoders[level]
        pending = data
        while not decoder.eof:
            out = decoder.decompress(pending, _INFLATE_CHUNK)
            pending = decoder.unconsumed_tail
            if out:
                if level == layers - 1:
                    total += len(out)
                    if total > budget:
                        raise _OverBudget
                else:
                    feed(level + 1, out)
            if not pending and len(out) < _INFLATE_CHUNK:  # input used up and no output left in zlib
                return

    with contextlib.suppress(zlib.error):
        feed(0, raw)
    return total


def _qpdf_decoded_size(stream: pikepdf.Stream) -> int:
    """Decoded size of a chain with other filters (LZW, RunLength, ASCII85...), decoded by qpdf under its
    per-stream limits (qpdf leaves a chain it cannot decode entirely, e.g. one ending in DCT, as it is)."""
    try:
        return len(stream.read_bytes(pikepdf.StreamDecodeLevel.generalized))
    except pikepdf.PikepdfError as exc:
        if limit_hit(exc):
            raise _OverBudget from None
        return 0  # undecodable: no step will expand it either


# -- the sandbox ---------------------------------------------------------------------------------------
def reported(exc: Exception) -> tuple[str, str, Any]:
    """(code, message, details) of the error a PDF call that raised ``exc`` reports: what a sandbox worker
    sends back, and what the in-process engine raises (``core.errors.rebuild``), so both answer alike."""
    if isinstance(exc, PressroomError):
        return exc.code, exc.message, exc.details
    if isinstance(exc, MemoryError):
        return PdfLimitExceeded.code, "Processing the PDF exceeds the memory limit", {"limit": "memory"}
    if isinstance(exc, RecursionError):
        return InvalidPdf.code, "The PDF structure is nested too deeply", {"reason": "recursion"}
    if isinstance(exc, Image.DecompressionBombError):  # an image declaring more pixels than PIL decodes
        return PdfLimitExceeded.code, f"An image is too large: {_short(exc)}", {"limit": "pixels"}
    if isinstance(exc, pikepdf.PikepdfError):  # incl. QpdfRuntimeError, which is not a PdfError
        if limit_hit(exc):
            error = decoded_limit_error(None)
            return error.code, error.message, error.details
        return InvalidPdf.code, f"The PDF cannot be processed: {_short(exc)}", None
    # reported to the job as an internal error with its type, never swallowed
    return "INTERNAL_ERROR", f"{type(exc).__name__}: {_short(exc)}", None


def _serve(conn: Connection, memory_limit_bytes: int) -> None:
    """Worker loop: receive (function, args), send back ("ok", result) or ("error", code, message, details)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    keep_freed_memory()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        function, args = message
        try:
            reply: tuple[Any, ...] = ("ok", function(*args))
        except Exception as exc:
            reply = ("error", *reported(exc))
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("error", PdfLimitExceeded.code, "The result exceeds the memory limit", {"limit": "memory"}))


# glibc malloc options (mallopt): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_ALLOCATOR_KEEPS_BYTES = 32 * 1024 * 1024


def keep_freed_memory() -> None:
    """Let this process's allocator reuse the memory of its last PDF call instead of returning it to the kernel.

    Every call allocates buffers of the documents' size (sources, the written file, the reply). By default
    glibc maps each large one afresh and unmaps it when freed, so each call pays a page fault per 4 kB
    touched - over a millisecond per MB on virtualised hosts. Served from the heap and kept there (up to
    32 MB beyond the live data), they are reused at no cost. In a worker, the address space limit still
    bounds it all."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: its defaults stay
        return
    mallopt(_M_MMAP_THRESHOLD, _ALLOCATOR_KEEPS_BYTES)
    mallopt(_M_TRIM_THRESHOLD, 2 * _ALLOCATOR_KEEPS_BYTES)


class _Worker:
    def __init__(self, context: BaseContext, memory_limit_bytes: int) -> None:
        self.conn, child = multiprocessing.Pipe(duplex=True)
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child, memory_limit_bytes), daemon=True, name="pressroom-pdf-sandbox"
        )
        self.process.start()
        child.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.conn.close()


class Sandbox:
    """A pool of warm, memory-limited worker processes; each call has a deadline."""

    def __init__(self, *, workers: int = 0, memory_limit_mb: int = 1024, timeout_s: float = 60.0) -> None:
        self.size = workers or os.cpu_count() or 2
        self.memory_limit_bytes = memory_limit_mb * 1024 * 1024
        self.timeout_s = timeout_s
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._context: BaseContext | None = None
        self._closed = False

    def _ctx(self) -> BaseContext:
        if self._context is None:
            # forkserver: workers are forked from a clean single-threaded process, not from the server
            # (whose threads - the event loop, Playwright - must not be forked).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            self._context = context
        return self._context

    def start(self) -> None:
        """Start every worker now (the server calls this at boot, so the first request is warm)."""
        with self._lock:
            while len(self._all) < self.size:
                worker = _Worker(self._ctx(), self.memory_limit_bytes)
                self._all.add(worker)
                self._idle.put(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()

    def _acquire(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the PDF sandbox is closed")
            if self._idle.empty() and len(self._all) < self.size:
                worker = _Worker(self._ctx(), self.memory_limit_bytes)
                self._all.add(worker)
                return worker
        return self._idle.get()

    def _release(self, worker: _Worker) -> None:
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            if self._closed:
                return
            fresh = _Worker(self._ctx(), self.memory_limit_bytes)
            self._all.add(fresh)
        self._idle.put(fresh)

    def run(self, function: Callable[..., T], *args: Any, timeout_s: float | None = None) -> T:
        """Run ``function(*args)`` (a module-level function) in a worker; errors come back as raised."""
        result, _ = self.run_alongside(function, args, _nothing, timeout_s=timeout_s)
        return result

    def run_alongside(
        self,
        function: Callable[..., T],
        args: tuple[Any, ...],
        alongside: Callable[[], U],
        *,
        timeout_s: float | None = None,
    ) -> tuple[T, U]:
        """:meth:`run`, and ``alongside()`` in this thread while the worker works (on another core).

        In this thread rather than in another one: a second thread would hold the GIL while this one
        needs it to send the call and to take the answer, and Python hands the GIL over only every
        switch interval (5 ms)."""
        deadline = timeout_s or self.timeout_s
        worker = self._acquire()
        started = time.monotonic()
        try:
            worker.conn.send((function, args))
            try:
                beside = alongside()
            except BaseException:
                self._replace(worker)  # its answer would be read by the next call: never reuse it
                raise
            if not worker.conn.poll(max(0.0, deadline - (time.monotonic() - started))):
                self._replace(worker)
                raise PdfTimeout(
                    f"The PDF operation did not finish in {deadline:g}s",
                    details={"limit": "time", "timeout_s": deadline},
                )
            reply = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            # The worker died (killed by the kernel, or aborted on allocation failure): that input is the
            # cause, the next call gets a fresh worker.
            self._replace(worker)
            raise PdfLimitExceeded(
                "Processing the PDF exceeded the sandbox limits",
                details={"limit": "memory", "elapsed_s": round(time.monotonic() - started, 3)},
            ) from None
        except PdfTimeout:
            raise
        except BaseException:
            self._replace(worker)
            raise
        self._release(worker)
        if reply[0] == "ok":
            result: T = reply[1]
            return result, beside
        _, code, message, details = reply
        raise rebuild(code, message, details)


def _nothing() -> None:
    return None
