"""Elementwise ops: arithmetic, the unary functions, max/min of two arguments, clip, where,
stop_gradient and dropout. Inputs broadcast (numpy rules); the engine sums each contribution
back to its input's shape."""
from __future__ import annotations

import math
import operator     # the arithmetic as C functions: a node's forward step without a Python frame
from functools import lru_cache

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

_log1p = guard(math.log1p, np.log1p)
_expm1 = guard(math.expm1, np.expm1)
_SQRT_HALF = math.sqrt(0.5)
_PDF = 1.0 / math.sqrt(2.0 * math.pi)
_erfc = np.frompyfunc(math.erfc, 1, 1)   # numpy has no erf; math's is exact to the last bits


def _cdf(x):
    """The standard normal cdf Φ(x), accurate far into the left tail (erfc, not 1 + erf)."""
    return 0.5 * np.asarray(_erfc(-x * _SQRT_HALF), dtype=float)


def _cdf_s(x):
    return 0.5 * math.erfc(-x * _SQRT_HALF)


def _clip_vjp(g, out, x, lo, hi):
    # clip(x, lo, hi) = min(max(x, lo), hi): a bound the input sits on passes the gradient to x
    a = np.maximum(x, lo)
    inside = a <= hi
    return g * ((x >= lo) & inside), g * ((x < lo) & inside), g * (a > hi)


def _clip_s(x, lo, hi):
    a = x if x >= lo or x != x else lo
    return a if a <= hi or a != a else hi


def _clip_vjps(g, out, x, lo, hi):
    a = x if x >= lo or x != x else lo
    inside = a <= hi
    return g * (x >= lo and inside), g * (x < lo and inside), g * (a > hi)


def _where_vjp(g, out, cond, a, b):
    picked = np.asarray(cond) != 0          # as np.where reads it: nan counts as true
    return np.zeros_like(g), np.where(picked, g, 0.0), np.where(picked, 0.0, g)


@lru_cache(maxsize=64)
def _kept(seed: int, p: float, shape: tuple):
    """dropout's mask, already scaled: 0 where dropped, 1/(1-p) where kept. A function of the
    seed and the shape alone, so every forward pass of a session (stepping back and forth,
    `set`, replays) sees the same one."""
    scale = np.asarray((np.random.default_rng(seed).random(shape) >= p) / (1.0 - p))
    scale.flags.writeable = False
    return scale


