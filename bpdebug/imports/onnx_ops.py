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
        rank = len(e.shape(x))
        if axis is None:
            axis = -1 if e.opset >= 13 else 1
        if e.opset < 13 and axis % max(rank, 1) != rank - 1:
            # before opset 13, Softmax flattened the axes from `axis` on into one
            e.fail(f"{name} over the flattened axes {axis}.. (opset {e.opset}) is not supported")
        return e.op(name, x, axis=axis)
    return emit


def _reduce(name: str):
    def emit(e, x, axes_input=None, *, axes=None, keepdims=1, noop_with_empty_axes=0):
        if axes_input is not None:
            axes = [int(a) for a in e.value(axes_input).reshape(-1)]
        if not axes:
            if noop_with_empty_axes:
                return x
            axes = None
        rank = len(e.shape(x))
        axis = None if axes is None else tuple(a % rank for a in axes)
        y = e.op(name, x, axis=axis if axis is None or len(axis) > 1 else axis[0])
        if keepdims and rank:
            e.fail(f"{name} with keepdims=1 needs reshape, which this bpdebug lacks")
        return y
    return emit


def _transpose(e, x, *, perm=None):
    rank = len(e.shape(x))
    if perm is not None and list(perm) != list(range(rank))[::-1]:
        e.fail(f"Transpose with perm={list(perm)} (only the reversed order) is not supported")
    return e.op("transpose", x)


def _batch_norm(e, x, scale, bias, mean, var, *, epsilon=1e-5, momentum=0.9, spatial=1, training_mode=0):
    """The inference form: (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (axis 1)."""
    if training_mode:
        e.fail("BatchNormalization in training mode is not supported (export the model in eval mode)")
    if len(e.shape(x)) != 2:
        e.fail("BatchNormalization of images needs reshape, which this bpdebug lacks")
    centred = e.op("sub", x, mean)
    spread = e.op("sqrt", e.op("add", var, e.const(epsilon)))
    return e.op("add", e.op("mul", e.op("div", centred, spread), scale), bias)


def _pass_through(e, x, *rest, **ignored):
    return x


ONNX_OPS = {
    "Abs": _same("abs"),
    "Add": _same("add"),
    "BatchNormalization": _batch_norm,
    "Cos": _same("cos"),
    "Div": _same("div"),
    "Dropout": _pass_through,       # inference: a copy of its input
    "Exp": _same("exp"),
    "Gemm": _gemm,
    "Identity": _pass_through,
    "Log": _same("log"),
    "LogSoftmax": _softmax("log_softmax"),
    "MatMul": _same("matmul"),
    "Mul": _same("mul"),
    "Neg": _same("neg"),
    "Pow": _same("pow"),
    "ReduceMean": _reduce("mean"),
    "ReduceSum": _reduce("sum"),
    "Relu": _same("relu"),
    "Sigmoid": _same("sigmoid"),
    "Sin": _same("sin"),
    "Softmax": _softmax("softmax"),
    "Softplus": _same("softplus"),
    "Sqrt": _same("sqrt"),
    "Sub": _same("sub"),
    "Tan": _same("tan"),
    "Tanh": _same("tanh"),
    "Transpose": _transpose,
}
