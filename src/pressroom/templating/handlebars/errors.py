"""Template errors. Both carry 1-based ``line``/``column`` (also in ``details`` and in the message)."""

from __future__ import annotations

from typing import Any

from pressroom.core.errors import TemplateRenderFailed, TemplateSyntaxFailed, TemplateTooLarge

__all__ = ["CompileBudgetExceeded", "TemplateLimitExceeded", "TemplateRuntimeError", "TemplateSyntaxError"]


def _where(line: int, column: int, template: str | None) -> str:
    place = f"line {line}, column {column}"
    return f"{place} of partial {template!r}" if template else place


class TemplateSyntaxError(TemplateSyntaxFailed):
    """The template (or a partial) does not parse: bad token, unclosed or mismatched block..."""

    def __init__(self, message: str, *, line: int, column: int, template: str | None = None) -> None:
        self.reason = message
        self.line = line
        self.column = column
        self.template = template
        super().__init__(f"{message} ({_where(line, column, template)})", details={"line": line, "column": column})


class TemplateRuntimeError(TemplateRenderFailed):
    """Rendering failed: missing partial or helper, a helper error, or a limit (size, time, depth)."""

    def __init__(self, message: str, *, line: int, column: int, template: str | None = None) -> None:
        self.reason = message
        self.line = line
        self.column = column
        self.template = template
        super().__init__(f"{message} ({_where(line, column, template)})", details={"line": line, "column": column})


class TemplateLimitExceeded(TemplateTooLarge):
    """The template is refused before or while compiling: too many tags, or compiling took longer than the
    budget. ``details.limit`` says which (``tags``, ``compile_time``); 422 ``TEMPLATE_TOO_LARGE``."""

    def __init__(self, message: str, *, limit: str, template: str | None = None, **details: Any) -> None:
        self.limit = limit
        self.template = template
        where = f" (partial {template!r})" if template else ""
        info: dict[str, Any] = {"limit": limit, **details}
        if template:
            info["partial"] = template
        super().__init__(message + where, details=info)


class CompileBudgetExceeded(TemplateLimitExceeded):
    """Compiling (lexing + parsing) ran past its deadline; the position reached is in the details."""

    def __init__(self, *, line: int, column: int, template: str | None = None, budget_s: float | None = None) -> None:
        self.line = line
        self.column = column
        budget = f" of {budget_s:g} s" if budget_s is not None else ""
        super().__init__(
            f"Compiling the template took longer than its time budget{budget}; stopped at line {line}, column {column}",
            limit="compile_time",
            template=template,
            line=line,
            column=column,
        )
