"""Linking and rendering.

:func:`link` turns the syntax tree into a tree of executable nodes (still a tree: no code generation, no
``eval``): paths are pre-resolved (context, ``../``, ``@data``, block parameter), helper call sites are bound
to the helper they call, whitespace-stripped content is merged. Rendering walks that tree with an explicit
:class:`Frame` per program invocation (context, parent contexts, block parameters, ``@data``) and a
per-render :class:`RenderState` (limits, partial scope, output size). Nothing on a linked tree is mutated
while rendering, so one compiled template can render concurrently in many threads.

The semantics follow handlebars.js 4.7's compiler and runtime (``compiler.js``, ``javascript-compiler.js``,
``runtime.js`` and the built-in helpers), including its corner cases.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pressroom.core.errors import PressroomError

from . import ast
from .errors import TemplateRuntimeError, TemplateSyntaxError
from .jsvalues import (
    _ESCAPE_RE,
    NULL_CONTEXT,
    SafeString,
    _escape_str,
    is_empty,
    js_keys,
    js_loose_eq,
    js_number_to_string,
    js_to_string,
    js_truthy,
    lookup_property,
)

__all__ = [
    "DOC_HELPER",
    "HelperOptions",
    "Limits",
    "LinkedTemplate",
    "RenderState",
    "link",
    "render_linked",
]

log = logging.getLogger("pressroom.templating")

#: handlebars.js' compile-time "known helpers": always called as helpers, even without arguments.
KNOWN_HELPERS = frozenset({"helperMissing", "blockHelperMissing", "each", "if", "unless", "with", "log", "lookup"})
_NATIVE = frozenset({"each", "if", "unless", "with", "log", "lookup"})

#: Marker attribute set on Pressroom's document helpers: they only act when given arguments or a hash,
#: so that ``{{length}}`` or ``{{#default}}`` keep reading data exactly as in handlebars.js.
DOC_HELPER = "_pressroom_doc_helper"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-render resource limits. Exceeding one raises :class:`TemplateRuntimeError`."""

    #: Maximum size of the rendered output, in characters.
    max_output_chars: int = 20 * 1024 * 1024
    #: Maximum nesting of partial calls (recursion guard).
    max_partial_depth: int = 64
    #: Wall-clock budget for one render, in seconds; ``None`` = unlimited. Compiling (``compile``) gets the
    #: same budget (``DEFAULT_COMPILE_BUDGET_S`` when this is ``None``).
    time_budget: float | None = None
    #: Maximum number of block-program executions (loop iterations, partial calls...) per render.
    max_steps: int = 5_000_000
    #: Maximum number of tags (``{{``) in a template and its partials, counted before anything is parsed:
    #: compiling costs some 40 us per tag, so this bounds a compile to about 2 s on its own.
    max_tags: int = 50_000


# ----------------------------------------------------------------------------------------------------------
# Render-time structures
# ----------------------------------------------------------------------------------------------------------

# Parent contexts and block parameters are immutable cons lists: (head, tail) or None.
Cons = tuple[Any, Any] | None


class Frame:
    """One program invocation: ``this``, the parent contexts (``../``), block params and ``@data``."""

    __slots__ = ("bp", "ctx", "data", "depths")

    def __init__(self, ctx: Any, depths: Cons, bp: Cons, data: dict[str, Any]) -> None:
        self.ctx = ctx
        self.depths = depths
        self.bp = bp
        self.data = data


@dataclass(slots=True)
class RenderState:
    limits: Limits
    partials: Mapping[str, Any]
    locale: str
    timezone: str
    deadline: float | None
    size: int = 0
    steps: int = 0
    partial_depth: int = 0
    template_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def tick(self, loc: ast.Loc | None = None) -> None:
        self.steps += 1
        limits = self.limits
        if self.steps > limits.max_steps:
            raise self.error(f"Render step limit exceeded ({limits.max_steps} block executions)", loc)
        if self.size > limits.max_output_chars:
            raise self.error(f"Output size limit exceeded ({limits.max_output_chars} characters)", loc)
        if self.deadline is not None and (self.steps & 31) == 0 and time.monotonic() > self.deadline:
            raise self.error(f"Render time budget exceeded ({limits.time_budget} s)", loc)

    def error(self, message: str, loc: ast.Loc | None) -> TemplateRuntimeError:
        return TemplateRuntimeError(
            message,
            line=loc.line if loc else 1,
            column=loc.column if loc else 1,
            template=self.template_name,
        )


def _enter(ctx: Any, depths: Cons) -> Cons:
    """handlebars.js ``wrapProgram``: push ``ctx`` on the parent contexts unless it equals (==) the top."""
    if depths is None:
        return None if ctx is None else (ctx, None)
    head = depths[0]
    if ctx is head:
        return depths
    if ctx is NULL_CONTEXT and head is None:
        return depths
    if type(ctx) is not dict and type(head) is not dict and js_loose_eq(ctx, head):
        return depths
    return (ctx, depths)


