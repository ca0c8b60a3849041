"""The handlebars.js 4.7 lexer, rule for rule (``handlebars.l``), as an ordered list of regexes per state.

JavaScript regex classes are spelled out (``\\s``, ``.``, ``$``) so that Python matches exactly the same text.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import CompileBudgetExceeded, TemplateSyntaxError
from .jsvalues import JS_WS

__all__ = ["Token", "iter_tokens", "line_col", "tokenize"]

# The clock is read once per this many tokens: cheap, and a token costs microseconds, so the budget is
# overshot by far less than a millisecond.
_CLOCK_EVERY = 256

WS = f"[{JS_WS}]"
_ID_CHARS = f'[^{JS_WS}!"#%-,./;->@\\[-\\^`{{-~]'
_ID_LOOKAHEAD = f"(?=[=~}}{JS_WS}/.)|])"
_LIT_LOOKAHEAD = f"(?=[~}}{JS_WS})])"
_DOT = "[^\n\r\u2028\u2029]"


@dataclass(slots=True)
class Token:
    kind: str
    text: str
    pos: int
    end: int
    line: int
    column: int  # 1-based


# (regex, action) per state; action is a token kind, or a special string starting with "!".
_RULES: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "INITIAL": [
        (re.compile(r"[^\x00]*?(?=\{\{)"), "!content"),
        (re.compile(r"[^\x00]+"), "CONTENT"),
        (re.compile(r"\Z"), "EOF"),
    ],
    "emu": [(re.compile(r"[^\x00]{2,}?(?=\{\{|\\\{\{|\\\\\{\{|\Z)"), "!emu")],
    "com": [(re.compile(r"[\s\S]*?--~?\}\}"), "!comment_end")],
    "raw": [
        (re.compile(r"\{\{\{\{(?=[^/])"), "!raw_open"),
        (re.compile(r"\{\{\{\{/" + _ID_CHARS + f"+(?=[=}}{JS_WS}/.])" + r"\}\}\}\}"), "!raw_close"),
        (re.compile(r"[^\x00]+?(?=\{\{\{\{)"), "CONTENT"),
    ],
    "mu": [
        (re.compile(r"\("), "OPEN_SEXPR"),
        (re.compile(r"\)"), "CLOSE_SEXPR"),
        (re.compile(r"\{\{\{\{"), "OPEN_RAW_BLOCK"),
        (re.compile(r"\}\}\}\}"), "!close_raw_block"),
        (re.compile(r"\{\{(~)?>"), "OPEN_PARTIAL"),
        (re.compile(r"\{\{(~)?#>"), "OPEN_PARTIAL_BLOCK"),
        (re.compile(r"\{\{(~)?#\*?"), "OPEN_BLOCK"),
        (re.compile(r"\{\{(~)?/"), "OPEN_ENDBLOCK"),
        (re.compile(r"\{\{(~)?\^" + WS + r"*(~)?\}\}"), "!INVERSE"),
        (re.compile(r"\{\{(~)?" + WS + r"*else" + WS + r"*(~)?\}\}"), "!INVERSE"),
        (re.compile(r"\{\{(~)?\^"), "OPEN_INVERSE"),
        (re.compile(r"\{\{(~)?" + WS + r"*else(?![A-Za-z0-9_])"), "OPEN_INVERSE_CHAIN"),
        (re.compile(r"\{\{(~)?\{"), "OPEN_UNESCAPED"),
        (re.compile(r"\{\{(~)?&"), "OPEN"),
        (re.compile(r"\{\{(~)?!--"), "!comment_start"),
        (re.compile(r"\{\{(~)?![\s\S]*?\}\}"), "!COMMENT"),
        (re.compile(r"\{\{(~)?\*?"), "OPEN"),
        (re.compile(r"="), "EQUALS"),
        (re.compile(r"\.\."), "ID"),
        (re.compile(r"\." + _ID_LOOKAHEAD), "ID"),
        (re.compile(r"[/.]"), "SEP"),
        (re.compile(WS + "+"), "!skip"),
        (re.compile(r"\}(~)?\}\}"), "!CLOSE_UNESCAPED"),
        (re.compile(r"(~)?\}\}"), "!CLOSE"),
        (re.compile(r'"(\\["]|[^"])*"'), "!dstring"),
        (re.compile(r"'(\\[']|[^'])*'"), "!sstring"),
        (re.compile(r"@"), "DATA"),
        (re.compile(r"true" + _LIT_LOOKAHEAD), "BOOLEAN"),
        (re.compile(r"false" + _LIT_LOOKAHEAD), "BOOLEAN"),
        (re.compile(r"undefined" + _LIT_LOOKAHEAD), "UNDEFINED"),
        (re.compile(r"null" + _LIT_LOOKAHEAD), "NULL"),
        (re.compile(r"-?[0-9]+(?:\.[0-9]+)?" + _LIT_LOOKAHEAD), "NUMBER"),
        (re.compile(r"as" + WS + r"+\|"), "OPEN_BLOCK_PARAMS"),
        (re.compile(r"\|"), "CLOSE_BLOCK_PARAMS"),
        (re.compile(_ID_CHARS + "+" + _ID_LOOKAHEAD), "ID"),
        (re.compile(r"\[(\\\]|[^\]])*\]"), "!bracket_id"),
        (re.compile(_DOT), "INVALID"),
        (re.compile(r"\Z"), "EOF"),
    ],
}

_BRACKET_UNESCAPE = re.compile(r"\\([\\\]])")


class _Lines:
    """Maps an offset to a 1-based (line, column) in O(log n)."""

    def __init__(self, source: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def __call__(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, pos) - 1
        return i + 1, pos - self.starts[i] + 1


def line_col(source: str, pos: int) -> tuple[int, int]:
    return _Lines(source)(pos)


def tokenize(source: str, template: str | None = None, *, deadline: float | None = None) -> list[Token]:
    """Split ``source`` into tokens exactly as handlebars.js' jison lexer does."""
    return list(iter_tokens(source, template, deadline=deadline))


