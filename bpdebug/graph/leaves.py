"""Leaves: literal numbers, tensor literals and initializers (`zeros(3)`, `randn(2, 3, seed=0)`).

Each function takes the builder, for its located errors. Nothing here recurses: a tensor
literal is walked with an explicit stack.
"""
from __future__ import annotations

import math

import numpy as np

from ..lang import ast
from ..numbers import format_number
from .arguments import MEANING, argument, check_size, sizes

INITIALIZERS = ("zeros", "ones", "randn", "uniform", "eye")
MAX_TENSOR_DEPTH = 32


def constant(builder, e):
    """The value of a literal, tensor literal or initializer call."""
    if isinstance(e, ast.Num):
        return e.value
    if isinstance(e, ast.Tensor):
        return tensor(builder, e)
    if isinstance(e, ast.Call) and e.func in INITIALIZERS:
        return initializer(builder, e)
    raise builder.error("expected a number, a tensor literal or an initializer", e.span)

def tensor(builder, root: ast.Tensor) -> np.ndarray:
    # Iterative, with the shape checked at every level, so ragged input gets a located error.
    shapes: dict[int, tuple] = {}
    stack = [(root, 0, False)]
    while stack:
        e, depth, done = stack.pop()
        if depth > MAX_TENSOR_DEPTH:
            raise builder.error(f"tensor literal nested deeper than {MAX_TENSOR_DEPTH} levels", e.span)
        if isinstance(e, ast.Num):
            shapes[id(e)] = ()
            continue
        if not isinstance(e, ast.Tensor):
            raise builder.error("a tensor literal holds numbers only", e.span)
        if not done:
            stack.append((e, depth, True))
            stack.extend((i, depth + 1, False) for i in e.items)
            continue
        if not e.items:
            raise builder.error("empty tensor literal; use zeros(n) for an empty-looking tensor", e.span)
        first = shapes[id(e.items[0])]
        for item in e.items[1:]:
            if shapes[id(item)] != first:
                raise builder.error(f"ragged tensor literal: this entry has shape {shapes[id(item)]}, "
                                    f"the first has shape {first}", item.span)
        shapes[id(e)] = (len(e.items),) + first
    flat = []
    stack = [root]
    while stack:
        e = stack.pop()
        if isinstance(e, ast.Num):
            flat.append(e.value)
        else:
            stack.extend(reversed(e.items))
    return np.array(flat, dtype=float).reshape(shapes[id(root)])

def initializer(builder, e: ast.Call) -> np.ndarray:
    """zeros, ones, eye, randn or uniform, every argument checked (arguments.py) and the size
    refused past the limit before anything is allocated."""
    if not e.args:
        raise builder.error(f"{e.func}() needs at least one size, such as {e.func}(3)", e.span)
    allowed = {"zeros": (), "ones": (), "eye": (), "randn": ("seed", "scale"),
               "uniform": ("lo", "hi", "seed")}[e.func]
    dims = sizes(builder, e)
    kw = {}
    for key, value, span in e.kwargs:
        if key not in allowed:
            raise builder.error(f"{e.func}() has no argument '{key}'" +
                                (f" (it accepts {', '.join(allowed)})" if allowed else ""), span)
        kw[key] = argument(builder, key, value)
    if e.func == "eye":
        if len(dims) != 1:
            raise builder.error("eye(n) takes one size", e.span)
        dims = dims * 2
    check_size(builder, f"{e.func}() in '{builder.target}'", dims, e.span)
    lo, hi = kw.get("lo", -1.0), kw.get("hi", 1.0)
    if e.func == "uniform" and not (lo <= hi and math.isfinite(hi - lo)):
        raise builder.error(f"uniform() draws between lo and hi, so lo must not be above hi and hi - lo "
                            f"must be a finite number; got lo={format_number(lo)}, hi={format_number(hi)}",
                            e.span, MEANING["lo"])
    if e.func in ("zeros", "ones", "eye"):
        return {"zeros": np.zeros, "ones": np.ones, "eye": lambda d: np.eye(d[0])}[e.func](dims)
    rng = np.random.default_rng(kw.get("seed", 0))
    if e.func == "randn":
        return rng.standard_normal(dims) * kw.get("scale", 1.0)
    return rng.uniform(lo, hi, dims)


def is_constant(e) -> bool:
    """A literal number, a tensor literal of numbers, or an initializer call."""
    if isinstance(e, ast.Num):
        return True
    if isinstance(e, ast.Call):
        return e.func in INITIALIZERS
    if not isinstance(e, ast.Tensor):
        return False
    stack = list(e.items)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Tensor):
            stack.extend(item.items)
        elif not isinstance(item, ast.Num):
            return False
    return True


def first_non_number(e: ast.Tensor):
    stack = list(reversed(e.items))
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Tensor):
            stack.extend(reversed(item.items))
        elif not isinstance(item, ast.Num):
            return item
    return e
