"""The op table: every operation bpdebug knows, its forward, its vector-Jacobian product,
its local derivative as readable text, and where it has kinks. Adding an op is one entry here.

Each op serves two kinds of node. Scalar nodes (every input and the output of shape ()) use
the `scalar` functions on Python floats, which are ten times cheaper than 0-d numpy arrays;
tensor nodes use the numpy ones. Where one definition works for both, it is given once.
A VJP takes (upstream gradient, output, *inputs) and returns one contribution per input; for
elementwise ops that contribution has the broadcast shape and the engine sums it back to the
input's shape.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    f: Callable                      # numpy forward: f(*inputs, **attrs)
    vjp: Callable                    # vjp(g, out, *inputs, **attrs) -> tuple, one per input
    formula: str                     # "{0}*{1}": how the node reads, with input names
    local: tuple = ()                # local derivative per input, as text ("{1}" for d(a*b)/da)
    fs: Callable | None = None       # scalar forward on floats, when different from f
    vjps: Callable | None = None     # scalar vjp on floats, when different from vjp
    elementwise: bool = False        # broadcasting op: contributions get summed back to shape
    kink: Callable | None = None     # kink(*inputs) -> True where the derivative is a convention
    kink_rule: str = ""              # the convention used there
    attrs: tuple = ()                # keyword arguments the op accepts
    partial_vjp: bool = False        # vjp takes need=(bool per input) and skips the others (None)
    custom: object = field(default=None, compare=False)  # a user `def` (see bpdebug.custom)


def _np_scalar(fn, *args):
    """Evaluate with numpy semantics (inf/nan instead of exceptions): a float, or a tuple of
    floats for a VJP."""
    with np.errstate(all="ignore"):
        result = fn(*(np.float64(a) for a in args))
    return tuple(float(r) for r in result) if isinstance(result, tuple) else float(result)


def _guard(fast, slow):
    """A scalar function that falls back to numpy's IEEE answer where math raises."""
    def guarded(*args):
        try:
            return fast(*args)
        except (ZeroDivisionError, ValueError, OverflowError):
            return _np_scalar(slow, *args)
    return guarded


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # stable for large |x|


def _sigmoid_s(x):
    return 0.5 * (math.tanh(0.5 * x) + 1.0)


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


def _pow_vjp(g, out, a, b):
    with np.errstate(all="ignore"):
        da = g * b * np.power(a, b - 1)
        # d(a^b)/db = a^b log a, defined for a > 0; 0^b with b > 0 has 0 there.
        db = g * np.where(a > 0, out * np.log(np.where(a > 0, a, 1.0)), np.where(a == 0, 0.0, np.nan))
    return da, db


def _pow_vjps(g, out, a, b):
    if a > 0:
        db = g * out * math.log(a)
    else:
        db = 0.0 if a == 0 else math.nan
    try:
        da = g * b * math.pow(a, b - 1)
    except (ValueError, ZeroDivisionError, OverflowError):
        da = g * _np_scalar(np.multiply, b, _np_scalar(np.power, a, b - 1))
    return da, db


def _max_vjp(g, out, a, b):
    first = a >= b  # a tie sends the gradient to the first argument
    return g * first, g * ~first


def _min_vjp(g, out, a, b):
    first = a <= b
    return g * first, g * ~first


def _softmax_vjp(g, out, x, axis=-1):
    return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


def _log_softmax_vjp(g, out, x, axis=-1):
    return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


def _unary(name, f, dfdx, formula, local, fs=None, dfs=None, **kw):
    """An elementwise one-input op from its forward and its derivative dfdx(x, out)."""
    return Op(name, 1, f, lambda g, out, x: (g * dfdx(x, out),), formula, (local,),
              fs=fs, vjps=(lambda g, out, x: (g * dfs(x, out),)) if dfs else None,
              elementwise=True, **kw)


# The float versions keep numpy's answers at the edges: nan in, nan out (max, min and relu
# too: `x != x` is the nan test), inf/nan instead of exceptions (the guards).
_ln = _guard(math.log, np.log)
_sqrt = _guard(math.sqrt, np.sqrt)
_exp = _guard(math.exp, np.exp)
_sin = _guard(math.sin, np.sin)    # math.sin(inf) raises where numpy gives nan
_cos = _guard(math.cos, np.cos)
_tan = _guard(math.tan, np.tan)

