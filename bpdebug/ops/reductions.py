"""Reductions and normalizations along axes: sum, mean, softmax, log_softmax."""
from __future__ import annotations

import numpy as np

from .op import Op


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _expand_reduced(g, shape, axis):
    """Give a reduced gradient back its reduced axes so it broadcasts against the input."""
    if axis is None:
        return np.broadcast_to(g, shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.broadcast_to(np.expand_dims(g, tuple(a % len(shape) for a in axes)), shape)


def _reduced_count(shape, axis) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64)) if shape else 1
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


def _softmax_vjp(g, out, x, axis=-1):
    return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


def _log_softmax_vjp(g, out, x, axis=-1):
    return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


OPS = [
    Op("sum", 1, lambda x, axis=None: np.sum(x, axis=axis),
       lambda g, out, x, axis=None: (_expand_reduced(g, np.shape(x), axis) * 1.0,),
       "sum({0})", ("1",), attrs=("axis",)),
    Op("mean", 1, lambda x, axis=None: np.mean(x, axis=axis),
       lambda g, out, x, axis=None: (_expand_reduced(g, np.shape(x), axis) / _reduced_count(np.shape(x), axis),),
       "mean({0})", ("1/n",), attrs=("axis",)),
    Op("softmax", 1, _softmax, _softmax_vjp, "softmax({0})", ("out*(dout - sum(dout*out))",), attrs=("axis",)),
    Op("log_softmax", 1, _log_softmax, _log_softmax_vjp, "log_softmax({0})",
       ("dout - softmax({0})*sum(dout)",), attrs=("axis",)),
]
