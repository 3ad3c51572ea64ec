"""Arguments that are not nodes (axis=, stride=, seed=, p=, reshape's shape, a layer's units):
each kind is read and checked here, once, so that every number a user types is a whole,
finite number in range before any op or initializer sees it, or a located error.

They are fixed when the graph is built, so each must be written as a literal: `seed=y` is an
error, not a read of y.
"""
from __future__ import annotations

import math

from ..lang import ast
from .nodes import format_number

MAX_INT = 2**31 - 1          # sizes, strides, padding, units, axes
MAX_SEED = 2**32 - 1
MAX_ELEMENTS = 10**8         # the most elements a tensor the builder makes may hold (800 MB)


def _number(builder, e, what: str) -> float:
    if isinstance(e, ast.Num):
        return e.value
    got = f"the name '{e.name}'" if isinstance(e, ast.Name) else "an expression"
    raise builder.error(f"{what} takes a number written out, not {got}", e.span,
                        "arguments such as axis=, seed= or stride= are fixed when the graph is built")


def whole(builder, e, what: str, lo: int = 0, hi: int = MAX_INT) -> int:
    """A whole number in [lo, hi]."""
    v = _number(builder, e, what)
    if not math.isfinite(v) or v != int(v):
        raise builder.error(f"{what} must be a whole number, not {format_number(v)}", e.span, MEANING.get(what))
    if not lo <= v <= hi:
        raise builder.error(f"{what} must be between {lo} and {hi}; got {format_number(v)}", e.span,
                            MEANING.get(what))
    return int(v)


def real(builder, e, what: str, lo: float = -math.inf, hi: float = math.inf, below: bool = False) -> float:
    """A finite number in [lo, hi] ([lo, hi) with below=True)."""
    v = _number(builder, e, what)
    if not math.isfinite(v) or not lo <= v <= hi or (below and v == hi):
        limits = "" if math.isinf(lo) else f" in [{format_number(lo)}, {format_number(hi)}{')' if below else ']'}"
        raise builder.error(f"{what} must be a finite number{limits}; got {format_number(v)}", e.span,
                            MEANING.get(what))
    return v


def boolean(builder, e, what: str) -> bool:
    if isinstance(e, ast.Name) and e.name in ("true", "false"):
        return e.name == "true"
    raise builder.error(f"{what} takes true or false", e.span, MEANING.get(what))


def _items(builder, e, what: str, most: int) -> tuple:
    if not e.items or len(e.items) > most:
        raise builder.error(f"{what} takes 1 to {most} numbers in its list", e.span, MEANING.get(what))
    return e.items


def axis(builder, e, what: str = "axis"):
    """An axis or a list of them; negative axes count from the end. Whether they exist is
    the op's shape rule to say, which knows the input."""
    if isinstance(e, ast.Tensor):
        return tuple(whole(builder, i, what, -MAX_INT, MAX_INT) for i in _items(builder, e, what, 32))
    return whole(builder, e, what, -MAX_INT, MAX_INT)


def window(builder, e, what: str, lo: int = 1):
    """A window size or stride (at least 1; padding at least 0): one number or [height, width]."""
    if isinstance(e, ast.Tensor):
        items = _items(builder, e, what, 2)
        if len(items) != 2:
            raise builder.error(f"{what} takes one number or two, [height, width]", e.span, MEANING.get(what))
        return tuple(whole(builder, i, what, lo) for i in items)
    return whole(builder, e, what, lo)


def new_shape(builder, e, what: str = "shape") -> tuple:
    """reshape's target: sizes, one of which may be -1 (whatever is left)."""
    items = _items(builder, e, what, 32) if isinstance(e, ast.Tensor) else (e,)
    sizes = tuple(whole(builder, i, what, -1) for i in items)
    if sizes.count(-1) > 1:
        raise builder.error("a shape may leave one size to be worked out (-1), not more", e.span, MEANING[what])
    return sizes


MEANING = {
    "axis": "axes count from 0; -1 is the last",
    "axes": "the axes in their new order, such as [0, 2, 1]; -1 is the last",
    "shape": "the new sizes, such as [2, 3]; one of them may be -1, worked out from the others",
    "size": "the window's height and width: one number, or [height, width]",
    "stride": "how far the window moves at each step: at least 1, or [down, across]",
    "kernel": "the filters' height and width: one number, or [height, width]",
    "padding": "zeros added around the image: 0 or more, or [top and bottom, left and right]",
    "seed": "any whole number from 0 to 2^32 - 1; the same seed draws the same numbers",
    "p": "the share of elements dropout sets to 0: 0 keeps them all, 0.5 drops half",
    "slope": "leaky_relu's slope for negative inputs, such as 0.01",
    "alpha": "elu's scale for negative inputs, such as 1",
    "units": "how many units (outputs) the layer has: 1 or more",
    "channels": "how many filters (output channels) the layer has: 1 or more",
    "bias": "bias=false leaves the layer without a bias",
    "train": "train=false makes the layer's W and b plain leaves, which training leaves alone",
}

KINDS = {
    "axis": axis,
    "axes": axis,
    "shape": new_shape,
    "size": window,
    "stride": window,
    "kernel": window,
    "padding": lambda builder, e, what: window(builder, e, what, lo=0),
    "seed": lambda builder, e, what: whole(builder, e, what, 0, MAX_SEED),
    "p": lambda builder, e, what: real(builder, e, what, 0.0, 1.0, below=True),
    "slope": real,
    "alpha": real,
    "units": lambda builder, e, what: whole(builder, e, what, 1),
}


def argument(builder, key: str, e):
    """The value of `key=e`, checked for its kind (a keyword of an op written in Python, which
    has no kind here: a finite number)."""
    return KINDS.get(key, real)(builder, e, key)
