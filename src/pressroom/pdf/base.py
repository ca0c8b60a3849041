"""What a PDF engine can do, named by capability (like ``rendering/base.py``'s Renderer).

Every PDF operation is one :class:`pipeline.Plan`: its sources, the one operation asked for and the steps of
``options.pdf`` chained in the pipeline's documented order. An engine runs plans, renders a page as an image
and opens a PKCS#12 archive: the three kinds of untrusted work the service hands over. The service builds
plans and never parses a PDF itself.

Implementations: :class:`pressroom.pdf.sandboxed.SandboxedPdfEngine` (the server's: warm, memory-limited
worker processes with a deadline) and :class:`pressroom.pdf.inprocess.InProcessPdfEngine` (tests and tools).
"""

from __future__ import annotations

from typing import Any, Protocol

from pressroom.pdf.pipeline import Plan, Result


class PdfEngine(Protocol):
    def start(self) -> None:
        """Get ready for work now (warm processes), so that the first operation pays no start-up."""

    def close(self) -> None: ...

    def process(self, plan: Plan) -> Result:
        """Run ``plan`` (merge, split, embed, metadata, watermark, PDF/A or Factur-X, compress, sign, encrypt:
        the steps it asks for) and return the written PDF with its page count and report."""
        ...

    def preview_page(self, data: bytes, page: int, dpi: int, password: str | None, max_decoded_bytes: int) -> bytes:
        """Page ``page`` (1-based) of a PDF as PNG at ``dpi``; what the page's streams inflate to is capped
        by ``max_decoded_bytes``."""
        ...

    def describe_certificate(self, pkcs12: bytes, password: bytes | None, *, timeout_s: float) -> dict[str, Any]:
        """The public facts of a PKCS#12 archive's certificate (subject, issuer, serial, validity...).

        Opening one is untrusted work: the archive chooses its own key-derivation iteration count."""
        ...
