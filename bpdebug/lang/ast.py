"""The syntax tree of a bpdebug program: frozen dataclasses, each with a source span.

Trees can be 100,000 levels deep, so nothing here (or anywhere that walks them) recurses:
`eq=False` keeps dataclasses from generating recursive __eq__/__hash__.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import Span


@dataclass(frozen=True, eq=False)
class Num:
    value: float
    span: Span


@dataclass(frozen=True, eq=False)
class Str:
    value: str
    span: Span


@dataclass(frozen=True, eq=False)
class Name:
    name: str
    span: Span


@dataclass(frozen=True, eq=False)
class Tensor:
    """A bracketed literal `[1, [2, 3]]`; items are expressions, checked when the graph is built."""

    items: tuple
    span: Span


@dataclass(frozen=True, eq=False)
class Unary:
    op: str  # "neg" or "not"
    operand: object
    span: Span


@dataclass(frozen=True, eq=False)
class Binary:
    op: str  # add sub mul div pow matmul, and in conditions: and or < <= == != >= >
    left: object
    right: object
    span: Span


@dataclass(frozen=True, eq=False)
class Call:
    func: str
    args: tuple
    kwargs: tuple  # ((name, expr, span), ...)
    span: Span
    func_span: Span


@dataclass(frozen=True, eq=False)
class Assign:
    """`x = e`, `param x = e`, `loss x = e`, `data x = e` (kind is "", "param", "loss", "data")."""

    name: str
    expr: object
    kind: str
    span: Span
    name_span: Span


@dataclass(frozen=True, eq=False)
class Output:
    name: str
    span: Span


@dataclass(frozen=True, eq=False)
class Def:
    name: str
    params: tuple
    body: object
    span: Span


@dataclass(frozen=True, eq=False)
class Grad:
    op: str
    wrt: str
    expr: object
    span: Span
    wrt_span: Span


@dataclass(frozen=True, eq=False)
class Layer:
    name: str
    call: Call
    span: Span


@dataclass(frozen=True, eq=False)
class Train:
    """`train lr=2, optimizer=adam`: the program's own training settings."""

    options: tuple  # ((name, expr, span), ...)
    span: Span


@dataclass(frozen=True, eq=False)
class Program:
    statements: tuple
    source: str
    filename: str | None
