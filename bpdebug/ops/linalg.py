"""Linear algebra and axis order: matmul (with numpy's 1-D and batch rules), dot and outer of
vectors, transpose."""
from __future__ import annotations

import numpy as np

from .op import Op, axes_of, broadcast


def _matmul_vjp(g, out, a, b, need=(True, True)):
    # 1-D operands follow numpy's matmul rules: promote, multiply, then drop the added axis.
    # `need` skips a side nobody wants: dL/dX of an input batch costs as much as X @ W.
    if a.ndim == 2 and b.ndim == 2:      # the common case, without the general case's calls
        return g @ b.T if need[0] else None, a.T @ g if need[1] else None
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1 and b.ndim == 1:
        g2 = np.reshape(g, (1, 1))
    elif a.ndim == 1:
        g2 = np.expand_dims(g, -2)
    elif b.ndim == 1:
        g2 = np.expand_dims(g, -1)
    ga = g2 @ np.swapaxes(b2, -1, -2) if need[0] else None
    gb = np.swapaxes(a2, -1, -2) @ g2 if need[1] else None
    if a.ndim == 1 and ga is not None:
        ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:]) if ga.ndim > 2 else ga.reshape(-1)
    if b.ndim == 1 and gb is not None:
        gb = gb.reshape(gb.shape[:-1]) if gb.ndim > 2 else gb.reshape(-1)
    return ga, gb


def _matmul_shape(a: tuple, b: tuple) -> tuple:
    if not a or not b:
        raise ValueError("matmul needs operands with at least one axis")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"the last axis of a ({a2[-1]}) is not the first of b ({b2[-2]})")
    rows = a2[-2:-1] if len(a) > 1 else ()
    cols = b2[-1:] if len(b) > 1 else ()
    return broadcast(a2[:-2], b2[:-2]) + rows + cols


def _vectors(name: str, a: tuple, b: tuple) -> None:
    if len(a) != 1 or len(b) != 1:
        raise ValueError(f"{name} takes two vectors (for matrices, use @)")


def _dot_shape(a: tuple, b: tuple) -> tuple:
    _vectors("dot", a, b)
    if a != b:
        raise ValueError(f"dot needs vectors of the same length, not {a[0]} and {b[0]}")
    return ()


def _outer_shape(a: tuple, b: tuple) -> tuple:
    _vectors("outer", a, b)
    return a + b


def _transpose_shape(s: tuple, axes) -> tuple:
    """The axes reversed, or in the order `axes` gives (every axis once: ONNX's perm)."""
    if axes is None:
        return s[::-1]
    order = axes_of(axes, len(s))
    if len(order) != len(s):
        raise ValueError(f"axes= gives the new order of all {len(s)} axes, each once; got {list(axes)}")
    return tuple(s[a] for a in order)


def _transpose_vjp(g, out, x, axes):
    return (np.transpose(g) if axes is None else np.transpose(g, np.argsort(axes_of(axes, np.ndim(x)))),)


OPS = [
    Op("matmul", 2, np.matmul, _matmul_vjp, "{0} @ {1}", ("dout @ {1}ᵀ", "{0}ᵀ @ dout"), partial_vjp=True,
       shape=_matmul_shape),
    Op("transpose", 1, lambda x, axes: np.transpose(x, axes), _transpose_vjp, "transpose({0})",
       ("dout transposed back",), shape=_transpose_shape, attrs={"axes": None}),
    Op("dot", 2, np.dot, lambda g, out, a, b: (g * b, g * a), "dot({0}, {1})", ("{1}", "{0}"), shape=_dot_shape),
    Op("outer", 2, np.outer, lambda g, out, a, b: (g @ b, a @ g), "outer({0}, {1})", ("dout @ {1}", "{0} @ dout"),
       shape=_outer_shape),
]
