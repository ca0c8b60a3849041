"""Template errors. Both carry 1-based ``line``/``column`` (also in ``details`` and in the message)."""

from __future__ import annotations

from pressroom.core.errors import TemplateRenderFailed, TemplateSyntaxFailed

__all__ = ["TemplateRuntimeError", "TemplateSyntaxError"]


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
