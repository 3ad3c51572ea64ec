"""The op table: every operation bpdebug knows, its forward, its vector-Jacobian product,
its local derivative as readable text, and where it has kinks. Adding an op is one entry in
the family it belongs to:

    elementwise.py  arithmetic, exp/log/..., relu, max/min of two arguments
    reductions.py   sum, mean, softmax, log_softmax
    linalg.py       matmul, transpose

Each op serves two kinds of node. Scalar nodes (every input and the output of shape ()) use
the `fs`/`vjps` functions on Python floats, which are ten times cheaper than 0-d numpy arrays;
tensor nodes use the numpy ones. Where one definition works for both, it is given once.
A VJP takes (upstream gradient, output, *inputs) and returns one contribution per input; for
elementwise ops that contribution has the broadcast shape and the engine sums it back to the
input's shape. The table knows nothing of graphs.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import elementwise, linalg, reductions
from .op import Op

OPS: dict[str, Op] = {op.name: op for op in [
    Op("leaf", 0, None, lambda g, out: (), "{value}"),
    Op("const", 0, None, lambda g, out: (), "{value}"),
    *elementwise.OPS,
    *linalg.OPS,
    *reductions.OPS,
    # The node a call of a user `def` ends in: it passes its body's result through.
    Op("return", 1, lambda x: x, lambda g, out, x: (g,), "{0}", ("1",)),
]}

BINARY = frozenset({"add", "sub", "mul", "div", "pow", "matmul"})  # the ops written as operators
FUNCTIONS = {name: op for name, op in OPS.items() if name not in ("leaf", "const", "return")}


def scalar_forward(op: Op) -> Callable:
    return op.fs or op.f


def scalar_vjp(op: Op) -> Callable:
    return op.vjps or op.vjp


def infer_shape(op: Op, shapes: list[tuple], attrs: dict) -> tuple:
    """The output shape of `op` on inputs of these shapes (ValueError if they do not fit)."""
    if all(s == () for s in shapes) and op.name not in ("matmul", "transpose", "softmax", "log_softmax"):
        return ()
    if op.name == "matmul" and any(len(s) == 0 for s in shapes):
        raise ValueError("matmul needs operands with at least one axis")
    with np.errstate(all="ignore"):
        dummies = [np.ones(s) for s in shapes]
        return np.shape(op.f(*dummies, **attrs))
