"""The syntax tree of a bpdebug program: frozen dataclasses, each with a source span.

Trees can be 100,000 levels deep, so nothing here (or anywhere that walks them) recurses:
`eq=False` keeps dataclasses from generating recursive __eq__/__hash__.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import numbers
from ..numbers import MAX_INT
from .errors import BpError, Span

# The op a comparison or an augmented assignment is written with (`x > 0` is gt, `c += e` add).
COMPARISONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
AUGMENTED = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "**=": "pow", "@=": "matmul"}


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
    op: str  # add sub mul div pow matmul, lt le gt ge eq ne, and in conditions: and or
    left: object
    right: object
    span: Span


@dataclass(frozen=True, eq=False)
class Call:
    """`f(a, k=v)`, and a method call `(a + b).relu()`, which is `relu(a + b)` (method=True).
    `x.relu()` and `np.exp(x)` come as a call of the dotted name; the builder resolves it."""

    func: str
    args: tuple
    kwargs: tuple  # ((name, expr, span), ...)
    span: Span
    func_span: Span
    method: bool = False


@dataclass(frozen=True, eq=False)
class Index:
    """`x[1:3, 0]`: key holds one expression or Slice per axis; each must be a whole number."""

    operand: object
    key: tuple
    span: Span


@dataclass(frozen=True, eq=False)
class Slice:
    """`start:stop:step`, each part an expression or None."""

    start: object
    stop: object
    step: object
    span: Span


@dataclass(frozen=True, eq=False)
class Assign:
    """`x = e`, `param x = e`, `loss x = e`, `data x = e` (kind is "", "param", "loss", "data").
    `x += e` comes as `x = x + (e)`."""

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


def index_parts(e: Index) -> tuple:
    """The key of `x[1:3, 0]` as ints and slices; a BpError at a part that is not a whole number
    written in place (indices are fixed when the graph is built, as shapes are)."""
    def whole(part) -> int:
        if not isinstance(part, Num):
            raise BpError("an index must be a whole number written here, such as x[0], x[-1] or x[1:3]",
                          part.span, hint="indices computed from values are not supported; a 0/1 mask "
                          "such as x * (x > 0) picks elements by their value")
        try:
            return numbers.whole(part.value, -MAX_INT, MAX_INT)
        except ValueError as err:
            raise BpError(f"an index {err}", part.span,
                          hint="indices count elements from 0 (or from the end, with -1)") from None

    return tuple(slice(*(None if p is None else whole(p) for p in (k.start, k.stop, k.step)))
                 if isinstance(k, Slice) else whole(k) for k in e.key)
