"""A PDF engine that runs the same pipeline code in the calling thread, without sandbox processes.

For tests and tools only: it has NO isolation (no memory limit, no deadline, a crash of a PDF library takes
the caller down), so it must never handle tenant input in the server. It is the fake of
:class:`pressroom.pdf.base.PdfEngine` in the fast tests: the outcomes (pages, encryption, reports) are the
real pipeline's and errors are translated as a sandbox worker translates them; only the process boundary is
missing. Note that the pipeline sets qpdf's decode limits process-wide (``safeopen.apply_qpdf_limits``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pressroom.core.errors import PressroomError, rebuild
from pressroom.pdf import pipeline
from pressroom.pdf.safeopen import reported
from pressroom.pdf.sign import describe_certificate

T = TypeVar("T")


def _call(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)``, its errors translated as a sandbox worker translates them."""
    try:
        return function(*args)
    except PressroomError:
        raise
    except Exception as exc:
        raise rebuild(*reported(exc)) from exc


class InProcessPdfEngine:
    def start(self) -> None:
        pass  # nothing to warm: the pipeline's libraries are imported with it

    def close(self) -> None:
        pass

    def process(self, plan: pipeline.Plan) -> pipeline.Result:
        return _call(pipeline.run, plan)  # which checks the plan's options are compatible first

    def preview_page(self, data: bytes, page: int, dpi: int, password: str | None, max_decoded_bytes: int) -> bytes:
        png, _width, _height = _call(pipeline.render_preview, data, page, dpi, password, max_decoded_bytes)
        return png

    def describe_certificate(self, pkcs12: bytes, password: bytes | None, *, timeout_s: float) -> dict[str, Any]:
        return _call(describe_certificate, pkcs12, password)  # no deadline here: see the module docstring
