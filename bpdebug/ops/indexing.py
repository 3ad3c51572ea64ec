"""Indexing and slicing with NumPy's basic rules: `x[0]`, `x[-1]`, `x[1:3]`, `x[::2]`, `W[:, 0]`.

One op, `index`, with the key as an attribute: the forward takes the part, the backward puts
the upstream gradient back where the part came from, zeros elsewhere (basic indexing never
picks an element twice, so nothing needs adding up).
"""
from __future__ import annotations

import numpy as np

from .op import REQUIRED, Op


class Key(tuple):
    """An index key (ints and slices, one per axis) that prints as it is written: `[1:3, 0]`."""

    def __str__(self) -> str:
        return "[" + ", ".join(_part(k) for k in self) + "]"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self)


def _part(k) -> str:
    if not isinstance(k, slice):
        return str(k)
    text = ("" if k.start is None else str(k.start)) + ":" + ("" if k.stop is None else str(k.stop))
    return text + (f":{k.step}" if k.step is not None else "")


def key_problem(shape: tuple, key: Key) -> tuple[int, str, str] | None:
    """Why `key` cannot index an array of `shape`: (the part at fault, the problem, a hint);
    None when it can."""
    if not shape:
        return 0, "a scalar has no axes to index", "only tensors can be indexed"
    if len(key) > len(shape):
        return (len(shape), f"{len(key)} indices for {len(shape)} ax{'is' if len(shape) == 1 else 'es'}",
                f"give at most {len(shape)}, one per axis")
    for axis, (k, size) in enumerate(zip(key, shape)):
        if isinstance(k, slice):
            if k.step == 0:
                return axis, "a slice step cannot be zero", "a step of 2 takes every other element, -1 goes backwards"
        elif not -size <= k < size:
            return (axis, f"index {k} is out of range for axis {axis} of size {size}",
                    f"along that axis, indices go from 0 to {size - 1}, or from -{size} to -1 counting "
                    "from the end" if size else "that axis is empty")
    return None


def _index(x, key):
    part = x[key]
    return part if type(part) is np.ndarray else float(part)   # a scalar from a vector: a float


def _index_vjp(g, out, x, key):
    full = np.zeros(np.shape(x))
    full[key] = g
    return (full,)


def _index_shape(shape: tuple, key: Key) -> tuple:
    """An int takes its axis away; a slice keeps as many elements as its range has."""
    problem = key_problem(shape, key)
    if problem:
        raise ValueError(problem[1])
    kept = tuple(len(range(*k.indices(size))) for k, size in zip(key, shape) if isinstance(k, slice))
    return kept + shape[len(key):]


OPS = [
    Op("index", 1, _index, _index_vjp, "{0}{key}", ("dout at {0}{key}, 0 elsewhere",),
       shape=_index_shape, attrs={"key": REQUIRED}),
]
