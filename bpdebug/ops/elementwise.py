"""Elementwise ops: arithmetic, the unary functions, and max/min of two arguments. Inputs
broadcast (numpy rules); the engine sums each contribution back to its input's shape."""
from __future__ import annotations

import math

import numpy as np

from .op import Op, guard, np_scalar, sigmoid, sigmoid_s, unary


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
        da = g * np_scalar(np.multiply, b, np_scalar(np.power, a, b - 1))
    return da, db


def _max_vjp(g, out, a, b):
    first = a >= b  # a tie sends the gradient to the first argument
    return g * first, g * ~first


def _min_vjp(g, out, a, b):
    first = a <= b
    return g * first, g * ~first


# The float versions keep numpy's answers at the edges: nan in, nan out (max, min and relu
# too: `x != x` is the nan test), inf/nan instead of exceptions (the guards).
_ln = guard(math.log, np.log)
_sqrt = guard(math.sqrt, np.sqrt)
_exp = guard(math.exp, np.exp)
_sin = guard(math.sin, np.sin)    # math.sin(inf) raises where numpy gives nan
_cos = guard(math.cos, np.cos)
_tan = guard(math.tan, np.tan)

OPS = [
    Op("add", 2, lambda a, b: a + b, lambda g, out, a, b: (g, g), "{0} + {1}", ("1", "1"),
       elementwise=True),
    Op("sub", 2, lambda a, b: a - b, lambda g, out, a, b: (g, -g), "{0} - {1}", ("1", "-1"),
       elementwise=True),
    Op("mul", 2, lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a), "{0}*{1}", ("{1}", "{0}"),
       elementwise=True),
    Op("div", 2, lambda a, b: a / b, lambda g, out, a, b: (g / b, -g * out / b), "{0}/{1}",
       ("1/{1}", "-{0}/{1}^2"), fs=guard(lambda a, b: a / b, np.divide),
       vjps=guard(lambda g, out, a, b: (g / b, -g * out / b),
                   lambda g, out, a, b: (np.divide(g, b), -g * out / b)), elementwise=True),
    Op("pow", 2, np.power, _pow_vjp, "{0}^{1}", ("{1}*{0}^({1}-1)", "{0}^{1}*log({0})"),
       fs=guard(math.pow, np.power), vjps=_pow_vjps, elementwise=True),
    Op("neg", 1, lambda a: -a, lambda g, out, a: (-g,), "-{0}", ("-1",), elementwise=True),
    unary("exp", np.exp, lambda x, out: out, "exp({0})", "exp({0})", fs=_exp, dfs=lambda x, out: out),
    unary("log", np.log, lambda x, out: 1.0 / x, "log({0})", "1/{0}", fs=_ln,
           dfs=lambda x, out: guard(lambda v: 1.0 / v, np.reciprocal)(x)),
    unary("sqrt", np.sqrt, lambda x, out: 0.5 / out, "sqrt({0})", "1/(2*sqrt({0}))", fs=_sqrt,
           dfs=lambda x, out: guard(lambda v: 0.5 / v, lambda v: 0.5 / v)(out)),
    unary("abs", np.abs, lambda x, out: np.sign(x), "abs({0})", "sign({0})", fs=abs,
           dfs=lambda x, out: 1.0 if x > 0 else -1.0 if x < 0 else 0.0 * x,  # 0.0 * x: nan stays nan
           kink=lambda x: np.any(x == 0), kink_rule="abs'(0) = 0"),
    unary("sin", np.sin, lambda x, out: np.cos(x), "sin({0})", "cos({0})", fs=_sin,
           dfs=lambda x, out: _cos(x)),
    unary("cos", np.cos, lambda x, out: -np.sin(x), "cos({0})", "-sin({0})", fs=_cos,
           dfs=lambda x, out: -_sin(x)),
    unary("tan", np.tan, lambda x, out: 1.0 + out * out, "tan({0})", "1 + tan({0})^2",
           fs=_tan, dfs=lambda x, out: 1.0 + out * out),
    unary("tanh", np.tanh, lambda x, out: 1.0 - out * out, "tanh({0})", "1 - tanh({0})^2",
           fs=math.tanh, dfs=lambda x, out: 1.0 - out * out),
    unary("sigmoid", sigmoid, lambda x, out: out * (1.0 - out), "sigmoid({0})",
           "sigmoid({0})*(1 - sigmoid({0}))", fs=sigmoid_s, dfs=lambda x, out: out * (1.0 - out)),
    unary("relu", lambda x: np.maximum(x, 0.0), lambda x, out: (x > 0).astype(float), "relu({0})",
           "1 if {0} > 0 else 0", fs=lambda x: x if x > 0 or x != x else 0.0,
           dfs=lambda x, out: 1.0 if x > 0 else 0.0, kink=lambda x: np.any(x == 0),
           kink_rule="relu'(0) = 0"),
    unary("softplus", lambda x: np.logaddexp(0.0, x), lambda x, out: sigmoid(x), "softplus({0})",
           "sigmoid({0})", fs=lambda x: np_scalar(np.logaddexp, 0.0, x),
           dfs=lambda x, out: sigmoid_s(x)),
    Op("max", 2, np.maximum, _max_vjp, "max({0}, {1})", ("1 if {0} >= {1} else 0", "1 if {1} > {0} else 0"),
       fs=lambda a, b: a if a >= b or a != a else b,
       vjps=lambda g, out, a, b: (g, 0.0) if a >= b else (0.0, g), elementwise=True,
       kink=lambda a, b: np.any(a == b), kink_rule="a tie sends the gradient to the first argument"),
    Op("min", 2, np.minimum, _min_vjp, "min({0}, {1})", ("1 if {0} <= {1} else 0", "1 if {1} < {0} else 0"),
       fs=lambda a, b: a if a <= b or a != a else b,
       vjps=lambda g, out, a, b: (g, 0.0) if a <= b else (0.0, g), elementwise=True,
       kink=lambda a, b: np.any(a == b), kink_rule="a tie sends the gradient to the first argument"),
]
