"""generate / transform: Handlebars + data -> full HTML document -> PDF through the render engine."""

from __future__ import annotations

import base64
import logging
from functools import lru_cache
from typing import Any, Protocol

from pressroom.assets.service import AssetService, RenderAssets
from pressroom.config import Settings
from pressroom.core.errors import TemplateNotFound, ValidationFailed
from pressroom.core.filenames import safe_filename
from pressroom.jobs.operations import JobContext, Output
from pressroom.rendering.base import AssetMap, PageOptions, PdfAttachment, RenderedPdf, WaitExpression
from pressroom.rendering.deadline import current_sync_request, deadline_for
from pressroom.rendering.frameworks import TAILWIND_READY, head_tags
from pressroom.rendering.html import wrap_document
from pressroom.templates.schemas import DocumentOptions, check_engine_features
from pressroom.templates.service import TemplateService
from pressroom.templating import handlebars

log = logging.getLogger(__name__)


class PdfRenderer(Protocol):
    """The synchronous face of the render engines (rendering.registry.EngineRegistry)."""

    def resolve(self, requested: str | None) -> str: ...

    def render_pdf(
        self,
        html: str,
        options: PageOptions,
        *,
        timeout_s: float,
        engine: str | None = None,
        assets: AssetMap | None = None,
        deadline: float | None = None,
    ) -> RenderedPdf: ...


class PdfFinisher(Protocol):
    """Post-processing of a rendered PDF: ``options.pdf`` and the TEST mark of test keys
    (``pdfops.finishing.PdfFinishing``). Returns the bytes, their pages and the report; None pages and
    report when there was nothing to do."""

    def finish(
        self, ctx: JobContext, data: bytes, raw_options: dict[str, Any] | None
    ) -> tuple[bytes, int | None, dict[str, Any] | None]: ...


# Compiled templates are immutable and thread-safe: a stored template is parsed once, not per document.
# Only sources up to this size are kept, so the cache holds at most 256 x 256 KiB.
_CACHED_SOURCE_CHARS = 256 * 1024


@lru_cache(maxsize=256)
def _compiled(source: str, limits: handlebars.Limits) -> handlebars.Template:
    # Compiled under the render's limits (tag count, time budget): a transform's raw HTML is never stored,
    # so this is its only check.
    return handlebars.compile(source, limits=limits)