OPS = [
    Op("add", 2, operator.add, lambda g, out, a, b: (g, g), "{0} + {1}", ("1", "1"),
       elementwise=True),
    Op("sub", 2, operator.sub, lambda g, out, a, b: (g, -g), "{0} - {1}", ("1", "-1"),
       elementwise=True),
    Op("mul", 2, operator.mul, lambda g, out, a, b: (g * b, g * a), "{0}*{1}", ("{1}", "{0}"),
       elementwise=True),
    Op("div", 2, operator.truediv, lambda g, out, a, b: (g / b, -g * out / b), "{0}/{1}",
       ("1/{1}", "-{0}/{1}^2"), fs=guard(lambda a, b: a / b, np.divide),
       vjps=guard(lambda g, out, a, b: (g / b, -g * out / b),
                   lambda g, out, a, b: (np.divide(g, b), -g * out / b)), elementwise=True),
    Op("pow", 2, np.power, _pow_vjp, "{0}^{1}", ("{1}*{0}^({1}-1)", "{0}^{1}*log({0})"),
       fs=guard(math.pow, np.power), vjps=_pow_vjps, elementwise=True),
    Op("neg", 1, operator.neg, lambda g, out, a: (-g,), "-{0}", ("-1",), elementwise=True),
    unary("exp", np.exp, lambda x, out: out, "exp({0})", "exp({0})", fs=_exp, dfs=lambda x, out: out),
    unary("log", np.log, lambda x, out: 1.0 / x, "log({0})", "1/{0}", fs=_ln,
           dfs=lambda x, out: guard(lambda v: 1.0 / v, np.reciprocal)(x)),
    unary("sqrt", np.sqrt, lambda x, out: 0.5 / out, "sqrt({0})", "1/(2*sqrt({0}))", fs=_sqrt,
           dfs=lambda x, out: guard(lambda v: 0.5 / v, lambda v: 0.5 / v)(out)),
    unary("abs", np.abs, lambda x, out: np.sign(x), "abs({0})", "sign({0})", fs=abs,
           dfs=lambda x, out: 1.0 if x > 0 else -1.0 if x < 0 else 0.0 * x,  # 0.0 * x: nan stays nan
           kink=lambda x: x == 0, kink_rule="abs'(0) = 0"),
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
    unary("relu", lambda x: np.maximum(x, 0.0), None, "relu({0})",
           "1 if {0} > 0 else 0", fs=lambda x: x if x > 0 or x != x else 0.0,
           dfs=lambda x, out: 1.0 if x > 0 else 0.0, vjp=lambda g, out, x: (g * (x > 0),),
           kink=lambda x: x == 0, kink_rule="relu'(0) = 0"),
    unary("softplus", lambda x: np.logaddexp(0.0, x), lambda x, out: sigmoid(x), "softplus({0})",
           "sigmoid({0})", fs=lambda x: np_scalar(np.logaddexp, 0.0, x),
           dfs=lambda x, out: sigmoid_s(x)),
    Op("max", 2, np.maximum, _max_vjp, "max({0}, {1})", ("1 if {0} >= {1} else 0", "1 if {1} > {0} else 0"),
       fs=lambda a, b: a if a >= b or a != a else b,
       vjps=lambda g, out, a, b: (g, 0.0) if a >= b else (0.0, g), elementwise=True,
       kink=lambda a, b: a == b, kink_rule="a tie sends the gradient to the first argument"),
    Op("min", 2, np.minimum, _min_vjp, "min({0}, {1})", ("1 if {0} <= {1} else 0", "1 if {1} < {0} else 0"),
       fs=lambda a, b: a if a <= b or a != a else b,
       vjps=lambda g, out, a, b: (g, 0.0) if a <= b else (0.0, g), elementwise=True,
       kink=lambda a, b: a == b, kink_rule="a tie sends the gradient to the first argument"),
    unary("square", lambda x: x * x, lambda x, out: 2.0 * x, "square({0})", "2*{0}"),
    unary("log1p", np.log1p, lambda x, out: 1.0 / (1.0 + x), "log1p({0})", "1/(1 + {0})", fs=_log1p,
           dfs=lambda x, out: guard(lambda v: 1.0 / (1.0 + v), lambda v: 1.0 / (1.0 + v))(x)),
    unary("expm1", np.expm1, lambda x, out: np.exp(x), "expm1({0})", "exp({0})", fs=_expm1,
           dfs=lambda x, out: _exp(x)),
    unary("sign", np.sign, lambda x, out: 0.0 * x, "sign({0})", "0 (flat on each side; it jumps at 0)",
           fs=lambda x: 1.0 if x > 0 else -1.0 if x < 0 else x,  # 0, -0 and nan stay themselves
           dfs=lambda x, out: 0.0 * x, kink=lambda x: x == 0, choice=lambda x: np.sign(x),
           kink_rule="sign jumps at 0; sign'(0) = 0"),
    Op("leaky_relu", 1, lambda x, slope: np.where(x > 0, x, slope * x),
       lambda g, out, x, slope: (g * np.where(x > 0, 1.0, slope),), "leaky_relu({0})",
       ("1 if {0} > 0 else {slope}",), fs=lambda x, slope: x if x > 0 else slope * x,
       vjps=lambda g, out, x, slope: (g * (1.0 if x > 0 else slope),), elementwise=True,
       kink=lambda x, slope: x == 0, kink_rule="leaky_relu'(0) = slope", attrs={"slope": 0.01},
       positional=("slope",)),
    Op("elu", 1, lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
       lambda g, out, x, alpha: (g * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))),), "elu({0})",
       ("1 if {0} > 0 else {alpha}*exp({0})",), fs=lambda x, alpha: x if x > 0 else alpha * math.expm1(x),
       vjps=lambda g, out, x, alpha: (g * (1.0 if x > 0 else alpha * math.exp(x)),), elementwise=True,
       kink=lambda x, alpha: (x == 0) & (alpha != 1.0), kink_rule="elu'(0) = alpha (the left slope)",
       attrs={"alpha": 1.0}, positional=("alpha",)),
    unary("gelu", lambda x: x * _cdf(x), lambda x, out: _cdf(x) + x * _PDF * np.exp(-0.5 * x * x),
           "gelu({0})", "Φ({0}) + {0}*φ({0})", fs=lambda x: x * _cdf_s(x),
           dfs=lambda x, out: _cdf_s(x) + x * _PDF * math.exp(-0.5 * x * x)),
    Op("clip", 3, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), _clip_vjp, "clip({0}, {1}, {2})",
       ("1 if {1} <= {0} <= {2} else 0", "1 if {0} < {1} else 0", "1 if {0} > {2} else 0"),
       fs=_clip_s, vjps=_clip_vjps, elementwise=True,
       kink=lambda x, lo, hi: (x == lo) | (np.maximum(x, lo) == hi),
       kink_rule="at a bound the gradient goes to x"),
    Op("where", 3, np.where, _where_vjp, "where({0}, {1}, {2})",
       ("0 (a mask)", "1 where {0} else 0", "0 where {0} else 1"),
       fs=lambda cond, a, b: a if cond else b,
       vjps=lambda g, out, cond, a, b: (0.0, g, 0.0) if cond else (0.0, 0.0, g), elementwise=True,
       kink=lambda cond, a, b: cond == 0, kink_wrt=(0,),
       kink_rule="where(cond, a, b) reads cond as true unless it is 0: at 0 a step of cond jumps "
                 "from b to a; d/dcond = 0"),
    Op("stop_gradient", 1, lambda x: x, lambda g, out, x: (np.zeros_like(g),), "stop_gradient({0})",
       ("0 (the gradient stops here)",), vjps=lambda g, out, x: (0.0,), elementwise=True,
       stops_gradient=True),
    Op("dropout", 1, lambda x, p, seed: x * _kept(seed, p, np.shape(x)),
       lambda g, out, x, p, seed: (g * _kept(seed, p, np.shape(x)),), "dropout({0})",
       ("0 where dropped, 1/(1 - {p}) where kept (the mask from seed {seed})",),
       fs=lambda x, p, seed: x * float(_kept(seed, p, ())),
       vjps=lambda g, out, x, p, seed: (g * float(_kept(seed, p, ())),),
       elementwise=True, attrs={"p": 0.5, "seed": 0}, positional=("p",)),
]
