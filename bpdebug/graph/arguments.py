"""Arguments that are not nodes (axis=, stride=, seed=, p=, reshape's shape, a layer's units):
each kind is read and checked here, once, so that every number a user types is a whole,
finite number in range before any op or initializer sees it, or a located error.

They are fixed when the graph is built, so each must be written as a literal: `seed=y` is an
error, not a read of y.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar

from .. import numbers
from ..numbers import MAX_INT
from ..lang import BpError, ast

MAX_SEED = 2**32 - 1
MAX_ELEMENTS = 10**8         # the most elements a tensor may hold by default (800 MB): --max-elements
_LIMIT: ContextVar[int] = ContextVar("max_elements", default=MAX_ELEMENTS)


# ---- the size of every tensor -------------------------------------------------------------------
@contextmanager
def elements_limited(limit: int):
    """Build with at most `limit` elements a tensor (`--max-elements`), instead of MAX_ELEMENTS."""
    token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def max_elements() -> int:
    return _LIMIT.get()


def check_size(builder, what: str, shape: tuple, span) -> None:
    """Refuse a tensor of `shape` past the limit, before anything is allocated: leaves,
    initializers, literals, data and op outputs alike."""
    err = size_error(what, shape)
    if err is not None:
        raise builder.error(err.message, span, err.hint)


def size_error(what: str, shape: tuple) -> BpError | None:
    """The error for a tensor of `shape` past the limit, else None. Sizes are Python ints, which
    do not wrap (numpy's product of (2^32, 2^32) is 0)."""
    shape = tuple(int(s) for s in shape)
    size = math.prod(shape)
    limit = max_elements()
    largest = max(shape, default=0)
    if size <= limit and largest <= limit:   # a size past the limit is refused even times 0
        return None
    amount = f"{size:,} elements, {_bytes(size * 8)}" if size > limit else f"a size of {largest:,}"
    return BpError(f"{what} would have shape {shape}: {amount}",
                   hint=f"the limit is {limit:,} elements a tensor (--max-elements N changes it); "
                        "check the sizes that lead here")


def _bytes(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:,.0f} EB"


# ---- numbers written in the program ------------------------------------------------------------------
def _number(builder, e, what: str) -> float:
    if isinstance(e, ast.Num):
        return e.value
    got = f"the name '{e.name}'" if isinstance(e, ast.Name) else "an expression"
    raise builder.error(f"{what} takes a number written out, not {got}", e.span,
                        "arguments such as axis=, seed= or stride= are fixed when the graph is built")


def whole(builder, e, what: str, lo: int = 0, hi: int | None = MAX_INT, hint: str | None = None) -> int:
    """A whole number in [lo, hi] (hi None: a size, which check_size bounds with the shape)."""
    try:
        return numbers.whole(_number(builder, e, what), lo, hi)
    except ValueError as err:
        raise builder.error(f"{what} {err}", e.span, hint or MEANING.get(what)) from None


def real(builder, e, what: str, lo: float = -math.inf, hi: float = math.inf, below: bool = False) -> float:
    """A finite number in [lo, hi] ([lo, hi) with below=True)."""
    try:
        return numbers.real(_number(builder, e, what), lo, hi, hi_open=below)
    except ValueError as err:
        raise builder.error(f"{what} {err}", e.span, MEANING.get(what)) from None


def sizes(builder, call: ast.Call) -> tuple:
    """An initializer's sizes: zeros(2, 3)."""
    return tuple(whole(builder, a, f"a size of {call.func}()", 0, None,
                       hint=f"sizes are whole numbers: {call.func}(2, 3) holds 2 rows of 3") for a in call.args)


def column(builder, e) -> int:
    """A csv column by index: 0 is the first, -1 the last (whether it exists, the file says)."""
    return whole(builder, e, "a column index", -MAX_INT, MAX_INT,
                 hint='columns count from 0, and -1 is the last; or name them: cols=["x1", "x2"]')


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
    "scale": "randn's numbers are drawn with mean 0 and this standard deviation",
    "lo": "uniform's numbers are drawn between lo and hi",
    "hi": "uniform's numbers are drawn between lo and hi",
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
    "units": lambda builder, e, what: whole(builder, e, what, 1, None),
    "channels": lambda builder, e, what: whole(builder, e, what, 1, None),
    "scale": real,
    "lo": real,
    "hi": real,
}


def argument(builder, key: str, e):
    """The value of `key=e`, checked for its kind (a keyword of an op written in Python, which
    has no kind here: a finite number)."""
    return KINDS.get(key, real)(builder, e, key)
