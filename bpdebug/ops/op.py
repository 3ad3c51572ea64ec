"""The Op record every entry of the op table is, and the helpers entries are written with."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

LIST = -1   # the arity of an op that takes one list of inputs: concat([a, b, c])
REQUIRED = "required"   # the default of an attribute a call must give: reshape's shape


@dataclass(frozen=True, eq=False)
class Op:
    name: str
    arity: int                       # inputs, or LIST
    f: Callable                      # numpy forward: f(*inputs, **attrs)
    vjp: Callable                    # vjp(g, out, *inputs, **attrs) -> tuple, one per input
    formula: str                     # "{0}*{1}": how the node reads, with input names (and {attr})
    local: tuple = ()                # local derivative per input, as text ("{1}" for d(a*b)/da)
    fs: Callable | None = None       # scalar forward on floats, when different from f
    vjps: Callable | None = None     # scalar vjp on floats, when different from vjp
    elementwise: bool = False        # broadcasting op: contributions get summed back to shape
    shape: Callable | None = None    # shape(*input_shapes, **attrs) -> output shape, or ValueError;
                                     # elementwise ops broadcast. Building never runs `f`.
    kink: Callable | None = None     # kink(*inputs, **attrs) -> where the derivative is a
                                     # convention: a bool, or a boolean array that broadcasts to
                                     # the output (elementwise) or has its shape
    kink_rule: str = ""              # the convention used there
    kink_wrt: tuple | None = None    # the inputs whose moves the kink concerns (None: all)
    choice: Callable | None = None   # choice(*inputs, **attrs) -> which piece of a piecewise op
                                     # each output element is on: the index max(x) picks, the side
                                     # of 0 for sign (kinks the derivative alone does not show)
    attrs: dict = field(default_factory=dict)   # keyword arguments the op accepts: their defaults
    positional: tuple = ()           # attrs that may follow the inputs without a name: reshape(x, [2, 3])
    partial_vjp: bool = False        # vjp takes need=(bool per input) and skips the others (None)
    constant: str = ""               # the output has no gradient, and what it is for the views
                                     # ("a comparison", "an index"): nothing flows through it
    stops_gradient: bool = False     # backward sends 0 by definition (stop_gradient)
    custom: object = None            # a user `def` (see bpdebug.custom)
    # An op written in Python (bpdebug.imports.python_ops): python.bind(graph, node) gives the
    # kernel that node's (forward, vjp), which name the node when the user's code fails.
    python: object = None


def np_scalar(fn, *args):
    """Evaluate with numpy semantics (inf/nan instead of exceptions): a float, or a tuple of
    floats for a VJP."""
    with np.errstate(all="ignore"):
        result = fn(*(np.float64(a) for a in args))
    return tuple(float(r) for r in result) if isinstance(result, tuple) else float(result)


def guard(fast, slow):
    """A scalar function that falls back to numpy's IEEE answer where math raises."""
    def guarded(*args):
        try:
            return fast(*args)
        except (ZeroDivisionError, ValueError, OverflowError):
            return np_scalar(slow, *args)
    return guarded


def unary(name, f, dfdx, formula, local, fs=None, dfs=None, vjp=None, **kw):
    """An elementwise one-input op, without attributes, from its forward and its derivative
    dfdx(x, out) (or its VJP, where one call of it is cheaper)."""
    return Op(name, 1, f, vjp or (lambda g, out, x: (g * dfdx(x, out),)), formula, (local,),
              fs=fs, vjps=(lambda g, out, x: (g * dfs(x, out),)) if dfs else None,
              elementwise=True, **kw)


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # stable for large |x|


def sigmoid_s(x):
    return 0.5 * (math.tanh(0.5 * x) + 1.0)


def axes_of(axis, ndim: int) -> tuple:
    """The axes `axis` names (None: all of them), each in range(ndim); ValueError otherwise."""
    if axis is None:
        return tuple(range(ndim))
    given = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in given:
        if not -ndim <= a < ndim:
            use = {0: "a scalar has none", 1: "use 0 or -1"}.get(ndim, f"use 0..{ndim - 1}, or -{ndim}..-1 from the end")
            raise ValueError(f"axis {a} is out of range for {ndim} {'axis' if ndim == 1 else 'axes'} ({use})")
    axes = tuple(a % ndim for a in given)
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis} names an axis twice")
    return axes


def reduced_shape(shape: tuple, axis=None, **_) -> tuple:
    """The shape left when `axis` is reduced away."""
    axes = axes_of(axis, len(shape))
    return tuple(s for k, s in enumerate(shape) if k not in axes)


def same_shape(shape: tuple, **_) -> tuple:
    return shape


def broadcast(*shapes, **_) -> tuple:
    first = shapes[0]
    if all(s == first for s in shapes):   # the common case, ten times cheaper
        return first
    return tuple(np.broadcast_shapes(*shapes))
