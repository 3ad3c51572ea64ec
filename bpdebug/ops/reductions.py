"""Reductions and normalizations along axes: sum, mean, max/min of one argument, logsumexp,
argmax/argmin, softmax, log_softmax; and softmax_cross_entropy, a cost reduced to one number.
`axis` is None (every axis), an axis or a list of them."""
from __future__ import annotations

import numpy as np

from .op import Op, axes_of, reduced_shape


def _expand_reduced(g, shape, axis):
    """Give a reduced gradient back its reduced axes so it broadcasts against the input."""
    return np.broadcast_to(np.expand_dims(g, axes_of(axis, len(shape))), shape)


def _reduced_count(shape, axis) -> int:
    return int(np.prod([shape[a] for a in axes_of(axis, len(shape))]))


def _nonempty(shape, axis, name) -> tuple:
    if any(shape[a] == 0 for a in axes_of(axis, len(shape))):
        raise ValueError(f"{name} over an empty axis has no value")   # mean's would be 0/0
    return reduced_shape(shape, axis)


def _one_axis(shape, axis, name) -> tuple:
    if axis is not None and not isinstance(axis, int):
        raise ValueError(f"{name} takes one axis (or none: the index in the flattened tensor)")
    return _nonempty(shape, axis, name)


def _picked(x, axis, pick):
    """The reduced slices side by side on the last axis, and the index `pick` (np.argmax or
    np.argmin) chooses in each: the first one on a tie."""
    x = np.asarray(x)
    axes = axes_of(axis, x.ndim)
    kept = [k for k in range(x.ndim) if k not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (_reduced_count(x.shape, axes),))
    return flat, pick(flat, axis=-1), moved.shape, kept + list(axes)


def _pick_mask(x, axis, pick):
    """True at the element each reduced slice picks."""
    flat, idx, moved_shape, order = _picked(x, axis, pick)
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, idx[..., None], True, axis=-1)
    return np.transpose(mask.reshape(moved_shape), np.argsort(order))


def _ties(x, axis, extreme):
    """Output elements whose slice holds its max (or min) more than once."""
    return np.sum(x == extreme(x, axis=axis, keepdims=True), axis=axis) > 1


def _logsumexp(x, axis):
    axes = axes_of(axis, np.ndim(x))
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)      # all -inf (or inf) slices: nothing to shift by
    s = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return s.reshape(reduced_shape(np.shape(x), axis))[()]   # [()]: a scalar, not a 0-d array


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class _Cost(float):
    """softmax_cross_entropy's value: a float that also carries what its backward step reads
    (exp(z - max), its row sums and log_softmax(z)), as JAX's custom_vjp keeps residuals, so
    that the step does not compute the softmax again. A plain float to everything else (a trace
    replays plain floats: the step then computes them, the same way)."""

    __slots__ = ("parts",)

    def __new__(cls, value: float, parts: tuple):
        cost = float.__new__(cls, value)
        cost.parts = parts
        return cost


