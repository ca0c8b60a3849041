"""The syntax tree handlebars.js' parser builds (same node kinds and fields that matter for output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = [
    "Block",
    "BoolLit",
    "Comment",
    "Content",
    "Expr",
    "Hash",
    "Loc",
    "Mustache",
    "NullLit",
    "NumberLit",
    "Partial",
    "PartialBlock",
    "PathExpr",
    "Program",
    "Statement",
    "StringLit",
    "Strip",
    "SubExpr",
    "UndefinedLit",
]


@dataclass(slots=True, frozen=True)
class Loc:
    line: int
    column: int


@dataclass(slots=True)
class Strip:
    open: bool = False
    close: bool = False


@dataclass(slots=True)
class PathExpr:
    data: bool
    depth: int
    parts: list[str]
    original: str
    loc: Loc


@dataclass(slots=True)
class StringLit:
    value: str
    loc: Loc

    @property
    def original(self) -> str:
        return self.value


@dataclass(slots=True)
class NumberLit:
    value: float
    loc: Loc

    @property
    def original(self) -> float:
        return self.value


@dataclass(slots=True)
class BoolLit:
    value: bool
    loc: Loc

    @property
    def original(self) -> bool:
        return self.value


@dataclass(slots=True)
class UndefinedLit:
    loc: Loc
    value: None = None
    original: None = None


@dataclass(slots=True)
class NullLit:
    loc: Loc
    value: None = None
    original: None = None


@dataclass(slots=True)
class Hash:
    pairs: list[tuple[str, Expr]]
    loc: Loc


@dataclass(slots=True)
class SubExpr:
    path: Expr
    params: list[Expr]
    hash: Hash | None
    loc: Loc


Expr = Union[PathExpr, StringLit, NumberLit, BoolLit, UndefinedLit, NullLit, SubExpr]  # noqa: UP007


@dataclass(slots=True)
class Program:
    body: list[Statement]
    block_params: list[str] | None = None
    chained: bool = False


@dataclass(slots=True)
class Content:
    original: str
    value: str
    loc: Loc
    right_stripped: bool = False
    left_stripped: bool = False


@dataclass(slots=True)
class Comment:
    strip: Strip
    loc: Loc


@dataclass(slots=True)
class Mustache:
    path: Expr
    params: list[Expr]
    hash: Hash | None
    escaped: bool
    strip: Strip
    loc: Loc
    decorator: bool = False


@dataclass(slots=True)
class Block:
    path: Expr
    params: list[Expr]
    hash: Hash | None
    program: Program | None
    inverse: Program | None
    open_strip: Strip
    inverse_strip: Strip | None
    close_strip: Strip | None
    loc: Loc
    decorator: bool = False
    raw: bool = False


@dataclass(slots=True)
class Partial:
    name: Expr
    params: list[Expr]
    hash: Hash | None
    strip: Strip
    loc: Loc
    indent: str = ""


@dataclass(slots=True)
class PartialBlock:
    name: Expr
    params: list[Expr]
    hash: Hash | None
    program: Program
    open_strip: Strip
    close_strip: Strip
    loc: Loc


Statement = Union[Content, Comment, Mustache, Block, Partial, PartialBlock]  # noqa: UP007
