"""generate / transform: Handlebars + data -> full HTML document -> PDF through the render engine."""

from __future__ import annotations

import re
from typing import Any, Protocol

from pressroom.config import Settings
from pressroom.core.errors import TemplateNotFound
from pressroom.jobs.operations import JobContext, Output
from pressroom.rendering.base import PageOptions, RenderedPdf
from pressroom.rendering.html import wrap_document
from pressroom.templates.schemas import DocumentOptions
from pressroom.templates.service import TemplateService
from pressroom.templating import handlebars


class PdfRenderer(Protocol):
    """The synchronous face of a render engine (see rendering.host)."""

    def render_pdf(self, html: str, options: PageOptions, *, timeout_s: float) -> RenderedPdf: ...


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str | None, default: str, extension: str = ".pdf") -> str:
    stem = _UNSAFE_FILENAME.sub("_", (name or default)).strip(" ._") or default
    return stem if stem.lower().endswith(extension) else stem + extension


class DocumentGenerator:
    def __init__(self, settings: Settings, templates: TemplateService, renderer: PdfRenderer) -> None:
        self.settings = settings
        self.templates = templates
        self.renderer = renderer
        self.limits = handlebars.Limits(
            max_output_chars=settings.templates.max_output_chars,
            time_budget=settings.templates.time_budget_s,
        )

    def generate(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        template = self.templates.get(ctx.account_id, request["template_id"])
        if template.kind != "html":
            raise TemplateNotFound(f"Template {template.id} is not an HTML template")
        options = {**template.options, **request.get("options", {})}
        pdf = self.render(template.body, template.css, request.get("data") or {}, options)
        filename = safe_filename(request.get("filename"), template.name)
        return Output(data=pdf.data, filename=filename, pages=pdf.pages, template_id=template.id)

    def transform(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        pdf = self.render(
            request["html"], request.get("css", ""), request.get("data") or {}, request.get("options", {})
        )
        return Output(data=pdf.data, filename=safe_filename(request.get("filename"), "document"), pages=pdf.pages)

    def render(self, body: str, css: str, data: dict[str, Any], raw_options: dict[str, Any]) -> RenderedPdf:
        options = DocumentOptions.model_validate(raw_options)
        locale = options.locale or self.settings.templates.locale
        timezone = options.timezone or "UTC"
        html = self._handlebars(body, data, locale, timezone)
        page = PageOptions.model_validate(options.model_dump(exclude={"engine", "locale", "timezone"}))
        if page.header_html:
            page.header_html = self._handlebars(page.header_html, data, locale, timezone)
        if page.footer_html:
            page.footer_html = self._handlebars(page.footer_html, data, locale, timezone)
        render = self.settings.render
        timeout = min(page.timeout_s or render.timeout_s, render.max_timeout_s)
        return self.renderer.render_pdf(wrap_document(html, css), page, timeout_s=timeout)

    def _handlebars(self, source: str, data: dict[str, Any], locale: str, timezone: str) -> str:
        return handlebars.compile(source).render(data, locale=locale, timezone=timezone, limits=self.limits)
