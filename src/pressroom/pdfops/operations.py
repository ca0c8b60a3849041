"""The PDF operations as jobs (merge, split, encrypt, compress, embed, metadata, watermark, pdfa, facturx,
sign): a job's request -> a plan (the operation, then its ``options.pdf``) -> the engine -> the job's output
with the operation's report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pressroom.config import PdfSettings
from pressroom.core.filenames import safe_filename
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.pdf.base import PdfEngine
from pressroom.pdfops.plans import PlanBuilder
from pressroom.pdfops.schemas import OPERATION_MODELS
from pressroom.pdfops.sources import DocumentReader, PdfSources

DEFAULT_FILENAMES = {
    "merge": "merged",
    "split": "split",
    "encrypt": "encrypted",
    "compress": "compressed",
    "embed": "embedded",
    "metadata": "document",
    "watermark": "watermarked",
    "pdfa": "pdfa",
    "facturx": "factur-x",
    "sign": "signed",
}


class PdfOperations:
    def __init__(
        self,
        limits: PdfSettings,
        plans: PlanBuilder,
        sources: PdfSources,
        documents: DocumentReader,
        engine: PdfEngine,
    ) -> None:
        self.limits = limits
        self.plans = plans
        self.sources = sources
        self.documents = documents
        self.engine = engine

    def register(self, registry: OperationRegistry) -> None:
        for name in OPERATION_MODELS:
            registry.register(name, self._operation(name))

    def _operation(self, name: str) -> Callable[[JobContext, dict[str, Any]], Output]:
        def run(ctx: JobContext, request: dict[str, Any]) -> Output:
            return self.execute(name, ctx, request)

        return run

    def execute(self, name: str, ctx: JobContext, request: dict[str, Any]) -> Output:
        body = dict(request)
        uploads = self.sources.uploads(body.pop("uploads", []))
        model = OPERATION_MODELS[name].model_validate(body)
        plan = self.plans.for_operation(model, ctx.account_id, uploads, test_mode=ctx.key_mode == "test")
        options = model.options.pdf
        if options is not None:
            self.plans.apply_options(plan, options, ctx.account_id, uploads, overriding=False)
        result = self.engine.process(plan)
        uploads.delete()  # the output exists; the job no longer needs its inputs
        filename = safe_filename(model.options.filename, DEFAULT_FILENAMES[name])
        report = {"operation": name, **result.report}
        return Output(data=result.data, filename=filename, pages=result.pages, report=report)

    def preview(self, account_id: str, document_id: str, page: int, dpi: int, password: str | None) -> bytes:
        """A stored document's page as PNG."""
        _document, data = self.documents.read(account_id, document_id)
        return self.engine.preview_page(data, page, dpi, password, self.limits.max_decoded_bytes)