def _create_frame(data: dict[str, Any]) -> dict[str, Any]:
    frame = dict(data)
    frame["_parent"] = data
    return frame


# ----------------------------------------------------------------------------------------------------------
# Executable nodes
# ----------------------------------------------------------------------------------------------------------


class XNode:
    __slots__ = ()

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class XExpr:
    __slots__ = ()

    def evaluate(self, f: Frame, st: RenderState) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class XProgram:
    """A block body. ``invoke`` is handlebars.js' ``prog(context, options)``."""

    __slots__ = ("body", "inlines")

    def __init__(self, body: list[XNode], inlines: list[tuple[XExpr, XProgram]]) -> None:
        self.body = body
        self.inlines = inlines

    def invoke(
        self,
        ctx: Any,
        cap_depths: Cons,
        cap_bp: Cons,
        cap_data: dict[str, Any],
        data: dict[str, Any] | None,
        block_params: Any,
        out: list[str],
        st: RenderState,
    ) -> None:
        f = Frame(ctx, _enter(ctx, cap_depths), (block_params, cap_bp), data if data is not None else cap_data)
        if self.inlines:
            self.run_with_inlines(f, cap_depths, cap_bp, cap_data, out, st)
        else:
            for node in self.body:
                node.render(f, out, st)

    def run(
        self, f: Frame, cap_depths: Cons, cap_bp: Cons, cap_data: dict[str, Any], out: list[str], st: RenderState
    ) -> None:
        if self.inlines:
            self.run_with_inlines(f, cap_depths, cap_bp, cap_data, out, st)
        else:
            for node in self.body:
                node.render(f, out, st)

    def inline_partials(
        self, cap_depths: Cons, cap_bp: Cons, cap_data: dict[str, Any], st: RenderState
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        decorator_frame = Frame(cap_depths[0] if cap_depths else None, cap_depths, cap_bp, cap_data)
        for name_expr, prog in self.inlines:
            name = js_to_string(name_expr.evaluate(decorator_frame, st))
            found[name] = Closure(prog, cap_depths, cap_bp, cap_data, st)
        return found

    def run_with_inlines(
        self, f: Frame, cap_depths: Cons, cap_bp: Cons, cap_data: dict[str, Any], out: list[str], st: RenderState
    ) -> None:
        saved = st.partials
        st.partials = {**saved, **self.inline_partials(cap_depths, cap_bp, cap_data, st)}
        try:
            for node in self.body:
                node.render(f, out, st)
        finally:
            st.partials = saved


class Closure:
    """A program bound to the scope that created it: ``options.fn``, ``@partial-block``, inline partials."""

    __slots__ = ("bp", "data", "depths", "partials", "prog", "st")

    def __init__(self, prog: XProgram | None, depths: Cons, bp: Cons, data: dict[str, Any], st: RenderState) -> None:
        self.prog = prog
        self.depths = depths
        self.bp = bp
        self.data = data
        self.st = st
        self.partials: dict[str, Any] | None = None

    def render_into(
        self, ctx: Any, out: list[str], data: dict[str, Any] | None = None, block_params: Any = None
    ) -> None:
        if self.prog is not None:
            self.st.tick()
            self.prog.invoke(ctx, self.depths, self.bp, self.data, data, block_params, out, self.st)

    def __call__(self, context: Any = None, *, data: dict[str, Any] | None = None, block_params: Any = None) -> str:
        out: list[str] = []
        self.render_into(context, out, data, list(block_params) if block_params is not None else None)
        return "".join(out)


def _this(f: Frame) -> Any:
    ctx = f.ctx
    return ctx if ctx is not None else NULL_CONTEXT


# -- expressions -------------------------------------------------------------------------------------------


class XConst(XExpr):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        return self.value


class XThis(XExpr):
    __slots__ = ()

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        return f.ctx


class XKey(XExpr):
    """``{{name}}``: one key of the current context (the hot path)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        ctx = f.ctx
        if type(ctx) is dict:
            return ctx.get(self.key)
        if ctx is None:
            return None
        return lookup_property(ctx, self.key)


def _resolve(cur: Any, parts: list[str]) -> Any:
    for part in parts:
        if cur is None:
            return None
        cur = cur.get(part) if type(cur) is dict and part[:2] != "__" else lookup_property(cur, part)
    return cur


class XPath(XExpr):
    """A context path with ``..`` depth and/or several parts (``a.b``, ``../a``, ``this.a.b``)."""

    __slots__ = ("depth", "parts")

    def __init__(self, depth: int, parts: list[str]) -> None:
        self.depth = depth
        self.parts = parts

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        depth = self.depth
        if depth:
            d = f.depths
            for _ in range(depth):
                d = d[1] if d is not None else None
            cur = d[0] if d is not None else None
        else:
            cur = f.ctx
        return _resolve(cur, self.parts)


class XDataPath(XExpr):
    """``@index``, ``@root.a``, ``@../key``: falsy-short-circuit lookups like handlebars.js."""

    __slots__ = ("depth", "parts")

    def __init__(self, depth: int, parts: list[str]) -> None:
        self.depth = depth
        self.parts = parts

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        cur: Any = f.data
        for _ in range(self.depth):
            if not js_truthy(cur):
                break
            cur = lookup_property(cur, "_parent")
        for part in self.parts:
            if not js_truthy(cur):
                return cur
            cur = lookup_property(cur, part)
        return cur


class XBlockParam(XExpr):
    __slots__ = ("depth", "index", "loc", "name", "rest")

    def __init__(self, depth: int, index: int, rest: list[str], name: str, loc: ast.Loc) -> None:
        self.depth = depth
        self.index = index
        self.rest = rest
        self.name = name
        self.loc = loc

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        bp = f.bp
        for _ in range(self.depth):
            bp = bp[1] if bp is not None else None
        values = bp[0] if bp is not None else None
        if values is None:
            raise st.error(f"Block parameter {self.name!r} has no value (the helper passed no block params)", self.loc)
        value = values[self.index] if self.index < len(values) else None
        return _resolve(value, self.rest) if self.rest else value


class XCall(XExpr):
    """A helper call: sub-expression, or the value part of a mustache/block."""

    __slots__ = ("fn", "hash", "is_native", "loc", "name", "params")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        params: list[XExpr],
        hash_: list[tuple[str, XExpr]] | None,
        loc: ast.Loc,
        is_native: bool,
    ) -> None:
        self.name = name
        self.fn = fn
        self.params = params
        self.hash = hash_
        self.loc = loc
        self.is_native = is_native

    def call(
        self,
        f: Frame,
        st: RenderState,
        program: XProgram | None = None,
        inverse: XProgram | None = None,
        block: bool = False,
    ) -> Any:
        args = [p.evaluate(f, st) for p in self.params]
        hash_values = {k: e.evaluate(f, st) for k, e in self.hash} if self.hash else {}
        if self.is_native:
            return self.fn(self, args, hash_values, f, st)
        options = HelperOptions(
            self.name,
            hash_values,
            f.data,
            _this(f),
            self.loc,
            st,
            Closure(program, f.depths, f.bp, f.data, st) if block else None,
            Closure(inverse, f.depths, f.bp, f.data, st) if block else None,
        )
        before = st.size
        try:
            result = self.fn(*args, options)
        except PressroomError:
            raise
        except RecursionError:
            raise
        except Exception as exc:
            raise st.error(f"Helper {self.name!r} failed: {type(exc).__name__}: {exc}", self.loc) from exc
        if type(result) is str or type(result) is SafeString:
            st.size += max(0, len(result) - (st.size - before))
        return result

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        return self.call(f, st)


class XMissingHelper(XExpr):
    """A call to a helper that does not exist (handlebars.js: ``helperMissing`` or a TypeError)."""

    __slots__ = ("has_params", "loc", "name", "value")

    def __init__(self, name: str, value: XExpr, has_params: bool, loc: ast.Loc) -> None:
        self.name = name
        self.value = value
        self.has_params = has_params
        self.loc = loc

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        if self.has_params:
            raise st.error(f'Missing helper: "{self.name}"', self.loc)
        if js_truthy(self.value.evaluate(f, st)):
            raise st.error(f'"{self.name}" is not a helper (the data value cannot be called)', self.loc)
        return None


class XFailing(XExpr):
    __slots__ = ("loc", "message")

    def __init__(self, message: str, loc: ast.Loc) -> None:
        self.message = message
        self.loc = loc

    def evaluate(self, f: Frame, st: RenderState) -> Any:
        raise st.error(self.message, self.loc)


# -- statements --------------------------------------------------------------------------------------------


class XContent(XNode):
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        out.append(self.text)
        st.size += len(self.text)


class XEscapedKey(XNode):
    """``{{name}}`` on the current context, escaped: the most common node, kept tight."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        ctx = f.ctx
        if type(ctx) is dict:
            v = ctx.get(self.key)
        elif ctx is None:
            return
        else:
            v = lookup_property(ctx, self.key)
        if type(v) is str:
            if _ESCAPE_RE.search(v) is not None:
                v = _escape_str(v)
        elif v is None:
            return
        elif type(v) is int and type(v) is not bool and -(2**53) <= v <= 2**53:
            v = str(v)
        elif type(v) is SafeString:
            pass
        else:
            v = _escape_str(js_to_string(v))
        out.append(v)
        st.size += len(v)


class XEscaped(XNode):
    __slots__ = ("expr",)

    def __init__(self, expr: XExpr) -> None:
        self.expr = expr

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        v = self.expr.evaluate(f, st)
        if type(v) is str:
            if _ESCAPE_RE.search(v) is not None:
                v = _escape_str(v)
        elif v is None:
            return
        elif type(v) is SafeString:
            pass
        else:
            v = _escape_str(js_to_string(v))
        out.append(v)
        st.size += len(v)


class XRaw(XNode):
    __slots__ = ("expr",)

    def __init__(self, expr: XExpr) -> None:
        self.expr = expr

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        v = self.expr.evaluate(f, st)
        if v is None:
            return
        s = v if type(v) is str else js_to_string(v)
        out.append(s)
        st.size += len(s)


def _append_value(v: Any, out: list[str], st: RenderState, counted: bool = False) -> None:
    if v is None:
        return
    s = v if type(v) is str else js_to_string(v)
    out.append(s)
    if not counted:
        st.size += len(s)


class XHelperBlock(XNode):
    """``{{#helper ...}}...{{/helper}}`` with a helper (Python or native lookup/log): append the result."""

    __slots__ = ("call", "inverse", "program")

    def __init__(self, call: XCall, program: XProgram | None, inverse: XProgram | None) -> None:
        self.call = call
        self.program = program
        self.inverse = inverse

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        v = self.call.call(f, st, self.program, self.inverse, block=True)
        _append_value(v, out, st, counted=True)


class XMissingBlock(XNode):
    __slots__ = ("missing",)

    def __init__(self, missing: XMissingHelper) -> None:
        self.missing = missing

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        self.missing.evaluate(f, st)


def _run_each(
    items: Any,
    program: XProgram | None,
    f: Frame,
    out: list[str],
    st: RenderState,
    loc: ast.Loc,
) -> bool:
    """The ``each`` helper body; returns whether at least one iteration ran."""
    t = type(items)
    if t is list or t is tuple:
        n = len(items)
        if n == 0:
            return False
        data = _create_frame(f.data)
        last = n - 1
        depths, bp, cap_data = f.depths, f.bp, f.data
        for i in range(n):
            st.tick(loc)
            item = items[i]
            data["key"] = i
            data["index"] = i
            data["first"] = i == 0
            data["last"] = i == last
            if program is not None:
                program.invoke(item, depths, bp, cap_data, data, (item, i), out, st)
        return True
    if items is None or not isinstance(items, Mapping) or t is SafeString:
        return False
    keys = js_keys(items)
    if not keys:
        return False
    data = _create_frame(f.data)
    last = len(keys) - 1
    for i, key in enumerate(keys):
        st.tick(loc)
        value = items.get(key) if key[:2] != "__" else None
        data["key"] = key
        data["index"] = i
        data["first"] = i == 0
        data["last"] = i == last
        if program is not None:
            program.invoke(value, f.depths, f.bp, f.data, data, (value, key), out, st)
    return True


class XEach(XNode):
    __slots__ = ("expr", "inverse", "loc", "program")

    def __init__(self, expr: XExpr, program: XProgram | None, inverse: XProgram | None, loc: ast.Loc) -> None:
        self.expr = expr
        self.program = program
        self.inverse = inverse
        self.loc = loc

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        items = self.expr.evaluate(f, st)
        if not _run_each(items, self.program, f, out, st, self.loc) and self.inverse is not None:
            self.inverse.invoke(_this(f), f.depths, f.bp, f.data, None, None, out, st)


class XIf(XNode):
    __slots__ = ("expr", "include_zero", "inverse", "program")

    def __init__(
        self, expr: XExpr, include_zero: XExpr | None, program: XProgram | None, inverse: XProgram | None
    ) -> None:
        self.expr = expr
        self.include_zero = include_zero
        self.program = program
        self.inverse = inverse

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        cond = self.expr.evaluate(f, st)
        include_zero = self.include_zero is not None and js_truthy(self.include_zero.evaluate(f, st))
        falsy = (not include_zero and not js_truthy(cond)) or is_empty(cond)
        prog = self.inverse if falsy else self.program
        if prog is not None:
            prog.invoke(_this(f), f.depths, f.bp, f.data, None, None, out, st)


class XWith(XNode):
    __slots__ = ("expr", "inverse", "program")

    def __init__(self, expr: XExpr, program: XProgram | None, inverse: XProgram | None) -> None:
        self.expr = expr
        self.program = program
        self.inverse = inverse

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        value = self.expr.evaluate(f, st)
        if not is_empty(value):
            if self.program is not None:
                self.program.invoke(value, f.depths, f.bp, f.data, None, (value,), out, st)
        elif self.inverse is not None:
            self.inverse.invoke(_this(f), f.depths, f.bp, f.data, None, None, out, st)


class XBlockValue(XNode):
    """A block on a plain value: handlebars.js' ``blockHelperMissing`` (Mustache-style sections)."""

    __slots__ = ("expr", "inverse", "loc", "program")

    def __init__(self, expr: XExpr, program: XProgram | None, inverse: XProgram | None, loc: ast.Loc) -> None:
        self.expr = expr
        self.program = program
        self.inverse = inverse
        self.loc = loc

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        value = self.expr.evaluate(f, st)
        this = f.ctx
        if value is True:
            prog, ctx = self.program, this
        elif value is False or value is None:
            prog, ctx = self.inverse, this
        elif type(value) is list or type(value) is tuple:
            if value:
                _run_each(value, self.program, f, out, st, self.loc)
                return
            prog, ctx = self.inverse, this
        else:
            prog, ctx = self.program, value
        if prog is not None:
            prog.invoke(ctx, f.depths, f.bp, f.data, None, None, out, st)


class XPartial(XNode):
    __slots__ = ("block", "dynamic", "hash", "indent", "loc", "name", "param")

    def __init__(
        self,
        name: str | None,
        dynamic: XExpr | None,
        param: XExpr | None,
        hash_: list[tuple[str, XExpr]] | None,
        indent: str,
        block: XProgram | None,
        loc: ast.Loc,
    ) -> None:
        self.name = name
        self.dynamic = dynamic
        self.param = param
        self.hash = hash_
        self.indent = indent
        self.block = block
        self.loc = loc

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        # handlebars.js evaluates the dynamic name first, then the context and hash
        if self.dynamic is not None:
            raw_name = self.dynamic.evaluate(f, st)
            name = js_to_string(raw_name) if js_truthy(raw_name) else "undefined"
        else:
            name = self.name or ""
        ctx = self.param.evaluate(f, st) if self.param is not None else f.ctx
        if self.hash:
            ctx = _extend_context(ctx, {k: e.evaluate(f, st) for k, e in self.hash})

        st.tick(self.loc)
        data = f.data
        target = data.get("partial-block") if name == "@partial-block" else st.partials.get(name)

        saved_partials = st.partials
        block_closure: Closure | None = None
        if self.block is not None:
            current_block = data.get("partial-block")
            data = _create_frame(data)
            block_closure = Closure(self.block, f.depths, f.bp, f.data, st)
            data["partial-block"] = _PartialBlock(block_closure, current_block)
            if self.block.inlines:
                st.partials = {
                    **st.partials,
                    **self.block.inline_partials(f.depths, f.bp, f.data, st),
                }
            if target is None:
                target = data["partial-block"]
        if target is None:
            st.partials = saved_partials
            raise st.error(f"The partial {name} could not be found", self.loc)

        if st.partial_depth >= st.limits.max_partial_depth:
            st.partials = saved_partials
            raise st.error(
                f"Partial nesting is deeper than {st.limits.max_partial_depth} levels (recursive partial?)",
                self.loc,
            )
        st.partial_depth += 1
        saved_name = st.template_name
        try:
            if self.indent:
                buf: list[str] = []
                _invoke_partial(target, name, ctx, data, buf, st)
                result = "".join(buf)
                lines = result.split("\n")
                count = len(lines)
                for i in range(count):
                    if not lines[i] and i + 1 == count:
                        break
                    lines[i] = self.indent + lines[i]
                indented = "\n".join(lines)
                st.size += len(indented) - len(result)
                out.append(indented)
            else:
                _invoke_partial(target, name, ctx, data, out, st)
        finally:
            st.partial_depth -= 1
            st.partials = saved_partials
            st.template_name = saved_name


class _PartialBlock:
    """``@partial-block``: runs the caller's block with the partial's data, restoring the outer block."""

    __slots__ = ("closure", "outer")

    def __init__(self, closure: Closure, outer: Any) -> None:
        self.closure = closure
        self.outer = outer

    def render_into(self, ctx: Any, data: dict[str, Any], out: list[str]) -> None:
        data = _create_frame(data)
        data["partial-block"] = self.outer
        self.closure.render_into(ctx, out, data)


def _extend_context(ctx: Any, hash_values: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    t = type(ctx)
    if t is dict or isinstance(ctx, Mapping):
        for key in js_keys(ctx):
            merged[key] = ctx.get(key)
    elif t is list or t is tuple:
        for i, v in enumerate(ctx):
            merged[str(i)] = v
    elif t is str or t is SafeString:
        for i, ch in enumerate(ctx):
            merged[str(i)] = ch
    merged.update(hash_values)
    return merged


def _invoke_partial(target: Any, name: str, ctx: Any, data: dict[str, Any], out: list[str], st: RenderState) -> None:
    if isinstance(target, LinkedTemplate):
        st.template_name = name
        target.program.run(Frame(ctx, (ctx, None), None, data), None, None, data, out, st)
    elif isinstance(target, _PartialBlock):
        target.render_into(ctx, data, out)
    elif isinstance(target, Closure):
        target.render_into(ctx, out, data)
    elif isinstance(target, TemplateSyntaxError):
        raise target
    else:  # pragma: no cover - defensive
        raise st.error(f"The partial {name} is not a template", None)


# ----------------------------------------------------------------------------------------------------------
# Helper options (what Python helpers receive as their last argument)
# ----------------------------------------------------------------------------------------------------------


class HelperOptions:
    """The ``options`` object a helper receives last, like in handlebars.js.

    ``fn(context)`` / ``inverse(context)`` render the block (``None`` for non-block calls), ``hash`` holds
    ``key=value`` arguments, ``data`` the ``@data`` frame, ``context`` is ``this``; ``locale`` and ``timezone``
    are the render-level settings (for document helpers).
    """

    __slots__ = ("context", "data", "fn", "hash", "inverse", "loc", "name", "state")

    def __init__(
        self,
        name: str,
        hash_: dict[str, Any],
        data: dict[str, Any],
        context: Any,
        loc: ast.Loc,
        state: RenderState,
        fn: Closure | None,
        inverse: Closure | None,
    ) -> None:
        self.name = name
        self.hash = hash_
        self.data = data
        self.context = context
        self.loc = loc
        self.state = state
        self.fn = fn
        self.inverse = inverse

    @property
    def locale(self) -> str:
        return self.state.locale

    @property
    def timezone(self) -> str:
        return self.state.timezone

    @property
    def is_block(self) -> bool:
        return self.fn is not None

    def create_frame(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """``Handlebars.createFrame``: a child ``@data`` frame."""
        return _create_frame(data if data is not None else self.data)


# -- native built-ins (if/unless/each/with are nodes; these are the value-returning ones) ---------------------


def _native_lookup(call: XCall, args: list[Any], hash_: dict[str, Any], f: Frame, st: RenderState) -> Any:
    if not args:
        raise st.error("lookup requires an object and a field", call.loc)
    obj = args[0]
    if not js_truthy(obj):
        return obj
    if len(args) != 2:
        raise st.error("lookup requires exactly two arguments", call.loc)
    return lookup_property(obj, args[1])


_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def _native_log(call: XCall, args: list[Any], hash_: dict[str, Any], f: Frame, st: RenderState) -> Any:
    level: Any = hash_.get("level")
    if level is None:
        level = f.data.get("level", 1)
    if isinstance(level, str):
        py_level = _LOG_LEVELS.get(level.lower(), logging.INFO)
    else:
        py_level = (
            [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR][min(max(int(level), 0), 3)]
            if isinstance(level, int | float)
            else logging.INFO
        )
    if args:
        log.log(py_level, "template log: %s", " ".join(js_to_string(a) for a in args))
    return None


def _native_block_only(name: str) -> Callable[..., Any]:
    def helper(call: XCall, args: list[Any], hash_: dict[str, Any], f: Frame, st: RenderState) -> Any:
        if len(args) != 1:
            raise st.error(f"#{name} requires exactly one argument", call.loc)
        raise st.error(f"{name} can only be used as a block ({{{{#{name} ...}}}}...{{{{/{name}}}}})", call.loc)

    return helper


_NATIVE_FUNCS: dict[str, Callable[..., Any]] = {
    "lookup": _native_lookup,
    "log": _native_log,
    "if": _native_block_only("if"),
    "unless": _native_block_only("unless"),
    "each": _native_block_only("each"),
    "with": _native_block_only("with"),
}


# ----------------------------------------------------------------------------------------------------------
# Linking
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkedTemplate:
    program: XProgram
    name: str | None


def _scoped(original: str) -> bool:
    # handlebars.js: /^\.|this\b/.test(path.original)
    if original.startswith("."):
        return True
    start = 0
    while True:
        i = original.find("this", start)
        if i < 0:
            return False
        j = i + 4
        if j >= len(original) or not (original[j].isascii() and (original[j].isalnum() or original[j] == "_")):
            return True
        start = i + 1


def _literal_path_name(expr: ast.Expr) -> str:
    if isinstance(expr, ast.StringLit):
        return expr.value
    if isinstance(expr, ast.NumberLit):
        return js_number_to_string(expr.value)
    if isinstance(expr, ast.BoolLit):
        return "true" if expr.value else "false"
    if isinstance(expr, ast.NullLit):
        return "null"
    return "undefined"


def _as_path(expr: ast.Expr) -> ast.PathExpr:
    """handlebars.js ``transformLiteralToPath``: ``{{"a b"}}`` looks up the key ``a b``."""
    if isinstance(expr, ast.PathExpr):
        return expr
    if isinstance(expr, ast.SubExpr):  # pragma: no cover - the grammar never puts a sub-expression here
        raise TypeError("sub-expression as a helper name")
    name = _literal_path_name(expr)
    return ast.PathExpr(False, 0, [name], name, expr.loc)


class _Linker:
    def __init__(
        self, helpers: Mapping[str, Callable[..., Any]], user_helpers: frozenset[str], name: str | None
    ) -> None:
        self.helpers = helpers
        self.user_helpers = user_helpers
        self.name = name
        self.bp_stack: list[list[str] | None] = []

    def error(self, message: str, loc: ast.Loc) -> TemplateSyntaxError:
        return TemplateSyntaxError(message, line=loc.line, column=loc.column, template=self.name)

    # -- programs ------------------------------------------------------------------------------------------
    def program(self, program: ast.Program | None) -> XProgram | None:
        if program is None:
            return None
        self.bp_stack.insert(0, program.block_params)
        try:
            body: list[XNode] = []
            inlines: list[tuple[XExpr, XProgram]] = []
            for stmt in program.body:
                if isinstance(stmt, ast.Content):
                    if stmt.value:
                        if body and isinstance(body[-1], XContent):
                            body[-1] = XContent(body[-1].text + stmt.value)
                        else:
                            body.append(XContent(stmt.value))
                elif isinstance(stmt, ast.Comment):
                    continue
                elif isinstance(stmt, ast.Block) and stmt.decorator:
                    inlines.append(self.inline(stmt))
                elif isinstance(stmt, ast.Mustache) and stmt.decorator:
                    self.decorator(stmt)
                else:
                    body.append(self.statement(stmt))
            return XProgram(body, inlines)
        finally:
            self.bp_stack.pop(0)

    def inline(self, block: ast.Block) -> tuple[XExpr, XProgram]:
        path = _as_path(block.path)
        if path.original != "inline":
            raise self.error(f"Unknown decorator {path.original!r} (only 'inline' is supported)", block.loc)
        name_expr = self.expr(block.params[0]) if block.params else XConst("undefined")
        prog = self.program(block.program) or XProgram([], [])
        return name_expr, prog

    def decorator(self, mustache: ast.Mustache) -> None:
        path = _as_path(mustache.path)
        if path.original != "inline":
            raise self.error(f"Unknown decorator {path.original!r} (only 'inline' is supported)", mustache.loc)

    def statement(self, stmt: ast.Statement) -> XNode:
        if isinstance(stmt, ast.Mustache):
            return self.mustache(stmt)
        if isinstance(stmt, ast.Block):
            return self.block(stmt)
        if isinstance(stmt, ast.Partial):
            return self.partial(stmt.name, stmt.params, stmt.hash, stmt.indent, None, stmt.loc)
        if isinstance(stmt, ast.PartialBlock):
            return self.partial(stmt.name, stmt.params, stmt.hash, "", stmt.program, stmt.loc)
        raise TypeError(f"unexpected statement {stmt!r}")  # pragma: no cover

    # -- classification (compiler.js classifySexpr) --------------------------------------------------------
    def block_param_index(self, name: str) -> tuple[int, int] | None:
        for depth, names in enumerate(self.bp_stack):
            if names is not None and name in names:
                return depth, names.index(name)
        return None

    def lookup_helper(self, name: str, has_args: bool) -> Callable[..., Any] | None:
        fn = self.helpers.get(name)
        if fn is None:
            return None
        if name not in self.user_helpers and getattr(fn, DOC_HELPER, False) and not has_args:
            return None
        return fn

    def classify(
        self, path: ast.PathExpr, params: list[ast.Expr], hash_: ast.Hash | None, is_subexpr: bool
    ) -> tuple[str, Callable[..., Any] | None]:
        is_simple = len(path.parts) == 1 and not _scoped(path.original) and not path.depth
        is_bp = is_simple and self.block_param_index(path.parts[0]) is not None
        has_args = bool(params) or hash_ is not None
        is_helper = not is_bp and (is_subexpr or has_args)
        is_eligible = not is_bp and (is_helper or is_simple)
        first = path.parts[0] if path.parts else ""
        if is_eligible and not is_helper and first in KNOWN_HELPERS:
            is_helper = True
        if is_helper:
            if first in KNOWN_HELPERS:
                return "known", self.helpers.get(first) if first in self.user_helpers else None
            if is_simple:
                return "helper", self.lookup_helper(path.original, has_args)
            return "helper", None
        if is_eligible:
            return "ambiguous", self.lookup_helper(first, has_args)
        return "simple", None

    # -- expressions ---------------------------------------------------------------------------------------
    def path(self, path: ast.PathExpr) -> XExpr:
        parts = path.parts
        name = parts[0] if parts else ""
        scoped = _scoped(path.original)
        if not path.depth and not scoped and name:
            index = self.block_param_index(name)
            if index is not None:
                return XBlockParam(index[0], index[1], parts[1:], name, path.loc)
        if not name:
            return XThis() if not path.depth else XPath(path.depth, [])
        if path.data:
            return XDataPath(path.depth, parts)
        if not path.depth and len(parts) == 1 and name[:2] != "__":
            return XKey(name)
        return XPath(path.depth, parts)

    def expr(self, expr: ast.Expr) -> XExpr:
        if isinstance(expr, ast.PathExpr):
            return self.path(expr)
        if isinstance(expr, ast.SubExpr):
            return self.call(expr.path, expr.params, expr.hash, expr.loc, is_subexpr=True)
        return XConst(expr.value)

    def hash(self, hash_: ast.Hash | None) -> list[tuple[str, XExpr]] | None:
        if hash_ is None:
            return None
        return [(k, self.expr(v)) for k, v in hash_.pairs]

    def call(
        self,
        raw_path: ast.Expr,
        params: list[ast.Expr],
        hash_: ast.Hash | None,
        loc: ast.Loc,
        is_subexpr: bool = False,
    ) -> XExpr:
        path = _as_path(raw_path)
        kind, fn = self.classify(path, params, hash_, is_subexpr)
        if kind == "simple":
            return self.path(path)
        first = path.parts[0] if path.parts else ""
        if kind == "known":
            if fn is not None:
                return XCall(first, fn, [self.expr(p) for p in params], self.hash(hash_), loc, False)
            native = _NATIVE_FUNCS.get(first)
            if native is None:
                return XFailing(f"The {first} helper cannot be called from a template", loc)
            return XCall(first, native, [self.expr(p) for p in params], self.hash(hash_), loc, True)
        if fn is not None:
            name = path.original if kind == "helper" else first
            return XCall(name, fn, [self.expr(p) for p in params], self.hash(hash_), loc, False)
        if kind == "ambiguous":
            return self.path(path)
        return XMissingHelper(path.original, self.path(path), bool(params), loc)

    # -- statements ----------------------------------------------------------------------------------------
    def mustache(self, m: ast.Mustache) -> XNode:
        expr = self.call(m.path, m.params, m.hash, m.loc)
        if not m.escaped:
            return XRaw(expr)
        if isinstance(expr, XKey):
            return XEscapedKey(expr.key)
        return XEscaped(expr)

    def block(self, b: ast.Block) -> XNode:
        path = _as_path(b.path)
        program = self.program(b.program)
        inverse = self.program(b.inverse)
        kind, fn = self.classify(path, b.params, b.hash, False)
        first = path.parts[0] if path.parts else ""
        if b.raw and kind == "ambiguous" and fn is None and first == "raw":
            fn = self.helpers.get("raw")
        if kind == "known" and fn is None and first in ("if", "unless", "each", "with"):
            if len(b.params) != 1:
                if first == "each":
                    return _FailingNode("Must pass iterator to #each", b.loc)
                return _FailingNode(f"#{first} requires exactly one argument", b.loc)
            arg = self.expr(b.params[0])
            if first == "each":
                return XEach(arg, program, inverse, b.loc)
            if first == "with":
                return XWith(arg, program, inverse)
            include_zero = None
            if b.hash is not None:
                for k, v in b.hash.pairs:
                    if k == "includeZero":
                        include_zero = self.expr(v)
            if first == "unless":
                return XIf(arg, include_zero, inverse, program)
            return XIf(arg, include_zero, program, inverse)
        if kind == "simple" or (kind == "ambiguous" and fn is None):
            return XBlockValue(self.path(path), program, inverse, b.loc)
        if fn is not None:
            name = path.original if kind == "helper" else first
            params = [self.expr(p) for p in b.params]
            return XHelperBlock(XCall(name, fn, params, self.hash(b.hash), b.loc, False), program, inverse)
        call = self.call(b.path, b.params, b.hash, b.loc)
        if isinstance(call, XCall):
            return XHelperBlock(call, program, inverse)
        if isinstance(call, XMissingHelper):
            return XMissingBlock(call)
        assert isinstance(call, XFailing)
        return _FailingNode(call.message, b.loc)

    def partial(
        self,
        name_expr: ast.Expr,
        params: list[ast.Expr],
        hash_: ast.Hash | None,
        indent: str,
        block: ast.Program | None,
        loc: ast.Loc,
    ) -> XNode:
        block_prog = self.program(block) if block is not None else None
        if isinstance(name_expr, ast.SubExpr):
            dynamic: XExpr | None = self.expr(name_expr)
            name: str | None = None
        else:
            dynamic = None
            orig = name_expr.original
            name = str(orig) if isinstance(name_expr, ast.PathExpr | ast.StringLit) else _literal_path_name(name_expr)
        param = self.expr(params[0]) if params else None
        return XPartial(name, dynamic, param, self.hash(hash_), indent, block_prog, loc)


class _FailingNode(XNode):
    __slots__ = ("loc", "message")

    def __init__(self, message: str, loc: ast.Loc) -> None:
        self.message = message
        self.loc = loc

    def render(self, f: Frame, out: list[str], st: RenderState) -> None:
        raise st.error(self.message, self.loc)


def link(
    program: ast.Program,
    helpers: Mapping[str, Callable[..., Any]],
    user_helpers: frozenset[str],
    name: str | None = None,
) -> LinkedTemplate:
    prog = _Linker(helpers, user_helpers, name).program(program)
    assert prog is not None
    return LinkedTemplate(prog, name)


def render_linked(
    template: LinkedTemplate,
    data: Any,
    partials: Mapping[str, Any],
    limits: Limits,
    locale: str,
    timezone: str,
) -> str:
    deadline = time.monotonic() + limits.time_budget if limits.time_budget is not None else None
    st = RenderState(limits, partials, locale, timezone, deadline)
    root_data: dict[str, Any] = {"root": data}
    out: list[str] = []
    try:
        template.program.run(Frame(data, (data, None), None, root_data), None, None, root_data, out, st)
    except RecursionError:
        raise TemplateRuntimeError(
            "Template nesting too deep to render", line=1, column=1, template=st.template_name
        ) from None
    if st.size > limits.max_output_chars:
        raise st.error(f"Output size limit exceeded ({limits.max_output_chars} characters)", None)
    result = "".join(out)
    if len(result) > limits.max_output_chars:
        raise st.error(f"Output size limit exceeded ({limits.max_output_chars} characters)", None)
    return result
