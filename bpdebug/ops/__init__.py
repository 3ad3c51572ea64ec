"""The op table: every operation bpdebug knows, its forward, its vector-Jacobian product,
its local derivative as readable text, its output shape, and where it has kinks. Adding an op
is one entry in the family it belongs to:

    elementwise.py  arithmetic, exp/log/..., relu and its cousins, max/min of two arguments,
                    clip, where, stop_gradient, dropout
    compare.py      comparisons (`x > 0`): 0/1 masks, no gradient
    reductions.py   sum, mean, max/min of one argument, logsumexp, argmax/argmin, softmax
    linalg.py       matmul, dot, outer, transpose
    shape.py        reshape, flatten, concat, stack
    indexing.py     `x[1:3]`, `W[:, 0]`: one op, the key an attribute
    conv.py         conv2d, maxpool2d, avgpool2d

Each op serves two kinds of node. Scalar nodes (every input and the output of shape ()) use
the `fs`/`vjps` functions on Python floats, which are ten times cheaper than 0-d numpy arrays;
tensor nodes use the numpy ones. Where one definition works for both, it is given once.
A VJP takes (upstream gradient, output, *inputs, **attrs) and returns one contribution per
input; for elementwise ops that contribution has the broadcast shape and the engine sums it
back to the input's shape. Shapes come from each op's shape rule, so building a graph never
computes a value. The table knows nothing of graphs.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import compare, conv, elementwise, indexing, linalg, reductions, shape
from .op import LIST, REQUIRED, Op, broadcast, same_shape

OPS: dict[str, Op] = {op.name: op for op in [
    Op("leaf", 0, None, lambda g, out: (), "{value}"),
    Op("const", 0, None, lambda g, out: (), "{value}"),
    *elementwise.OPS,
    *compare.OPS,
    *linalg.OPS,
    *reductions.OPS,
    *shape.OPS,
    *indexing.OPS,
    *conv.OPS,
    # The node a call of a user `def` ends in: it passes its body's result through.
    Op("return", 1, lambda x: x, lambda g, out, x: (g,), "{0}", ("1",), shape=same_shape),
]}

# the ops written as operators (comparisons by their names: `x > 0` is gt)
BINARY = frozenset({"add", "sub", "mul", "div", "pow", "matmul", *(op.name for op in compare.OPS)})
# the ops a program calls by name (`x[1:3]` is written with brackets only)
FUNCTIONS = {name: op for name, op in OPS.items() if name not in ("leaf", "const", "return", "index")}
FUNCTIONS["detach"] = OPS["stop_gradient"]
# Called with one argument, max and min reduce; with two they stay elementwise.
REDUCING = {"max": OPS["reduce_max"], "min": OPS["reduce_min"]}


def function(name: str, args: int) -> Op | None:
    """The op a call `name(...)` with `args` positional arguments means."""
    if args == 1 and name in REDUCING:
        return REDUCING[name]
    return FUNCTIONS.get(name)


def scalar_forward(op: Op) -> Callable:
    return op.fs or op.f


def scalar_vjp(op: Op) -> Callable:
    return op.vjps or op.vjp


def infer_shape(op: Op, shapes: list[tuple], attrs: dict) -> tuple:
    """The output shape of `op` on inputs of these shapes (ValueError if they do not fit), from
    its shape rule. An op without one (a Python op, say) runs on stand-ins that hold one number
    broadcast to each shape."""
    rule = op.shape or (broadcast if op.elementwise else None)
    if rule is not None:
        return tuple(rule(*shapes, **attrs))
    with np.errstate(all="ignore"):
        stand_ins = [np.broadcast_to(1.0, s) for s in shapes]
        return np.shape(op.f(*stand_ins, **attrs))


__all__ = ["BINARY", "FUNCTIONS", "LIST", "OPS", "REDUCING", "REQUIRED", "Op", "function", "infer_shape", "scalar_forward",
           "scalar_vjp"]
