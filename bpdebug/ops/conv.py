"""Convolution and pooling over the last two axes of images: (C, H, W) or batches (N, C, H, W).

conv2d is cross-correlation, as in PyTorch and ONNX: out[n, o, i, j] = sum over c, u, v of
x[n, c, s*i + u, s*j + v] * w[o, c, u, v] (x zero-padded first). Its forward gathers every
window once (im2col) and multiplies; its VJP sends dout back through the same windows. Pools
walk the window's offsets, one strided slice of the image each, so no window is copied.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .op import Op


def pair(v) -> tuple:
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_size(image: tuple, window: tuple, stride, padding, what: str) -> tuple:
    (h, w), (kh, kw), (ph, pw) = image, window, pair(padding)
    if kh > h + 2 * ph or kw > w + 2 * pw:
        padded = f" (padded by {padding})" if ph or pw else ""
        advice = "pad the image (padding=) or use a smaller kernel" if what == "kernel" else "use a smaller size"
        raise ValueError(f"the {what} ({kh}x{kw}) is bigger than the image ({h}x{w}){padded}: {advice}")
    sh, sw = pair(stride)
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _conv2d_shape(x: tuple, w: tuple, stride, padding) -> tuple:
    if len(x) not in (3, 4):
        raise ValueError(f"conv2d takes an image (C, H, W) or a batch (N, C, H, W); it has shape {x}")
    if len(w) != 4 or 0 in w:
        raise ValueError(f"conv2d takes weights of shape (out, in, kh, kw); they have shape {w}")
    if x[-3] != w[1]:
        raise ValueError(f"the image has {x[-3]} channel(s) and the weights expect {w[1]} (w is (out, in, kh, kw))")
    return x[:-3] + (w[0],) + _out_size(x[-2:], w[2:], stride, padding, "kernel")


def _padded(x, padding):
    ph, pw = pair(padding)
    return np.pad(x, ((0, 0),) * (x.ndim - 2) + ((ph, ph), (pw, pw))) if ph or pw else x


def _windows(xp, kernel: tuple, stride):
    """Every window of the padded batch: a (N, C, OH, OW, kh, kw) view, nothing copied."""
    sh, sw = pair(stride)
    return sliding_window_view(xp, kernel, axis=(-2, -1))[:, :, ::sh, ::sw]


def _conv2d(x, w, stride, padding):
    batch = x if x.ndim == 4 else x[None]
    cols = _windows(_padded(batch, padding), w.shape[2:], stride)
    out = np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3]))       # (N, OH, OW, out)
    out = np.ascontiguousarray(out.transpose(0, 3, 1, 2))
    return out if x.ndim == 4 else out[0]


def _conv2d_vjp(g, out, x, w, stride, padding, need=(True, True)):
    batch, g = (x, g) if x.ndim == 4 else (x[None], g[None])
    xp = _padded(batch, padding)
    kh, kw = w.shape[2:]
    gw = np.tensordot(g, _windows(xp, (kh, kw), stride), axes=([0, 2, 3], [0, 2, 3])) if need[1] else None
    gx = None
    if need[0]:
        # each output position sends g * w back to the window it read: one strided slice per
        # kernel offset (col2im)
        dcols = np.tensordot(g, w, axes=([1], [0]))               # (N, OH, OW, C, kh, kw)
        gxp = np.zeros(xp.shape)
        (sh, sw), (oh, ow) = pair(stride), g.shape[2:]
        for u in range(kh):
            for v in range(kw):
                gxp[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += dcols[..., u, v].transpose(0, 3, 1, 2)
        (ph, pw), (h, wd) = pair(padding), x.shape[-2:]
        gx = gxp[:, :, ph:ph + h, pw:pw + wd]
        gx = gx if x.ndim == 4 else gx[0]
    return gx, gw


# ---- pooling --------------------------------------------------------------------------------

def _pool_shape(name: str):
    def shape(x: tuple, size, stride) -> tuple:
        if len(x) < 2:
            raise ValueError(f"{name} pools the last two axes of (N, C, H, W), (C, H, W) or (H, W); "
                             f"it has shape {x}")
        return x[:-2] + _out_size(x[-2:], pair(size), stride or size, 0, "window")
    return shape


def _offsets(image: tuple, size, stride):
    """(k, slice) per offset in the window, row by row: the slice picks, for every output
    element, the input element at that offset of its window."""
    (h, w), (kh, kw), (sh, sw) = image[-2:], pair(size), pair(stride or size)
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    for u in range(kh):
        for v in range(kw):
            yield u * kw + v, (..., slice(u, u + sh * oh, sh), slice(v, v + sw * ow, sw))


def _maxpool(x, size, stride):
    out = None
    for _, at in _offsets(np.shape(x), size, stride):
        out = x[at] if out is None else np.maximum(out, x[at])     # np.maximum: nan wins, as in max
    return out


def _picked(x, size, stride):
    """The offset each window's max comes from, the first on a tie (or the first nan); and how
    many offsets hold that max."""
    out = _maxpool(x, size, stride)
    picked = np.full(out.shape, -1)
    hits = np.zeros(out.shape, dtype=int)
    for k, at in _offsets(np.shape(x), size, stride):
        hit = (x[at] == out) | (x[at] != x[at])
        picked[(picked < 0) & hit] = k
        hits += hit
    return picked, hits


def _maxpool_vjp(g, out, x, size, stride):
    picked, _ = _picked(x, size, stride)
    gx = np.zeros(np.shape(x))
    for k, at in _offsets(gx.shape, size, stride):
        gx[at] += np.where(picked == k, g, 0.0)
    return (gx,)


def _avgpool(x, size, stride):
    (kh, kw) = pair(size)
    total = sum(x[at] for _, at in _offsets(np.shape(x), size, stride))
    return total / (kh * kw)


def _avgpool_vjp(g, out, x, size, stride):
    (kh, kw) = pair(size)
    gx = np.zeros(np.shape(x))
    share = g / (kh * kw)
    for _, at in _offsets(gx.shape, size, stride):
        gx[at] += share
    return (gx,)


OPS = [
    Op("conv2d", 2, _conv2d, _conv2d_vjp, "conv2d({0}, {1})",
       ("dout correlated back through {1} (a transposed convolution)", "{0}'s windows correlated with dout"),
       shape=_conv2d_shape, attrs={"stride": 1, "padding": 0}, partial_vjp=True),
    Op("maxpool2d", 1, _maxpool, _maxpool_vjp, "maxpool2d({0})", ("1 at the first max of each window, else 0",),
       shape=_pool_shape("maxpool2d"), attrs={"size": 2, "stride": None}, positional=("size", "stride"),
       kink=lambda x, size, stride: _picked(x, size, stride)[1] > 1,
       choice=lambda x, size, stride: _picked(x, size, stride)[0],
       kink_rule="a tie in a window sends the gradient to its first max"),
    Op("avgpool2d", 1, _avgpool, _avgpool_vjp, "avgpool2d({0})", ("1/(window size) for each element of its window",),
       shape=_pool_shape("avgpool2d"), attrs={"size": 2, "stride": None},
       positional=("size", "stride")),
]
