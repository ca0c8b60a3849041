"""Port of handlebars.js' ``WhitespaceControl`` visitor: ``~`` stripping and standalone-line removal."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ast import Block, Comment, Content, Mustache, Partial, PartialBlock, Program, Statement
from .jsvalues import JS_WS

__all__ = ["WhitespaceControl"]

_S = f"[{JS_WS}]"
_PREV_WS = re.compile(r"\r?\n" + _S + r"*\Z")
_PREV_WS_ROOT = re.compile(r"(?:\A|\r?\n)" + _S + r"*\Z")
_NEXT_WS = re.compile(r"\A" + _S + r"*?\r?\n")
_NEXT_WS_ROOT = re.compile(r"\A" + _S + r"*?(?:\r?\n|\Z)")
_RIGHT_MULTI = re.compile(r"\A" + _S + "+")
_RIGHT_ONE = re.compile(r"\A[ \t]*\r?\n?")
_LEFT_MULTI = re.compile(_S + r"+\Z")
_LEFT_ONE = re.compile(r"[ \t]+\Z")
_INDENT = re.compile(r"[ \t]+\Z")


@dataclass(slots=True)
class _StripInfo:
    open: bool = False
    close: bool = False
    open_standalone: bool = False
    close_standalone: bool = False
    inline_standalone: bool = False


def _is_prev_whitespace(body: list[Statement], i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i - 1 >= 0 else None
    sibling = body[i - 2] if i - 2 >= 0 else None
    if prev is None:
        return is_root
    if isinstance(prev, Content):
        regex = _PREV_WS if (sibling is not None or not is_root) else _PREV_WS_ROOT
        return regex.search(prev.original) is not None
    return False


def _is_next_whitespace(body: list[Statement], i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = -1
    nxt = body[i + 1] if 0 <= i + 1 < len(body) else None
    sibling = body[i + 2] if 0 <= i + 2 < len(body) else None
    if nxt is None:
        return is_root
    if isinstance(nxt, Content):
        regex = _NEXT_WS if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return regex.match(nxt.original) is not None
    return False


def _omit_right(body: list[Statement], i: int | None = None, multiple: bool = False) -> None:
    j = 0 if i is None else i + 1
    current = body[j] if 0 <= j < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.right_stripped):
        return
    original = current.value
    current.value = (_RIGHT_MULTI if multiple else _RIGHT_ONE).sub("", original, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: list[Statement], i: int | None = None, multiple: bool = False) -> bool:
    j = len(body) - 1 if i is None else i - 1
    current = body[j] if 0 <= j < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = (_LEFT_MULTI if multiple else _LEFT_ONE).sub("", original, count=1)
    current.left_stripped = current.value != original
    return current.left_stripped


class WhitespaceControl:
    def __init__(self) -> None:
        self.is_root_seen = False

    def accept_root(self, program: Program) -> None:
        self.program(program)

    def program(self, program: Program) -> None:
        is_root = not self.is_root_seen
        self.is_root_seen = True
        body = program.body
        for i, current in enumerate(body):
            strip = self.accept(current)
            if strip is None:
                continue
            prev_ws = _is_prev_whitespace(body, i, is_root)
            next_ws = _is_next_whitespace(body, i, is_root)
            open_standalone = strip.open_standalone and prev_ws
            close_standalone = strip.close_standalone and next_ws
            inline_standalone = strip.inline_standalone and prev_ws and next_ws
            if strip.close:
                _omit_right(body, i, True)
            if strip.open:
                _omit_left(body, i, True)
            if inline_standalone:
                _omit_right(body, i)
                if _omit_left(body, i) and isinstance(current, Partial):
                    prev = body[i - 1]
                    assert isinstance(prev, Content)
                    m = _INDENT.search(prev.original)
                    current.indent = m.group(0) if m else ""
            if open_standalone:
                assert isinstance(current, Block | PartialBlock)
                inner = current.program if current.program is not None else _inverse_of(current)
                if inner is not None:
                    _omit_right(inner.body)
                _omit_left(body, i)
            if close_standalone:
                assert isinstance(current, Block | PartialBlock)
                _omit_right(body, i)
                inner = _inverse_of(current) or current.program
                if inner is not None:
                    _omit_left(inner.body)

    def accept(self, node: Statement) -> _StripInfo | None:
        if isinstance(node, Mustache):
            return _StripInfo(open=node.strip.open, close=node.strip.close)
        if isinstance(node, Partial | Comment):
            return _StripInfo(open=node.strip.open, close=node.strip.close, inline_standalone=True)
        if isinstance(node, Block | PartialBlock):
            return self.block(node)
        return None

    def block(self, block: Block | PartialBlock) -> _StripInfo:
        block_inverse = _inverse_of(block)
        if block.program is not None:
            self.program(block.program)
        if block_inverse is not None:
            self.program(block_inverse)

        program = block.program if block.program is not None else block_inverse
        assert program is not None
        inverse = block_inverse if block.program is not None else None
        first_inverse = inverse
        last_inverse = inverse
        if inverse is not None and inverse.chained:
            first_block = inverse.body[0]
            assert isinstance(first_block, Block)
            first_inverse = first_block.program
            while last_inverse is not None and last_inverse.chained:
                last_block = last_inverse.body[-1]
                assert isinstance(last_block, Block)
                last_inverse = last_block.program

        close_strip = block.close_strip
        strip = _StripInfo(
            open=block.open_strip.open,
            close=bool(close_strip and close_strip.close),
            open_standalone=_is_next_whitespace(program.body),
            close_standalone=_is_prev_whitespace((first_inverse or program).body),
        )
        if block.open_strip.close:
            _omit_right(program.body, None, True)
        if inverse is not None:
            assert isinstance(block, Block)
            inverse_strip = block.inverse_strip
            assert first_inverse is not None and last_inverse is not None
            if inverse_strip is not None and inverse_strip.open:
                _omit_left(program.body, None, True)
            if inverse_strip is not None and inverse_strip.close:
                _omit_right(first_inverse.body, None, True)
            if close_strip is not None and close_strip.open:
                _omit_left(last_inverse.body, None, True)
            if _is_prev_whitespace(program.body) and _is_next_whitespace(first_inverse.body):
                _omit_left(program.body)
                _omit_right(first_inverse.body)
        elif close_strip is not None and close_strip.open:
            _omit_left(program.body, None, True)
        return strip


def _inverse_of(node: Block | PartialBlock) -> Program | None:
    return node.inverse if isinstance(node, Block) else None
