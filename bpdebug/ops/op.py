"""The Op record every entry of the op table is, and the helpers entries are written with."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    f: Callable                      # numpy forward: f(*inputs, **attrs)
    vjp: Callable                    # vjp(g, out, *inputs, **attrs) -> tuple, one per input
    formula: str                     # "{0}*{1}": how the node reads, with input names
    local: tuple = ()                # local derivative per input, as text ("{1}" for d(a*b)/da)
    fs: Callable | None = None       # scalar forward on floats, when different from f
    vjps: Callable | None = None     # scalar vjp on floats, when different from vjp
    elementwise: bool = False        # broadcasting op: contributions get summed back to shape
    kink: Callable | None = None     # kink(*inputs) -> True where the derivative is a convention
    kink_rule: str = ""              # the convention used there
    attrs: tuple = ()                # keyword arguments the op accepts
    partial_vjp: bool = False        # vjp takes need=(bool per input) and skips the others (None)
    custom: object = field(default=None, compare=False)  # a user `def` (see bpdebug.custom)
    # An op written in Python (bpdebug.imports.python_ops): python.bind(graph, node) gives the
    # kernel that node's (forward, vjp), which name the node when the user's code fails.
    python: object = field(default=None, compare=False)


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


def unary(name, f, dfdx, formula, local, fs=None, dfs=None, **kw):
    """An elementwise one-input op from its forward and its derivative dfdx(x, out)."""
    return Op(name, 1, f, lambda g, out, x: (g * dfdx(x, out),), formula, (local,),
              fs=fs, vjps=(lambda g, out, x: (g * dfs(x, out),)) if dfs else None,
              elementwise=True, **kw)




def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # stable for large |x|


def sigmoid_s(x):
    return 0.5 * (math.tanh(0.5 * x) + 1.0)
