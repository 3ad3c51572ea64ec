"""Each ONNX op, one short mapping onto bpdebug's op table, in one table (as onnx's own
reference evaluator has one small class per op type). A mapping is called with the importer's
emitter `e`, the node's inputs (a node, a constant array, or None where an optional input is
left out) and its attributes as keywords, and returns the node that holds the node's output:

    e.op("matmul", a, b)     a node of the op table (constant arrays become const nodes)
    e.value(x)               a constant input's numbers (axes, shapes), or a clear error
    e.shape(x)               an input's shape;   e.opset: the model's opset
    e.fail("why")            this node cannot be imported

Attributes a mapping does not name are refused, so no ONNX option is ever silently ignored.
"""
from __future__ import annotations

from ..numbers import MAX_INT, whole


def _same(name: str):
    """The ONNX op is ours, input for input."""
    return lambda e, *xs: e.op(name, *xs)


def _gemm(e, a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = e.op("matmul", e.op("transpose", a) if transA else a, e.op("transpose", b) if transB else b)
    if alpha != 1.0:
        y = e.op("mul", e.const(alpha), y)
    if c is None:
        return y
    return e.op("add", y, c if beta == 1.0 else e.op("mul", e.const(beta), c))


def _softmax(name: str):
    def emit(e, x, *, axis=None):
        shape = e.shape(x)
        if axis is None:
            axis = -1 if e.opset >= 13 else 1
        axis %= max(len(shape), 1)
        if e.opset >= 13 or axis == len(shape) - 1:
            return e.op(name, x, axis=axis)
        # before opset 13, Softmax took the axes from `axis` on as one
        rows = e.op("reshape", x, shape=(_count(shape[:axis]), _count(shape[axis:])))
        return e.op("reshape", e.op(name, rows, axis=-1), shape=shape)
    return emit


def _axes(e, axes_input, axes) -> list | None:
    """The axes of a node, an input from opset 13 (18 for some reductions), before an attribute."""
    return [int(a) for a in e.value(axes_input).reshape(-1)] if axes_input is not None else axes


def _reduce(name: str):
    def emit(e, x, axes_input=None, *, axes=None, keepdims=1, noop_with_empty_axes=0):
        axes = _axes(e, axes_input, axes)
        if not axes and noop_with_empty_axes:
            return x
        shape = e.shape(x)
        axis = tuple(a % len(shape) for a in axes) if axes else None
        y = e.op(name, x, axis=axis)
        if not keepdims or not shape:
            return y
        return e.op("reshape", y, shape=tuple(1 if axis is None or k in axis else n for k, n in enumerate(shape)))
    return emit


def _reshape(e, x, shape, *, allowzero=0):
    old, new = e.shape(x), [int(d) for d in e.value(shape).reshape(-1)]
    if not allowzero:      # 0 keeps that axis's size
        new = [old[k] if d == 0 else d for k, d in enumerate(new)]
    return e.op("reshape", x, shape=tuple(new))


def _flatten(e, x, *, axis=1):
    shape = e.shape(x)
    axis %= len(shape) + 1
    if axis == 1:
        return e.op("flatten", x)
    return e.op("reshape", x, shape=(_count(shape[:axis]), _count(shape[axis:])))


def _squeeze(e, x, axes_input=None, *, axes=None):
    shape = e.shape(x)
    axes = {a % len(shape) for a in _axes(e, axes_input, axes) or [k for k, n in enumerate(shape) if n == 1]}
    if any(shape[a] != 1 for a in axes):
        e.fail(f"Squeeze of an axis of size other than 1 (shape {shape}, axes {sorted(axes)})")
    return e.op("reshape", x, shape=tuple(n for k, n in enumerate(shape) if k not in axes))


def _unsqueeze(e, x, axes_input=None, *, axes=None):
    shape = list(e.shape(x))
    rank = len(shape) + len(_axes(e, axes_input, axes))
    for a in sorted(a % rank for a in _axes(e, axes_input, axes)):
        shape.insert(a, 1)
    return e.op("reshape", x, shape=tuple(shape))


def _wholes(e, values, what: str, count: int, lo: int) -> tuple:
    """An attribute of `count` whole numbers from `lo` (strides, pads, kernel_shape), checked by
    the rule every number a user gives goes through: a damaged model can hold a stride of 0."""
    if len(values) != count:
        e.fail(f"{what} takes {count} numbers here (2-D images); got {list(values)}")
    try:
        return tuple(whole(v, lo, MAX_INT) for v in values)
    except ValueError as err:
        e.fail(f"each of {what} {err}")


def _window(e, x, w_shape, pads, strides, auto_pad, dilations, what: str) -> dict:
    """conv2d's and the pools' stride and padding from ONNX's attributes, or why they cannot be."""
    if len(e.shape(x)) != 4:
        e.fail(f"{what} of images (N, C, H, W) only; the input has shape {e.shape(x)}")
    strides = _wholes(e, strides or (1, 1), "strides", 2, 1)
    pads = pads and _wholes(e, pads, "pads", 4, 0)
    if dilations and any(d != 1 for d in dilations):
        e.fail(f"{what} with dilations {list(dilations)} is not supported")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if strides != (1, 1) or any(k % 2 == 0 for k in w_shape):
            e.fail(f"{what} with auto_pad={auto_pad} is supported for stride 1 and odd windows only")
        pads = [k // 2 for k in w_shape] * 2
    top, left, bottom, right = pads or (0, 0, 0, 0)
    if (top, left) != (bottom, right):
        e.fail(f"{what} with padding {list(pads)} (not the same on both sides) is not supported")
    return {"stride": strides, "padding": (top, left)}


def _conv(e, x, w, b=None, *, kernel_shape=None, pads=None, strides=None, dilations=None, group=1,
          auto_pad="NOTSET"):
    if group != 1:
        e.fail(f"Conv with group={group} is not supported (only group=1)")
    window = _window(e, x, e.shape(w)[2:], pads, strides, auto_pad, dilations, "Conv")
    y = e.op("conv2d", x, w, **window)
    return y if b is None else e.op("add", y, e.op("reshape", b, shape=(e.shape(b)[0], 1, 1)))


def _pool(name: str, what: str):
    def emit(e, x, *, kernel_shape=None, pads=None, strides=None, auto_pad="NOTSET", ceil_mode=0, dilations=None,
             storage_order=0, count_include_pad=0):
        kernel_shape = _wholes(e, kernel_shape or (), "kernel_shape", 2, 1)
        window = _window(e, x, kernel_shape, pads, strides, auto_pad, dilations, what)
        if window["padding"] != (0, 0):
            e.fail(f"{what} with padding is not supported")
        rest = [(n - k) % s for n, k, s in zip(e.shape(x)[2:], kernel_shape, window["stride"])]
        if ceil_mode and any(rest):
            e.fail(f"{what} with ceil_mode=1 takes windows past the edge here, which is not supported")
        return e.op(name, x, size=tuple(kernel_shape), stride=window["stride"])
    return emit


def _global_average_pool(e, x):
    shape = e.shape(x)
    if len(shape) < 3:
        e.fail(f"GlobalAveragePool needs (N, C, ...) input; got shape {shape}")
    mean = e.op("mean", x, axis=tuple(range(2, len(shape))))
    return e.op("reshape", mean, shape=shape[:2] + (1,) * (len(shape) - 2))


def _batch_norm(e, x, scale, bias, mean, var, *, epsilon=1e-5, momentum=0.9, spatial=1, training_mode=0):
    """The inference form: (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (axis 1)."""
    if training_mode:
        e.fail("BatchNormalization in training mode is not supported (export the model in eval mode)")
    rank = len(e.shape(x))
    if rank > 2:           # (C,) -> (C, 1, 1): per channel, broadcast over the image
        scale, bias, mean, var = (e.op("reshape", p, shape=(e.shape(p)[0],) + (1,) * (rank - 2))
                                  for p in (scale, bias, mean, var))
    centred = e.op("sub", x, mean)
    spread = e.op("sqrt", e.op("add", var, e.const(epsilon)))
    return e.op("add", e.op("mul", e.op("div", centred, spread), scale), bias)


def _transpose(e, x, *, perm=None):
    return e.op("transpose", x, axes=None if perm is None else tuple(perm))


def _pass_through(e, x, *rest, **ignored):
    return x


def _count(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


ONNX_OPS = {
    "Abs": _same("abs"),
    "Add": _same("add"),
    "AveragePool": _pool("avgpool2d", "AveragePool"),
    "BatchNormalization": _batch_norm,
    "Concat": lambda e, *xs, axis: e.op("concat", *xs, axis=axis),
    "Conv": _conv,
    "Cos": _same("cos"),
    "Div": _same("div"),
    "Dropout": _pass_through,       # inference: a copy of its input
    "Exp": _same("exp"),
    "Flatten": _flatten,
    "Gemm": _gemm,
    "GlobalAveragePool": _global_average_pool,
    "Identity": _pass_through,
    "LeakyRelu": lambda e, x, *, alpha=0.01: e.op("leaky_relu", x, slope=alpha),
    "Log": _same("log"),
    "LogSoftmax": _softmax("log_softmax"),
    "MatMul": _same("matmul"),
    "MaxPool": _pool("maxpool2d", "MaxPool"),
    "Mul": _same("mul"),
    "Neg": _same("neg"),
    "Pow": _same("pow"),
    "ReduceMax": _reduce("reduce_max"),
    "ReduceMean": _reduce("mean"),
    "ReduceSum": _reduce("sum"),
    "Relu": _same("relu"),
    "Reshape": _reshape,
    "Sigmoid": _same("sigmoid"),
    "Sin": _same("sin"),
    "Softmax": _softmax("softmax"),
    "Softplus": _same("softplus"),
    "Sqrt": _same("sqrt"),
    "Squeeze": _squeeze,
    "Sub": _same("sub"),
    "Tan": _same("tan"),
    "Tanh": _same("tanh"),
    "Transpose": _transpose,
    "Unsqueeze": _unsqueeze,
}
