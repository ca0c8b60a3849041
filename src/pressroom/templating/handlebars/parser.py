"""Recursive-descent parser equivalent to handlebars.js 4.7's grammar (``handlebars.yy``) and its helpers.

Produces the same tree handlebars.js builds (including the ``{{else if}}`` chaining and the strip flags),
then runs the whitespace-control pass (:mod:`.whitespace`), so output matches byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ast import (
    Block,
    BoolLit,
    Comment,
    Content,
    Expr,
    Hash,
    Loc,
    Mustache,
    NullLit,
    NumberLit,
    Partial,
    PartialBlock,
    PathExpr,
    Program,
    Statement,
    StringLit,
    Strip,
    SubExpr,
    UndefinedLit,
)
from .errors import TemplateSyntaxError
from .lexer import Token, iter_tokens
from .whitespace import WhitespaceControl

__all__ = ["MAX_NESTING", "expr_original", "parse"]

#: Blocks/sub-expressions nested deeper than this are refused (bounds recursion while rendering).
MAX_NESTING = 100

_STATEMENT_START = frozenset(
    {
        "CONTENT",
        "COMMENT",
        "OPEN",
        "OPEN_UNESCAPED",
        "OPEN_BLOCK",
        "OPEN_INVERSE",
        "OPEN_RAW_BLOCK",
        "OPEN_PARTIAL",
        "OPEN_PARTIAL_BLOCK",
    }
)
_PARAM_START = frozenset({"ID", "DATA", "STRING", "NUMBER", "BOOLEAN", "UNDEFINED", "NULL", "OPEN_SEXPR"})

_TOKEN_NAMES = {
    "EOF": "end of input",
    "CLOSE": "'}}'",
    "CLOSE_UNESCAPED": "'}}}'",
    "CLOSE_RAW_BLOCK": "'}}}}'",
    "CLOSE_SEXPR": "')'",
    "OPEN_SEXPR": "'('",
    "EQUALS": "'='",
    "INVALID": "an invalid character",
}


def _id(token: str) -> str:
    if len(token) >= 2 and token[0] == "[" and token[-1] == "]":
        return token[1:-1]
    return token


def _strip_flags(open_text: str, close_text: str) -> Strip:
    n = len(close_text)
    return Strip(open=open_text[2:3] == "~", close=n >= 3 and close_text[n - 3] == "~")


def expr_original(expr: Expr) -> tuple[str, object]:
    """``node.original`` with its JS type, for handlebars.js' strict ``!==`` block-name comparison."""
    if isinstance(expr, PathExpr | StringLit):
        return ("string", expr.original)
    if isinstance(expr, NumberLit):
        return ("number", float(expr.value))
    if isinstance(expr, BoolLit):
        return ("boolean", expr.value)
    if isinstance(expr, NullLit):
        return ("null", None)
    return ("undefined", None)  # UndefinedLit and SubExpr (which has no `original`)


def _show(expr: Expr) -> str:
    kind, value = expr_original(expr)
    if kind == "string":
        return str(value)
    if kind == "number":
        v = float(value)  # type: ignore[arg-type]
        return str(int(v)) if v.is_integer() else repr(v)
    if kind == "boolean":
        return "true" if value else "false"
    return kind


@dataclass(slots=True)
class _Open:
    tok: Token
    path: Expr
    params: list[Expr]
    hash: Hash | None
    block_params: list[str] | None
    strip: Strip


@dataclass(slots=True)
class _InverseAndProgram:
    strip: Strip
    program: Program
    chain: bool
    loc: Loc


