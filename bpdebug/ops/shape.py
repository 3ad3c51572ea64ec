"""Shape ops: reshape, flatten, concat and stack. Values are only moved, so each VJP moves the
upstream gradient back: reshaped to the input's shape, or split into the parts' slices."""
from __future__ import annotations

import numpy as np

from .op import LIST, REQUIRED, Op, axes_of


def _count(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _reshape_shape(x: tuple, shape: tuple) -> tuple:
    n, known = _count(x), _count(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or n % known:
            raise ValueError(f"{n} elements cannot be arranged as {list(shape)}")
        return tuple(n // known if s == -1 else s for s in shape)
    if known != n:
        raise ValueError(f"{n} elements cannot be reshaped to {list(shape)} ({known} elements)")
    return tuple(shape)


def _flatten_shape(x: tuple) -> tuple:
    if not x:
        raise ValueError("flatten keeps axis 0 (the batch), and a scalar has no axes")
    return (x[0], _count(x[1:]))


def _parts(name: str, shapes: tuple) -> None:
    if not shapes:
        raise ValueError(f"{name} needs at least one part")
    if any(s == () for s in shapes):
        raise ValueError(f"{name} joins tensors; a part is a scalar" +
                         (" (stack([a, b]) makes a vector of scalars)" if name == "concat" else ""))


def _concat_shape(*shapes, axis) -> tuple:
    _parts("concat", shapes)
    (a,) = axes_of(axis, len(shapes[0]))
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(x != y for k, (x, y) in enumerate(zip(s, first)) if k != a):
            raise ValueError(f"parts of shapes {first} and {s} differ on an axis other than {axis}")
    return first[:a] + (sum(s[a] for s in shapes),) + first[a + 1:]


def _stack_shape(*shapes, axis) -> tuple:
    if not shapes:
        raise ValueError("stack needs at least one part")
    first = shapes[0]
    if any(s != first for s in shapes):
        raise ValueError(f"stack needs parts of one shape; got {' and '.join(map(str, sorted(set(shapes))))}")
    (a,) = axes_of(axis, len(first) + 1)
    return first[:a] + (len(shapes),) + first[a:]


def _concat_vjp(g, out, *parts, axis):
    ends = np.cumsum([np.shape(p)[axis] for p in parts])[:-1]
    return tuple(np.split(g, ends, axis=axis))


def _stack_vjp(g, out, *parts, axis):
    return tuple(np.take(g, k, axis=axis) for k in range(len(parts)))


OPS = [
    Op("reshape", 1, lambda x, shape: np.reshape(x, shape), lambda g, out, x, shape: (np.reshape(g, np.shape(x)),),
       "reshape({0}, {shape})", ("dout reshaped back to {0}'s shape",), shape=_reshape_shape,
       attrs={"shape": REQUIRED}, positional=("shape",)),
    Op("flatten", 1, lambda x: np.reshape(x, _flatten_shape(np.shape(x))), lambda g, out, x: (np.reshape(g, np.shape(x)),),
       "flatten({0})", ("dout reshaped back to {0}'s shape",), shape=_flatten_shape),
    Op("concat", LIST, lambda *parts, axis: np.concatenate(parts, axis=axis), _concat_vjp, "concat",
       ("its slice of dout",), shape=_concat_shape, attrs={"axis": 0}),
    Op("stack", LIST, lambda *parts, axis: np.stack(parts, axis=axis), _stack_vjp, "stack",
       ("its slice of dout",), shape=_stack_shape, attrs={"axis": 0}),
]
