"""Comparisons: `x > 0` is a 0/1 mask, for `where(x > 0, x, 0.1 * x)` or `x * (x > 0)`.

A comparison's result is a constant as far as gradients go: it is a step function, flat
everywhere except at equality, where it jumps. So it has no gradient (`constant`): nothing flows
back through it, and its inputs get their gradients from their other uses only. The jump is a
kink for `check`, found by the side each element is on (`choice`), as for sign.
"""
from __future__ import annotations

import operator

from ..lang.ast import COMPARISONS
from .op import Op


def _comparison(name: str, symbol: str, test) -> Op:
    return Op(name, 2, lambda a, b: test(a, b).astype(float), lambda g, out, a, b: (0.0 * g, 0.0 * g),
              "{0} %s {1}" % symbol, ("0 (a comparison has no gradient)",) * 2,
              fs=lambda a, b: 1.0 if test(a, b) else 0.0, elementwise=True, constant="a comparison",
              kink=lambda a, b: a == b, choice=test,
              kink_rule=f"{symbol} jumps between 0 and 1 where its two sides are equal; no gradient flows through it")


_TESTS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
          "==": operator.eq, "!=": operator.ne}

OPS = [_comparison(name, symbol, _TESTS[symbol]) for symbol, name in COMPARISONS.items()]
