"""A safe Handlebars engine that renders exactly like handlebars.js 4.7.

::

    from pressroom.templating.handlebars import compile, render
    tpl = compile("Hello {{name}}!", partials={"sig": "-- {{team}}"})
    tpl.render({"name": "Ada"})
    render("{{#each items}}{{this}} {{/each}}", {"items": [1, 2]})

Templates are parsed once into a tree and rendered by walking it: no Python code is generated, nothing is
``eval``'d, data is only read through dict keys / list indexes (``__`` names never resolve, callables in the
data are never called). See ``docs/templates.md``.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import CompileBudgetExceeded, TemplateLimitExceeded, TemplateRuntimeError, TemplateSyntaxError
from .jsvalues import SafeString, escape_expression
from .parser import parse
from .runtime import DOC_HELPER, HelperOptions, Limits, LinkedTemplate, link, render_linked

__all__ = [
    "DEFAULT_COMPILE_BUDGET_S",
    "DOC_HELPER",
    "CompileBudgetExceeded",
    "HelperOptions",
    "Limits",
    "SafeString",
    "Template",
    "TemplateLimitExceeded",
    "TemplateRuntimeError",
    "TemplateSyntaxError",
    "compile",
    "escape_expression",
    "render",
]

Helper = Callable[..., Any]

#: What a compile may take when its limits set no ``time_budget`` (the default of ``templates.time_budget_s``):
#: compiling is never unbounded, even where a render is.
DEFAULT_COMPILE_BUDGET_S = 10.0


def _builtin_helpers() -> dict[str, Helper]:
    from pressroom.templating.helpers import DOCUMENT_HELPERS

    return DOCUMENT_HELPERS


class Template:
    """A compiled template. Immutable and thread-safe: ``render`` keeps all its state on the stack."""

    __slots__ = ("_limits", "_linked", "_partials", "source")

    def __init__(
        self,
        source: str,
        linked: LinkedTemplate,
        partials: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.source = source
        self._linked = linked
        self._partials = partials
        self._limits = limits

    def render(
        self,
        data: Any = None,
        *,
        locale: str = "en",
        timezone: str = "UTC",
        limits: Limits | None = None,
    ) -> str:
        """Render with ``data`` (JSON-like). ``locale``/``timezone`` are the defaults of the document helpers
        (formatNumber, formatCurrency, formatDate); ``limits`` overrides the compile-time limits."""
        return render_linked(self._linked, data, self._partials, limits or self._limits, locale, timezone)

    __call__ = render


def compile(
    source: str,
    partials: Mapping[str, str | Template] | None = None,
    helpers: Mapping[str, Helper] | None = None,
    *,
    limits: Limits | None = None,
    strict_partials: bool = False,
) -> Template:
    """Parse ``source`` (and the partials) once; the result renders many times, from any thread.

    A syntax error in the main template raises :class:`TemplateSyntaxError` here. A syntax error in a partial
    is raised when that partial is first rendered (like handlebars.js, which compiles partials lazily), or
    here when ``strict_partials=True``.

    Compiling is bounded like rendering, cheapest check first: more than ``limits.max_tags`` tags in the
    template and its partials is refused before anything is parsed; nesting beyond ``MAX_NESTING`` fails as
    soon as the parser reaches it; and the whole compile runs under ``limits.time_budget`` (the render's
    budget; :data:`DEFAULT_COMPILE_BUDGET_S` if unset). Both limits raise :class:`TemplateLimitExceeded`
    (422 ``TEMPLATE_TOO_LARGE``).
    """
    if not isinstance(source, str):
        raise TypeError("template source must be a str")
    limits = limits or Limits()
    sources = [source, *(p for p in (partials or {}).values() if isinstance(p, str))]
    tags = sum(text.count("{{") for text in sources)  # C speed, and before any parsing
    if tags > limits.max_tags:
        raise TemplateLimitExceeded(
            f"The template has {tags} tags ({{{{...}}}}); the limit is {limits.max_tags}",
            limit="tags",
            tags=tags,
            max_tags=limits.max_tags,
        )
    budget = limits.time_budget if limits.time_budget is not None else DEFAULT_COMPILE_BUDGET_S
    deadline = time.monotonic() + budget
    try:
        return _compile(source, partials, helpers, limits, strict_partials, deadline)
    except CompileBudgetExceeded as exc:  # the lexer knows where it stopped; the budget is known here
        raise CompileBudgetExceeded(line=exc.line, column=exc.column, template=exc.template, budget_s=budget) from None


def _compile(
    source: str,
    partials: Mapping[str, str | Template] | None,
    helpers: Mapping[str, Helper] | None,
    limits: Limits,
    strict_partials: bool,
    deadline: float,
) -> Template:
    user = dict(helpers or {})
    for name, fn in user.items():
        if not callable(fn):
            raise TypeError(f"helper {name!r} is not callable")
    effective = {**_builtin_helpers(), **user}
    user_names = frozenset(user)
    linked_partials: dict[str, Any] = {}
    for name, partial in (partials or {}).items():
        if isinstance(partial, Template):
            linked_partials[name] = LinkedTemplate(partial._linked.program, name)
            continue
        if not isinstance(partial, str):
            raise TypeError(f"partial {name!r} must be a str or a Template")
        try:
            linked_partials[name] = link(parse(partial, name, deadline=deadline), effective, user_names, name)
        except TemplateSyntaxError as exc:
            if strict_partials:
                raise
            linked_partials[name] = exc
    linked = link(parse(source, deadline=deadline), effective, user_names, None)
    return Template(source, linked, linked_partials, limits)


def render(
    source: str,
    data: Any = None,
    partials: Mapping[str, str | Template] | None = None,
    helpers: Mapping[str, Helper] | None = None,
    *,
    locale: str = "en",
    timezone: str = "UTC",
    limits: Limits | None = None,
) -> str:
    """Compile and render in one call."""
    return compile(source, partials, helpers, limits=limits).render(data, locale=locale, timezone=timezone)


_ = builtins  # `compile` shadows the builtin in this module on purpose
