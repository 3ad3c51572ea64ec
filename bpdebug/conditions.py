"""Breakpoint conditions and watch expressions: `norm(grad) > 10`, `isnan(value)`, `grad(W1)`.

Parsed with the program grammar's second start symbol and evaluated with an explicit stack.
In a condition, `value`, `grad` and `upstream` mean the current node's; `value(NAME)` and
`grad(NAME)` (or a bare node name, for its value) reach any node. A comparison on tensors is
true when it holds for any element.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .graph.nodes import name_hint
from .lang import ast
from .lang import BpError, did_you_mean, parse_condition
from .ops.indexing import Key, key_problem

CURRENT = ("value", "grad", "upstream", "step")


def _norm(x):
    return float(np.sqrt(np.sum(np.square(np.asarray(x, dtype=float)))))


FUNCTIONS: dict[str, Callable] = {
    "abs": np.abs, "max": lambda *a: np.max(a[0]) if len(a) == 1 else np.maximum(*a),
    "min": lambda *a: np.min(a[0]) if len(a) == 1 else np.minimum(*a), "norm": _norm,
    "isnan": lambda x: bool(np.any(np.isnan(x))), "isinf": lambda x: bool(np.any(np.isinf(x))),
    "isfinite": lambda x: bool(np.all(np.isfinite(x))),
    "any": lambda x: bool(np.any(x)), "all": lambda x: bool(np.all(x)),
    "sum": np.sum, "mean": np.mean, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
}
_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "matmul": np.matmul, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
}


def _indexed(x, key: Key):
    problem = key_problem(np.shape(x), key)
    if problem:
        raise ValueError(f"cannot index a value of shape {np.shape(x)} with {key}: {problem[1]}")
    return np.asarray(x)[key]


def truth(x) -> bool:
    return bool(np.any(x)) if x is not None else False


class Expression:
    """A parsed condition; `evaluate(context)` with context.lookup(var, node_name=None).
    `what` names it in error messages: a condition, a watch, an expression to print."""

    def __init__(self, text: str, node_names, what: str = "condition"):
        self.text = text.strip()
        self.what = what
        try:
            self.tree = parse_condition(self.text)
        except BpError as err:
            err.filename = err.filename or "<condition>"
            raise
        self._check(node_names)

    def _check(self, node_names) -> None:
        stack = [self.tree]
        while stack:
            e = stack.pop()
            if isinstance(e, ast.Name):
                if e.name not in CURRENT and e.name not in node_names:
                    raise BpError(f"unknown name '{e.name}' in {self.what}", e.span, self.text, "<condition>",
                                  name_hint(e.name, list(CURRENT) + list(node_names)))
            elif isinstance(e, ast.Call):
                if e.func in ("value", "grad"):
                    if len(e.args) != 1 or not isinstance(e.args[0], ast.Name) or e.args[0].name not in node_names:
                        raise BpError(f"{e.func}(NODE) takes the name of a node", e.span, self.text, "<condition>",
                                      did_you_mean(getattr(e.args[0], "name", ""), node_names) if e.args else None)
                    continue
                if e.func not in FUNCTIONS:
                    raise BpError(f"unknown function '{e.func}' in {self.what}", e.func_span, self.text,
                                  "<condition>", did_you_mean(e.func, FUNCTIONS))
                arity = (1, 2) if e.func in ("max", "min") else (1,)
                if len(e.args) not in arity or e.kwargs:
                    raise BpError(f"{e.func}() takes {' or '.join(map(str, arity))} argument(s)", e.span,
                                  self.text, "<condition>")
                stack.extend(e.args)
            elif isinstance(e, ast.Index):   # `grad(W)[0, 1]`
                try:
                    ast.index_parts(e)
                except BpError as err:
                    raise err.located(self.text, "<condition>") from None
                stack.append(e.operand)
            elif isinstance(e, ast.Unary):
                stack.append(e.operand)
            elif isinstance(e, ast.Binary):
                stack.extend((e.left, e.right))
            elif isinstance(e, (ast.Str, ast.Tensor)):
                raise BpError(f"{'an' if self.what[0] in 'aeiou' else 'a'} {self.what} takes numbers, names and functions", e.span, self.text, "<condition>")

    def evaluate(self, lookup: Callable):
        """lookup(var, node_name) -> value, for var in value/grad/upstream/step."""
        results: list = []
        stack = [(self.tree, False)]
        with np.errstate(all="ignore"):
            while stack:
                e, ready = stack.pop()
                if isinstance(e, ast.Num):
                    results.append(e.value)
                elif isinstance(e, ast.Name):
                    results.append(lookup(e.name, None) if e.name in CURRENT else lookup("value", e.name))
                elif isinstance(e, ast.Call) and e.func in ("value", "grad"):
                    results.append(lookup(e.func, e.args[0].name))
                elif not ready:
                    stack.append((e, True))
                    kids = (e.operand,) if isinstance(e, (ast.Unary, ast.Index)) else (
                        (e.left, e.right) if isinstance(e, ast.Binary) else e.args)
                    stack.extend((k, False) for k in reversed(kids))
                elif isinstance(e, ast.Index):
                    x = results.pop()
                    results.append(None if x is None else _indexed(x, Key(ast.index_parts(e))))
                elif isinstance(e, ast.Unary):
                    x = results.pop()
                    results.append(not truth(x) if e.op == "not" else None if x is None else np.negative(x))
                elif isinstance(e, ast.Binary):
                    b, a = results.pop(), results.pop()
                    if e.op == "and":
                        results.append(truth(a) and truth(b))
                    elif e.op == "or":
                        results.append(truth(a) or truth(b))
                    elif a is None or b is None:
                        results.append(False if e.op in ("lt", "le", "gt", "ge", "eq") else None)
                    else:
                        results.append(_BINARY[e.op](a, b))
                else:
                    n = len(e.args)
                    args = results[len(results) - n:]
                    del results[len(results) - n:]
                    if any(x is None for x in args):
                        results.append(None)
                    else:
                        results.append(FUNCTIONS[e.func](*args))
        (result,) = results
        return result

    def holds(self, lookup: Callable) -> bool:
        try:
            return truth(self.evaluate(lookup))
        except (ValueError, TypeError):
            return False