OPS: dict[str, Op] = {op.name: op for op in [
    Op("leaf", 0, None, lambda g, out: (), "{value}"),
    Op("const", 0, None, lambda g, out: (), "{value}"),
    Op("add", 2, lambda a, b: a + b, lambda g, out, a, b: (g, g), "{0} + {1}", ("1", "1"),
       elementwise=True),
    Op("sub", 2, lambda a, b: a - b, lambda g, out, a, b: (g, -g), "{0} - {1}", ("1", "-1"),
       elementwise=True),
    Op("mul", 2, lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a), "{0}*{1}", ("{1}", "{0}"),
       elementwise=True),
    Op("div", 2, lambda a, b: a / b, lambda g, out, a, b: (g / b, -g * out / b), "{0}/{1}",
       ("1/{1}", "-{0}/{1}^2"), fs=_guard(lambda a, b: a / b, np.divide),
       vjps=_guard(lambda g, out, a, b: (g / b, -g * out / b),
                   lambda g, out, a, b: (np.divide(g, b), -g * out / b)), elementwise=True),
    Op("pow", 2, np.power, _pow_vjp, "{0}^{1}", ("{1}*{0}^({1}-1)", "{0}^{1}*log({0})"),
       fs=_guard(math.pow, np.power), vjps=_pow_vjps, elementwise=True),
    Op("neg", 1, lambda a: -a, lambda g, out, a: (-g,), "-{0}", ("-1",), elementwise=True),
    _unary("exp", np.exp, lambda x, out: out, "exp({0})", "exp({0})", fs=_exp, dfs=lambda x, out: out),
    _unary("log", np.log, lambda x, out: 1.0 / x, "log({0})", "1/{0}", fs=_ln,
           dfs=lambda x, out: _guard(lambda v: 1.0 / v, np.reciprocal)(x)),
    _unary("sqrt", np.sqrt, lambda x, out: 0.5 / out, "sqrt({0})", "1/(2*sqrt({0}))", fs=_sqrt,
           dfs=lambda x, out: _guard(lambda v: 0.5 / v, lambda v: 0.5 / v)(out)),
    _unary("abs", np.abs, lambda x, out: np.sign(x), "abs({0})", "sign({0})", fs=abs,
           dfs=lambda x, out: 1.0 if x > 0 else -1.0 if x < 0 else 0.0 * x,  # 0.0 * x: nan stays nan
           kink=lambda x: np.any(x == 0), kink_rule="abs'(0) = 0"),
    _unary("sin", np.sin, lambda x, out: np.cos(x), "sin({0})", "cos({0})", fs=_sin,
           dfs=lambda x, out: _cos(x)),
    _unary("cos", np.cos, lambda x, out: -np.sin(x), "cos({0})", "-sin({0})", fs=_cos,
           dfs=lambda x, out: -_sin(x)),
    _unary("tan", np.tan, lambda x, out: 1.0 + out * out, "tan({0})", "1 + tan({0})^2",
           fs=_tan, dfs=lambda x, out: 1.0 + out * out),
    _unary("tanh", np.tanh, lambda x, out: 1.0 - out * out, "tanh({0})", "1 - tanh({0})^2",
           fs=math.tanh, dfs=lambda x, out: 1.0 - out * out),
    _unary("sigmoid", _sigmoid, lambda x, out: out * (1.0 - out), "sigmoid({0})",
           "sigmoid({0})*(1 - sigmoid({0}))", fs=_sigmoid_s, dfs=lambda x, out: out * (1.0 - out)),
    _unary("relu", lambda x: np.maximum(x, 0.0), lambda x, out: (x > 0).astype(float), "relu({0})",
           "1 if {0} > 0 else 0", fs=lambda x: x if x > 0 or x != x else 0.0,
           dfs=lambda x, out: 1.0 if x > 0 else 0.0, kink=lambda x: np.any(x == 0),
           kink_rule="relu'(0) = 0"),
    _unary("softplus", lambda x: np.logaddexp(0.0, x), lambda x, out: _sigmoid(x), "softplus({0})",
           "sigmoid({0})", fs=lambda x: _np_scalar(np.logaddexp, 0.0, x),
           dfs=lambda x, out: _sigmoid_s(x)),
    Op("max", 2, np.maximum, _max_vjp, "max({0}, {1})", ("1 if {0} >= {1} else 0", "1 if {1} > {0} else 0"),
       fs=lambda a, b: a if a >= b or a != a else b,
       vjps=lambda g, out, a, b: (g, 0.0) if a >= b else (0.0, g), elementwise=True,
       kink=lambda a, b: np.any(a == b), kink_rule="a tie sends the gradient to the first argument"),
    Op("min", 2, np.minimum, _min_vjp, "min({0}, {1})", ("1 if {0} <= {1} else 0", "1 if {1} < {0} else 0"),
       fs=lambda a, b: a if a <= b or a != a else b,
       vjps=lambda g, out, a, b: (g, 0.0) if a <= b else (0.0, g), elementwise=True,
       kink=lambda a, b: np.any(a == b), kink_rule="a tie sends the gradient to the first argument"),
    Op("matmul", 2, np.matmul, _matmul_vjp, "{0} @ {1}", ("dout @ {1}ᵀ", "{0}ᵀ @ dout"), partial_vjp=True),
    Op("sum", 1, lambda x, axis=None: np.sum(x, axis=axis),
       lambda g, out, x, axis=None: (_expand_reduced(g, np.shape(x), axis) * 1.0,),
       "sum({0})", ("1",), attrs=("axis",)),
    Op("mean", 1, lambda x, axis=None: np.mean(x, axis=axis),
       lambda g, out, x, axis=None: (_expand_reduced(g, np.shape(x), axis) / _reduced_count(np.shape(x), axis),),
       "mean({0})", ("1/n",), attrs=("axis",)),
    Op("transpose", 1, np.transpose, lambda g, out, x: (np.transpose(g),), "transpose({0})", ("dout transposed",)),
    Op("softmax", 1, _softmax, _softmax_vjp, "softmax({0})", ("out*(dout - sum(dout*out))",), attrs=("axis",)),
    Op("log_softmax", 1, _log_softmax, _log_softmax_vjp, "log_softmax({0})",
       ("dout - softmax({0})*sum(dout)",), attrs=("axis",)),
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