class DocumentGenerator:
    """The generate and transform operations: render (:class:`HtmlToPdf`), then finish (``options.pdf``)."""

    def __init__(self, templates: TemplateService, html: HtmlToPdf, finisher: PdfFinisher | None = None) -> None:
        self.templates = templates
        self.html = html  # shared with the PDF operations' template sources
        self.finisher = finisher  # None: rendered bytes are answered as they are

    def generate(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        template = self.templates.get(ctx.account_id, request["template_id"])
        if template.kind != "html":
            raise TemplateNotFound(f"Template {template.id} is not an HTML template")
        options = {**(template.options or {}), **request.get("options", {})}  # a stored null reads as {}
        pdf = self.html.render(
            template.body, template.css, request.get("data") or {}, options, account_id=ctx.account_id
        )
        filename = safe_filename(request.get("filename"), template.name)
        return self._finish(ctx, pdf, options.get("pdf"), filename, template_id=template.id)

    def transform(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        pdf = self.html.render(
            request["html"],
            request.get("css", ""),
            request.get("data") or {},
            request.get("options", {}),
            account_id=ctx.account_id,
        )
        filename = safe_filename(request.get("filename"), "document")
        return self._finish(ctx, pdf, request.get("options", {}).get("pdf"), filename)

    def _finish(
        self,
        ctx: JobContext,
        pdf: RenderedPdf,
        pdf_options: dict[str, Any] | None,
        filename: str,
        template_id: str | None = None,
    ) -> Output:
        if self.finisher is None:
            return Output(data=pdf.data, filename=filename, pages=pdf.pages, template_id=template_id)
        data, pages, report = self.finisher.finish(ctx, pdf.data, pdf_options)
        return Output(
            data=data,
            filename=filename,
            pages=pages if pages is not None else pdf.pages,
            template_id=template_id,
            report=report,
        )


class HtmlToPdf:
    """Handlebars -> HTML -> PDF through the render engines, with an account's assets and fonts.

    Its own object (not part of the generator) because template sources of the PDF operations and the CLI
    render through it too, and the generator's finishing is built from those sources: no cycle."""

    def __init__(self, settings: Settings, renderer: PdfRenderer, assets: AssetService | None = None) -> None:
        self.settings = settings
        self.renderer = renderer
        self.assets = assets
        self.limits = handlebars.Limits(
            max_output_chars=settings.templates.max_output_chars,
            time_budget=settings.templates.time_budget_s,
            max_tags=settings.templates.max_tags,
        )

    def render(
        self,
        body: str,
        css: str,
        data: dict[str, Any],
        raw_options: dict[str, Any],
        *,
        account_id: str | None = None,
    ) -> RenderedPdf:
        """Handlebars -> HTML -> PDF. With ``account_id``, ``asset:NAME`` references and uploaded fonts of
        that account are resolved (without it they are left as written)."""
        options = DocumentOptions.model_validate(raw_options)
        render = self.settings.render
        engine = self.renderer.resolve(options.engine or render.default_engine)
        locale = options.locale or self.settings.templates.locale
        timezone = options.timezone or "UTC"
        html = self._handlebars(body, data, locale, timezone)
        page = PageOptions.model_validate(
            options.model_dump(exclude={"engine", "framework", "fonts", "locale", "timezone", "pdf"})
        )
        try:
            check_engine_features(engine, options.framework, page)
        except ValueError as exc:
            raise ValidationFailed(str(exc), details={"field": "options.engine", "engine": engine}) from None
        if page.header_html:
            page.header_html = self._handlebars(page.header_html, data, locale, timezone)
        if page.footer_html:
            page.footer_html = self._handlebars(page.footer_html, data, locale, timezone)
        files: AssetMap = {}
        head = head_tags(options.framework, render.asset_prefix)
        if self.assets is not None and account_id is not None:
            attached = [f"asset:{item.asset}" for item in page.attachments if item.asset]
            found = self.assets.for_render(
                account_id, [html, css, page.header_html, page.footer_html, *attached], options.fonts
            )
            html, css = found.rewrite(html), found.rewrite(css)
            self._rewrite_bands(page, found, engine)
            page.attachments = [_inline_attachment(item, found) for item in page.attachments]
            files = found.files
            if found.fonts:
                head += f"<style>{found.font_css}</style>"
        if options.framework == "tailwind":
            page.wait_for = _after_tailwind(page.wait_for)
        timeout = min(page.timeout_s or render.timeout_s, render.max_timeout_s)
        document = wrap_document(html, css, head_start=head)
        # A sync request's deadline counts from its arrival: queueing for the engine is part of its budget.
        pdf = self.renderer.render_pdf(
            document, page, timeout_s=timeout, engine=engine, assets=files, deadline=deadline_for(timeout)
        )
        if pdf.warnings:
            log.warning("render warnings: %s", "; ".join(pdf.warnings))
            request = current_sync_request()
            if request is not None:
                request.warnings.extend(pdf.warnings)
        return pdf

    @staticmethod
    def _rewrite_bands(page: PageOptions, found: RenderAssets, engine: str) -> None:
        # Chromium's bands load nothing: their files and fonts become data: URLs. WeasyPrint's running
        # elements are part of the document and load like it.
        rewrite = found.rewrite_band if engine == "chromium" else found.rewrite
        if page.header_html:
            page.header_html = rewrite(page.header_html)
        if page.footer_html:
            page.footer_html = rewrite(page.footer_html)

    def _handlebars(self, source: str, data: dict[str, Any], locale: str, timezone: str) -> str:
        limits = self.limits
        if len(source) <= _CACHED_SOURCE_CHARS:
            template = _compiled(source, limits)
        else:
            template = handlebars.compile(source, limits=limits)
        return template.render(data, locale=locale, timezone=timezone, limits=self.limits)


def _inline_attachment(item: PdfAttachment, found: RenderAssets) -> PdfAttachment:
    if item.asset is None:
        return item
    data = found.files[found.urls[item.asset]].data
    return PdfAttachment(
        filename=item.filename, content_base64=base64.b64encode(data).decode("ascii"), description=item.description
    )


def _after_tailwind(wait: Any) -> Any:
    """Tailwind's browser build styles the page asynchronously: print only once it has (then as asked)."""
    if wait in ("load", "networkidle"):
        return WaitExpression(expression=TAILWIND_READY)
    if isinstance(wait, WaitExpression):
        return WaitExpression(expression=f"({TAILWIND_READY}) && ({wait.expression})")
    return wait