def _softmax_parts(z) -> tuple:
    """exp(z - max) along the last axis, its sums, and log_softmax(z) = z - max - log(sums)."""
    shifted = z - np.maximum.reduce(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = np.add.reduce(e, axis=-1, keepdims=True)
    return e, total, shifted - np.log(total)


def _softmax_cross_entropy(z, y):
    """-sum(y * log_softmax(z)) / rows, log_softmax along the last axis, shifted by the max;
    rows: the first axis of a batch (a matrix), else 1."""
    parts = _softmax_parts(z)
    return _Cost(-np.vdot(y, parts[2]) / (z.shape[0] if z.ndim == 2 else 1), parts)


def _softmax_cross_entropy_vjp(g, out, z, y, need=(True, True)):
    # d/dz: softmax(z) * (the row's sum of y) - y, which is softmax(z) - y for one-hot rows.
    e, total, log_p = out.parts if isinstance(out, _Cost) else _softmax_parts(z)
    scale = g / (z.shape[0] if z.ndim == 2 else 1)       # the rows a batch averages over
    gz = (e * (np.add.reduce(y, axis=-1, keepdims=True) / total) - y) * scale if need[0] else None
    gy = log_p * -scale if need[1] else None
    return gz, gy


def _cost_shape(z, y, **_):
    if z != y:
        raise ValueError(f"the scores {z} and the targets {y} must have the same shape")
    if not z:
        raise ValueError("softmax_cross_entropy needs a score per class: a vector, or a batch of rows")
    _nonempty(z, -1, "softmax_cross_entropy")
    return ()


def _normalized_shape(shape, axis, **_):
    _nonempty(shape, axis, "softmax")
    return shape


def _extreme(name, extreme, pick, word):
    """max(x) / min(x) of one argument: the largest (smallest) element along `axis`."""
    return Op(f"reduce_{name}", 1, lambda x, axis: extreme(x, axis=axis),
              lambda g, out, x, axis: (_expand_reduced(g, np.shape(x), axis) * _pick_mask(x, axis, pick),),
              f"{name}({{0}})", (f"1 at the first {word} of each slice, else 0",),
              shape=lambda s, axis: _nonempty(s, axis, name),
              kink=lambda x, axis: _ties(x, axis, extreme), choice=lambda x, axis: _picked(x, axis, pick)[1],
              kink_rule=f"a tie sends the gradient to the first {word}", attrs={"axis": None})


def _index(name, pick, extreme):
    """argmax / argmin: an index, constant almost everywhere, so no gradient flows through it."""
    return Op(name, 1, lambda x, axis: pick(x, axis=axis) * 1.0, lambda g, out, x, axis: (np.zeros(np.shape(x)),),
              f"{name}({{0}})", ("0 (an index has no gradient)",), shape=lambda s, axis: _one_axis(s, axis, name),
              kink=lambda x, axis: _ties(x, axis, extreme), choice=lambda x, axis: pick(x, axis=axis),
              kink_rule="a tie gives the first index", attrs={"axis": None}, constant="an index")


OPS = [
    Op("sum", 1, lambda x, axis: np.sum(x, axis=axis),
       lambda g, out, x, axis: (_expand_reduced(g, np.shape(x), axis) * 1.0,),
       "sum({0})", ("1",), shape=reduced_shape, attrs={"axis": None}),
    Op("mean", 1, lambda x, axis: np.mean(x, axis=axis),
       lambda g, out, x, axis: (_expand_reduced(g, np.shape(x), axis) / _reduced_count(np.shape(x), axis),),
       "mean({0})", ("1/n",), shape=lambda s, axis: _nonempty(s, axis, "mean"), attrs={"axis": None}),
    _extreme("max", np.max, np.argmax, "max"),
    _extreme("min", np.min, np.argmin, "min"),
    Op("logsumexp", 1, _logsumexp,
       lambda g, out, x, axis: (_expand_reduced(g, np.shape(x), axis)
                                * np.exp(x - _expand_reduced(out, np.shape(x), axis)),),
       "logsumexp({0})", ("softmax({0}) (exp({0} - out))",), shape=lambda s, axis: _nonempty(s, axis, "logsumexp"),
       attrs={"axis": None}),
    _index("argmax", np.argmax, np.max),
    _index("argmin", np.argmin, np.min),
    Op("softmax", 1, _softmax, lambda g, out, x, axis: (out * (g - np.sum(g * out, axis=axis, keepdims=True)),),
       "softmax({0})", ("out*(dout - sum(dout*out))",), shape=_normalized_shape, attrs={"axis": -1}),
    Op("log_softmax", 1, _log_softmax,
       lambda g, out, x, axis: (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),),
       "log_softmax({0})", ("dout - softmax({0})*sum(dout)",), shape=_normalized_shape, attrs={"axis": -1}),
    Op("softmax_cross_entropy", 2, _softmax_cross_entropy, _softmax_cross_entropy_vjp,
       "softmax_cross_entropy({0}, {1})",
       ("(softmax({0}) - {1})/rows for one-hot {1} (else (softmax({0})*rowsum({1}) - {1})/rows)",
        "-log_softmax({0})/rows"),
       shape=_cost_shape, partial_vjp=True),
]