class _Parser:
    def __init__(self, source: str, template: str | None, deadline: float | None = None) -> None:
        self.template = template
        # Tokens are pulled as the grammar needs them (at most two ahead): a template 1e5 blocks deep fails
        # at block 101 instead of after lexing all of it, and the lexer's deadline bounds the parse too.
        self._source = iter_tokens(source, template, deadline=deadline)
        self._ahead: list[Token] = []
        self.nesting = 0

    # -- token helpers -------------------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        ahead = self._ahead
        while len(ahead) <= k:
            if ahead and ahead[-1].kind == "EOF":
                return ahead[-1]  # past the end: EOF again, as before
            ahead.append(next(self._source))
        return ahead[k]

    def next(self) -> Token:
        tok = self.peek()
        if tok.kind != "EOF":
            self._ahead.pop(0)
        return tok

    def error(self, message: str, where: Token | Loc) -> TemplateSyntaxError:
        return TemplateSyntaxError(message, line=where.line, column=where.column, template=self.template)

    def unexpected(self, tok: Token, expected: str) -> TemplateSyntaxError:
        got = _TOKEN_NAMES.get(tok.kind) or repr(tok.text)
        return self.error(f"Parse error: expected {expected}, got {got}", tok)

    def expect(self, kind: str, expected: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            raise self.unexpected(tok, expected)
        return self.next()

    def enter(self, tok: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(f"Template nesting is deeper than {MAX_NESTING} levels", tok)

    def leave(self) -> None:
        self.nesting -= 1

    @staticmethod
    def loc(tok: Token) -> Loc:
        return Loc(tok.line, tok.column)

    # -- statements ----------------------------------------------------------------------------------------
    def parse_root(self) -> Program:
        program = self.parse_program()
        tok = self.peek()
        if tok.kind != "EOF":
            if tok.kind == "OPEN_ENDBLOCK":
                raise self.error("Unexpected closing block: there is no open block to close", tok)
            if tok.kind in ("INVERSE", "OPEN_INVERSE_CHAIN"):
                raise self.error("Unexpected {{else}} outside of a block", tok)
            raise self.unexpected(tok, "a statement or end of input")
        return program

    def parse_program(self) -> Program:
        body: list[Statement] = []
        while self.peek().kind in _STATEMENT_START:
            body.append(self.parse_statement())
        return Program(body)

    def parse_statement(self) -> Statement:
        tok = self.peek()
        kind = tok.kind
        if kind == "CONTENT":
            self.next()
            return Content(tok.text, tok.text, self.loc(tok))
        if kind == "COMMENT":
            self.next()
            return Comment(_strip_flags(tok.text, tok.text), self.loc(tok))
        if kind in ("OPEN", "OPEN_UNESCAPED"):
            return self.parse_mustache()
        if kind in ("OPEN_BLOCK", "OPEN_INVERSE"):
            return self.parse_block()
        if kind == "OPEN_RAW_BLOCK":
            return self.parse_raw_block()
        if kind == "OPEN_PARTIAL":
            return self.parse_partial()
        return self.parse_partial_block()

    def parse_mustache(self) -> Mustache:
        open_tok = self.next()
        path = self.parse_helper_name()
        params, hash_ = self.parse_params_and_hash()
        close_tok = self.expect("CLOSE", "'}}'") if open_tok.kind == "OPEN" else self.expect("CLOSE_UNESCAPED", "'}}}'")
        text = open_tok.text
        escape_flag = text[3:4] or text[2:3]
        return Mustache(
            path,
            params,
            hash_,
            escape_flag not in ("{", "&"),
            _strip_flags(text, close_tok.text),
            self.loc(open_tok),
            decorator="*" in text,
        )

    def parse_open(self, partial: bool = False) -> _Open:
        open_tok = self.next()
        path = self.parse_partial_name() if partial else self.parse_helper_name()
        params, hash_ = self.parse_params_and_hash()
        block_params: list[str] | None = None
        if not partial and self.peek().kind == "OPEN_BLOCK_PARAMS":
            self.next()
            names = [self.expect("ID", "a block parameter name").text]
            while self.peek().kind == "ID":
                names.append(self.next().text)
            self.expect("CLOSE_BLOCK_PARAMS", "'|'")
            block_params = names
        close_tok = self.expect("CLOSE", "'}}'")
        return _Open(open_tok, path, params, hash_, block_params, _strip_flags(open_tok.text, close_tok.text))

    def parse_close(self, open_: _Open) -> Strip:
        tok = self.peek()
        if tok.kind != "OPEN_ENDBLOCK":
            if tok.kind == "EOF":
                raise self.error(f"Unclosed block: {{{{#{_show(open_.path)}}}}} has no closing tag", open_.tok)
            raise self.unexpected(tok, f"{{{{/{_show(open_.path)}}}}}")
        self.next()
        path = self.parse_helper_name()
        close_tok = self.expect("CLOSE", "'}}'")
        if expr_original(open_.path) != expr_original(path):
            raise self.error(f"{_show(open_.path)} doesn't match {_show(path)}", open_.path.loc)
        return _strip_flags(tok.text, close_tok.text)

    def prepare_block(
        self,
        open_: _Open,
        program: Program,
        inverse_and_program: _InverseAndProgram | None,
        close_strip: Strip | None,
        inverted: bool,
    ) -> Block:
        decorator = "*" in open_.tok.text
        program.block_params = open_.block_params
        inverse: Program | None = None
        inverse_strip: Strip | None = None
        if inverse_and_program is not None:
            if decorator:
                raise self.error("Unexpected inverse block on decorator", inverse_and_program.loc)
            if inverse_and_program.chain:
                first = inverse_and_program.program.body[0]
                assert isinstance(first, Block)
                first.close_strip = close_strip
            inverse_strip = inverse_and_program.strip
            inverse = inverse_and_program.program
        main: Program | None = program
        if inverted:
            main, inverse = inverse, program
        return Block(
            open_.path,
            open_.params,
            open_.hash,
            main,
            inverse,
            open_.strip,
            inverse_strip,
            close_strip,
            self.loc(open_.tok),
            decorator=decorator,
        )

    def parse_block(self) -> Block:
        self.enter(self.peek())
        inverted = self.peek().kind == "OPEN_INVERSE"
        open_ = self.parse_open()
        program = self.parse_program()
        iap: _InverseAndProgram | None = None
        nxt = self.peek().kind
        if nxt == "INVERSE":
            iap = self.parse_inverse_and_program()
        elif nxt == "OPEN_INVERSE_CHAIN" and not inverted:
            iap = self.parse_inverse_chain()
        close_strip = self.parse_close(open_)
        self.leave()
        return self.prepare_block(open_, program, iap, close_strip, inverted)

    def parse_inverse_and_program(self) -> _InverseAndProgram:
        tok = self.next()
        program = self.parse_program()
        return _InverseAndProgram(_strip_flags(tok.text, tok.text), program, False, self.loc(tok))

    def parse_inverse_chain(self) -> _InverseAndProgram:
        if self.peek().kind == "INVERSE":
            return self.parse_inverse_and_program()
        self.enter(self.peek())
        open_ = self.parse_open()
        program = self.parse_program()
        nested: _InverseAndProgram | None = None
        if self.peek().kind in ("INVERSE", "OPEN_INVERSE_CHAIN"):
            nested = self.parse_inverse_chain()
        self.leave()
        block = self.prepare_block(open_, program, nested, nested.strip if nested else None, False)
        chained = Program([block], chained=True)
        return _InverseAndProgram(open_.strip, chained, True, self.loc(open_.tok))

    def parse_raw_block(self) -> Block:
        open_tok = self.next()
        path = self.parse_helper_name()
        params, hash_ = self.parse_params_and_hash()
        self.expect("CLOSE_RAW_BLOCK", "'}}}}'")
        body: list[Statement] = []
        while self.peek().kind == "CONTENT":
            tok = self.next()
            body.append(Content(tok.text, tok.text, self.loc(tok)))
        end = self.expect("END_RAW_BLOCK", f"{{{{{{{{/{_show(path)}}}}}}}}}")
        if expr_original(path) != ("string", end.text):
            raise self.error(f"{_show(path)} doesn't match {end.text}", path.loc)
        return Block(
            path,
            params,
            hash_,
            Program(body),
            None,
            Strip(),
            Strip(),
            Strip(),
            self.loc(open_tok),
            raw=True,
        )

    def parse_partial(self) -> Partial:
        open_tok = self.next()
        name = self.parse_partial_name()
        params, hash_ = self.parse_params_and_hash()
        close_tok = self.expect("CLOSE", "'}}'")
        if len(params) > 1:
            raise self.error(f"Unsupported number of partial arguments: {len(params)}", open_tok)
        return Partial(name, params, hash_, _strip_flags(open_tok.text, close_tok.text), self.loc(open_tok))

    def parse_partial_block(self) -> PartialBlock:
        self.enter(self.peek())
        open_ = self.parse_open(partial=True)
        program = self.parse_program()
        close_strip = self.parse_close(open_)
        self.leave()
        if len(open_.params) > 1:
            raise self.error(f"Unsupported number of partial arguments: {len(open_.params)}", open_.tok)
        return PartialBlock(
            open_.path, open_.params, open_.hash, program, open_.strip, close_strip, self.loc(open_.tok)
        )

    # -- expressions ---------------------------------------------------------------------------------------
    def parse_params_and_hash(self) -> tuple[list[Expr], Hash | None]:
        params: list[Expr] = []
        while True:
            tok = self.peek()
            if tok.kind not in _PARAM_START or (tok.kind == "ID" and self.peek(1).kind == "EQUALS"):
                break
            params.append(self.parse_param())
        hash_: Hash | None = None
        if self.peek().kind == "ID" and self.peek(1).kind == "EQUALS":
            first = self.peek()
            pairs: list[tuple[str, Expr]] = []
            while self.peek().kind == "ID" and self.peek(1).kind == "EQUALS":
                key = _id(self.next().text)
                self.next()
                if self.peek().kind not in _PARAM_START:
                    raise self.unexpected(self.peek(), "a value after '='")
                pairs.append((key, self.parse_param()))
            hash_ = Hash(pairs, self.loc(first))
        return params, hash_

    def parse_param(self) -> Expr:
        if self.peek().kind == "OPEN_SEXPR":
            return self.parse_sexpr()
        return self.parse_helper_name()

    def parse_partial_name(self) -> Expr:
        if self.peek().kind == "OPEN_SEXPR":
            return self.parse_sexpr()
        return self.parse_helper_name()

    def parse_sexpr(self) -> SubExpr:
        open_tok = self.next()
        self.enter(open_tok)
        path = self.parse_helper_name()
        params, hash_ = self.parse_params_and_hash()
        self.expect("CLOSE_SEXPR", "')'")
        self.leave()
        return SubExpr(path, params, hash_, self.loc(open_tok))

    def parse_helper_name(self) -> Expr:
        tok = self.peek()
        kind = tok.kind
        loc = self.loc(tok)
        if kind == "ID":
            return self.parse_path(False, loc)
        if kind == "DATA":
            self.next()
            if self.peek().kind != "ID":
                raise self.unexpected(self.peek(), "a name after '@'")
            return self.parse_path(True, loc)
        self.next()
        if kind == "STRING":
            return StringLit(tok.text, loc)
        if kind == "NUMBER":
            text = tok.text
            value: float = float(text) if "." in text else int(text)
            return NumberLit(value, loc)
        if kind == "BOOLEAN":
            return BoolLit(tok.text == "true", loc)
        if kind == "UNDEFINED":
            return UndefinedLit(loc)
        if kind == "NULL":
            return NullLit(loc)
        raise self.unexpected(tok, "a name or a value")

    def parse_path(self, data: bool, loc: Loc) -> PathExpr:
        segments: list[tuple[str, str]] = [(self.next().text, "")]
        while self.peek().kind == "SEP":
            sep = self.next().text
            segments.append((self.expect("ID", "a name after the path separator").text, sep))
        original = "@" if data else ""
        dig: list[str] = []
        depth = 0
        for text, sep in segments:
            part = _id(text)
            is_literal = text != part
            original += sep + part
            if not is_literal and part in ("..", ".", "this"):
                if dig:
                    raise self.error(f"Invalid path: {original}", loc)
                if part == "..":
                    depth += 1
            else:
                dig.append(part)
        return PathExpr(data, depth, dig, original, loc)


def parse(source: str, template: str | None = None, *, deadline: float | None = None) -> Program:
    """Parse ``source`` into a :class:`Program` (whitespace control already applied); ``deadline``
    (``time.monotonic()``) bounds lexing and parsing (:class:`~.errors.CompileBudgetExceeded`)."""
    program = _Parser(source, template, deadline).parse_root()
    WhitespaceControl().accept_root(program)
    return program
