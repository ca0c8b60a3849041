"""``options.pdf`` and the TEST mark of test keys, applied to a PDF generate or transform just rendered.

Built before the document generator and given to it: the generator never reaches the PDF operations."""

from __future__ import annotations

from typing import Any

from pressroom.jobs.operations import JobContext
from pressroom.pdf import pipeline
from pressroom.pdf.base import PdfEngine
from pressroom.pdfops.plans import PlanBuilder
from pressroom.pdfops.schemas import PdfOptions
from pressroom.pdfops.sources import PdfSources


class PdfFinishing:
    def __init__(self, plans: PlanBuilder, sources: PdfSources, engine: PdfEngine) -> None:
        self.plans = plans
        self.sources = sources
        self.engine = engine

    def finish(
        self, ctx: JobContext, data: bytes, raw_options: dict[str, Any] | None
    ) -> tuple[bytes, int | None, dict[str, Any] | None]:
        """The finished bytes, their pages and the report; the bytes unchanged (with None pages and no
        report) when there is nothing to do, so live keys without options pay nothing."""
        test_mode = ctx.key_mode == "test"
        if not raw_options and not test_mode:
            return data, None, None
        options = PdfOptions.model_validate(raw_options or {})
        plan = self.plans.empty([pipeline.SourcePdf(data, label="rendered")], test_mode=test_mode)
        self.plans.apply_options(plan, options, ctx.account_id, self.sources.uploads([]), overriding=True)
        result = self.engine.process(plan)
        return result.data, result.pages, {"operation": "options.pdf", **result.report}
