"""Leaves: literal numbers, tensor literals and initializers (`zeros(3)`, `randn(2, 3, seed=0)`).

Each function takes the builder, for its located errors. Nothing here recurses: a tensor
literal is walked with an explicit stack.
"""
from __future__ import annotations

import numpy as np

from ..lang import ast

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
    dims = []
    for a in e.args:
        if not (isinstance(a, ast.Num) and a.value == int(a.value) and a.value >= 0):
            raise builder.error(f"{e.func}() takes whole-number sizes", a.span)
        dims.append(int(a.value))
    if not dims:
        raise builder.error(f"{e.func}() needs at least one size, such as {e.func}(3)", e.span)
    allowed = {"zeros": (), "ones": (), "eye": (), "randn": ("seed", "scale"),
               "uniform": ("lo", "hi", "seed")}[e.func]
    kw = {}
    for key, value, span in e.kwargs:
        if key not in allowed:
            raise builder.error(f"{e.func}() has no argument '{key}'" +
                                (f" (it accepts {', '.join(allowed)})" if allowed else ""), span)
        if not isinstance(value, ast.Num):
            raise builder.error(f"{key}= takes a number", value.span)
        kw[key] = value.value
    if int(np.prod(dims)) > 50_000_000:
        raise builder.error(f"{e.func}{tuple(dims)} is too large", e.span)
    rng = np.random.default_rng(int(kw.get("seed", 0)))
    if e.func == "zeros":
        return np.zeros(dims)
    if e.func == "ones":
        return np.ones(dims)
    if e.func == "eye":
        if len(dims) != 1:
            raise builder.error("eye(n) takes one size", e.span)
        return np.eye(dims[0])
    if e.func == "randn":
        return rng.standard_normal(dims) * kw.get("scale", 1.0)
    return rng.uniform(kw.get("lo", -1.0), kw.get("hi", 1.0), dims)


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
