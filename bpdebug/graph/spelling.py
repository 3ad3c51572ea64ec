"""How code copied from Python spells a call, resolved to bpdebug's functions: micrograd's
method calls (`z.relu()`, `(b + a).relu()`: the receiver is the first argument) and the
module prefixes of NumPy and math (`np.exp(x)`, `math.exp(-y)`, `np.maximum(x, 0)`).

Names contain dots (`h1.z` is a name), so `x.relu()` arrives as a call of `x.relu`; only a
dotted name that is not itself a function is split here.
"""
from __future__ import annotations

import math

from ..lang import Span, ast, did_you_mean
from ..ops import FUNCTIONS
from .leaves import INITIALIZERS
from .network import COSTS

MODULES = ("np", "numpy", "math")
# NumPy's and math's names where bpdebug's differ; every other name is bpdebug's own
NUMPY_NAMES = {"maximum": "max", "minimum": "min", "dot": "matmul", "power": "pow", "subtract": "sub",
               "multiply": "mul", "divide": "div", "true_divide": "div", "negative": "neg",
               "absolute": "abs", "fabs": "abs", "amax": "max", "amin": "min", "concatenate": "concat"}


def resolve(builder, e: ast.Call) -> ast.Call:
    """`e` as a call of a function bpdebug knows (a `def`, an op written in Python, a
    built-in, a cost or an initializer), or a located error."""
    func = e.func
    if func in ("not", "and", "or"):   # `not(x)`: a call, as far as the grammar can tell
        raise builder.error(f"'{func}' belongs in breakpoint conditions, not in programs", e.func_span,
                            "in a program, combine 0/1 masks with arithmetic: 1 - (a > 0) for not")
    if "." not in func or func in builder.defs or func in FUNCTIONS:
        return _meant(builder, e) if e.method else e
    if e.method:   # `(a).np.exp()`
        raise builder.error(f"'.{func}()' is not a method", e.func_span,
                            "after '.', write one function name, such as .relu()")
    prefix, _, name = func.rpartition(".")
    if prefix in MODULES:
        return _module_call(builder, e, prefix, name)
    if not any(name in known for known in (FUNCTIONS, builder.defs, builder.user_ops, COSTS)):
        known = [*FUNCTIONS, *builder.defs, *builder.user_ops]
        raise builder.error(f"unknown function '{name}' in {func}(...), which would be {name}({prefix}, ...)",
                            e.func_span, did_you_mean(name, known) or "see the functions in the README")
    start = e.func_span
    receiver = ast.Name(prefix, Span(start.line, start.column, start.line, start.column + len(prefix)))
    method_span = Span(start.line, start.column + len(prefix) + 1, start.end_line, start.end_column)
    return _meant(builder, ast.Call(name, (receiver, *e.args), e.kwargs, e.span, method_span, method=True))


def _meant(builder, e: ast.Call) -> ast.Call:
    """A method call `x.f(...)` as `f(x, ...)`, unless NumPy and PyTorch mean something else by
    it: then a located error that says what to write."""
    name, more = e.func, len(e.args) - 1
    if name in builder.defs or name in builder.user_ops:
        return e
    if name in ("max", "min") and more:
        raise builder.error(f"x.{name}(a) reduces along axis a in NumPy and PyTorch, but {name}(x, a) here is "
                            "elementwise", e.func_span, f"write x.{name}(axis=1) or {name}(x, axis=1); for the "
                            f"elementwise {name} of two tensors, {name}(x, y)")
    if name == "flatten":
        raise builder.error("x.flatten() makes one vector in NumPy and PyTorch, but bpdebug's flatten(x) keeps "
                            "axis 0 (the batch)", e.func_span,
                            "write reshape(x, [-1]) for one vector, or flatten(x) to keep the batch")
    if name == "where":
        raise builder.error("x.where(cond, y) in PyTorch is where(cond, x, y): x is not the condition",
                            e.func_span, "write where(cond, x, y)")
    return e


def _module_call(builder, e: ast.Call, module: str, name: str) -> ast.Call:
    target = NUMPY_NAMES.get(name, name)
    if target in ("max", "min") and len(e.args) != (2 if name.endswith("imum") else 1):
        # np.maximum(a, b) is elementwise and np.max(x, 1) reduces along axis 1: keep them apart
        what = (f"{e.func}(a, b) takes two tensors and is elementwise" if name.endswith("imum") else
                f"{e.func}(x, a) reduces along axis a, but {target}(x, a) here is elementwise")
        raise builder.error(what, e.func_span, f"write {target}(a, b) for the elementwise {target}, "
                            f"{target}(x, axis=1) to reduce along an axis")
    if target in FUNCTIONS:
        return ast.Call(target, e.args, e.kwargs, e.span, e.func_span)
    if target in INITIALIZERS:
        hint = f"initializers are written without '{module}.': {target}(...)"
    else:
        hint = did_you_mean(target, list(FUNCTIONS) + list(NUMPY_NAMES))
        hint = hint or f"{module}.NAME means bpdebug's function NAME, where there is one (see the README)"
    raise builder.error(f"'{e.func}' has no counterpart among bpdebug's functions", e.func_span, hint)


def dotted_name_hint(name: str, names) -> str | None:
    """A hint for an undefined dotted name that is Python for something else: a method without
    its call (`x.relu`), NumPy's transpose (`x.T`), math's constants (`math.pi`)."""
    prefix, _, attr = name.rpartition(".")
    if prefix in names and attr in FUNCTIONS:
        return f"a method is called: {name}()"
    if prefix in names and attr == "T":
        return f"write transpose({prefix})"
    if prefix in MODULES and attr in ("pi", "e"):
        return f"write the number: {getattr(math, attr)!r}"
    return None
