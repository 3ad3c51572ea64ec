"""Linear algebra and axis order: matmul (with numpy's 1-D and batch rules) and transpose."""
from __future__ import annotations

import numpy as np

from .op import Op


def _matmul_vjp(g, out, a, b, need=(True, True)):
    # 1-D operands follow numpy's matmul rules: promote, multiply, then drop the added axis.
    # `need` skips a side nobody wants: dL/dX of an input batch costs as much as X @ W.
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


OPS = [
    Op("matmul", 2, np.matmul, _matmul_vjp, "{0} @ {1}", ("dout @ {1}ᵀ", "{0}ᵀ @ dout"), partial_vjp=True),
    Op("transpose", 1, np.transpose, lambda g, out, x: (np.transpose(g),), "transpose({0})", ("dout transposed",)),
]