def iter_tokens(source: str, template: str | None = None, *, deadline: float | None = None) -> Iterator[Token]:
    """The tokens of ``source`` one at a time, as the parser asks for them (jison's lexer is lazy too): a
    parse error, e.g. nesting too deep, is raised as soon as it is reached, without lexing the rest.

    ``deadline`` (``time.monotonic()``) bounds the lexing and the parsing that pulls it:
    :class:`CompileBudgetExceeded` past it.
    """
    count = 0
    stack = ["INITIAL"]
    pos = 0
    n = len(source)
    _line_col = _Lines(source)
    while True:
        state = stack[-1]
        for regex, action in _RULES[state]:  # noqa: B007 - `action` is used after the loop
            m = regex.match(source, pos)
            if m is not None:
                break
        else:
            line, col = _line_col(pos)
            snippet = source[pos : pos + 20].replace("\n", "\\n")
            raise TemplateSyntaxError(
                f"Lexical error: unrecognized text {snippet!r}", line=line, column=col, template=template
            )
        start, end = m.start(), m.end()
        text = m.group(0)
        kind: str | None = action
        if action[0] == "!":
            kind = None
            if action == "!content":
                if text[-2:] == "\\\\":
                    text = text[:-1]
                    stack.append("mu")
                elif text[-1:] == "\\":
                    text = text[:-1]
                    stack.append("emu")
                else:
                    stack.append("mu")
                if text:
                    kind = "CONTENT"
            elif action == "!emu":
                stack.pop()
                kind = "CONTENT"
            elif action == "!raw_open":
                stack.append("raw")
                kind = "CONTENT"
            elif action == "!raw_close":
                stack.pop()
                if stack[-1] == "raw":
                    kind = "CONTENT"
                else:
                    text = text[5:-4]
                    kind = "END_RAW_BLOCK"
            elif action == "!close_raw_block":
                stack.pop()
                stack.append("raw")
                kind = "CLOSE_RAW_BLOCK"
            elif action == "!INVERSE":
                stack.pop()
                kind = "INVERSE"
            elif action == "!comment_start":
                # unput: re-lex the same text in the comment state
                stack.pop()
                stack.append("com")
                continue
            elif action in ("!comment_end", "!COMMENT"):
                stack.pop()
                kind = "COMMENT"
            elif action == "!skip":
                pos = end
                continue
            elif action in ("!CLOSE_UNESCAPED", "!CLOSE"):
                stack.pop()
                kind = action[1:]
            elif action == "!dstring":
                text = text[1:-1].replace('\\"', '"')
                kind = "STRING"
            elif action == "!sstring":
                text = text[1:-1].replace("\\'", "'")
                kind = "STRING"
            elif action == "!bracket_id":
                text = _BRACKET_UNESCAPE.sub(r"\1", text)
                kind = "ID"
        if kind is not None:
            line, col = _line_col(start)
            yield Token(kind, text, start, end, line, col)
            if kind == "EOF":
                return
            count += 1
            if deadline is not None and count % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
                raise CompileBudgetExceeded(line=line, column=col, template=template)
        if end == pos and kind is None and action != "!content":
            # zero-width match that produced no token would loop forever (cannot happen with these rules)
            raise AssertionError("lexer made no progress")  # pragma: no cover
        pos = end
        if pos > n:  # pragma: no cover - defensive
            break
