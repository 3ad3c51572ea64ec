"""Why a backward rule is wrong, in words: a constant factor, a wrong sign, a missing transpose
hidden by a square shape, a broadcast gradient summed back over the wrong axis.

Each guess is tested, not assumed: the rule's answer is recomputed with the suspected mistake
undone and compared with the numerical derivative element by element.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from ..report import finite
from .numeric import Tolerances, close, numerical_vjp, random_like

DIAG_LIMIT = 256   # inputs up to this size are differentiated element by element to explain


def diagnose(graph, kernel, values: list, i: int, bad, tol: Tolerances, rng) -> tuple[str, str]:
    """(short, long): a few words for a table, and the explanation."""
    node = graph.nodes[i]
    k = bad.position
    ins, out = [values[j] for j in node.inputs], values[i]
    g = random_like(out, rng)
    num = numerical_vjp(kernel.fwd[i], ins, k, g, tol.eps) if np.size(ins[k]) <= DIAG_LIMIT else None
    custom = node.op.custom
    found = None
    if custom is not None and num is not None:
        found = _summed_back(custom, k, ins, out, g, num, tol)
    if node.op.python is not None and num is not None:
        found = _summed_over_another_axis(kernel, i, k, ins, out, g, num, tol)
    if found is None and bad.problem:
        found = ("wrong shape" if "shape" in bad.problem else "nan or inf", bad.problem)
    if found is None and num is not None:
        found = _transposed(graph, kernel, node, k, ins, out, g, num, tol) or \
            _factor(kernel, i, k, ins, g, tol, rng)
    if found is None:
        found = ("disagrees with the numerical derivative",
                 f"disagrees with the numerical derivative (max rel err {bad.max_rel_err or 0:.2g})")
    short, long = found
    subject, who = _subject(graph, node, k)
    long = f"{subject} {long}"
    if bad.autodiff_ok:
        long += "; autodiff through the body agrees with the numerical answer"
    return f"{who}: {short}", long


def _subject(graph, node, k: int) -> tuple[str, str]:
    """(the rule in full, the rule in a few words)."""
    custom, python = node.op.custom, node.op.python
    name = graph.nodes[node.inputs[k]].name
    if python is not None:
        param = python.inputs[k] + (f"' (here '{name}')" if python.inputs[k] != name else "'")
        return f"the VJP {python.where()} of op {python.name} for '{param}", \
            f"{getattr(python.backward, '__name__', python.name)} wrt {python.inputs[k]}"
    if custom is None:
        return f"the built-in {node.op.name} rule for '{name}'", f"{node.op.name} rule wrt {name}"
    param = custom.params[k]
    if param in custom.grads:
        return f"`grad {custom.defn.name} wrt {param} = {custom.grad_text[param]}`", \
            f"grad {custom.defn.name} wrt {param}"
    return f"autodiff through {custom.defn.name} for '{param}'", f"autodiff wrt {param}"


def _input_name(graph, node, m: int) -> str:
    """'a' for a custom op's parameter (with the node it reads), else the input node's name."""
    name = graph.nodes[node.inputs[m]].name
    params = node.op.custom.params if node.op.custom else node.op.python.inputs if node.op.python else None
    if params is None or params[m] == name:
        return f"'{name}'"
    return f"'{params[m]}' (here {name})"


def _rule(kernel, i: int, k: int, g, out, args):
    with np.errstate(all="ignore"):
        return kernel.vjp[i](g, out, *args)[k]


def _summed_back(custom, k: int, ins, out, g, num, tol: Tolerances):
    """A grad line whose result has more axes than its parameter is summed back over the leading
    axes; if the parameter was broadcast along other axes, that sum is the wrong one."""
    param = custom.params[k]
    if param not in custom.grads:
        return None
    compiled, uses_dout = custom.grads[param]
    with np.errstate(all="ignore"):
        raw = compiled.result(compiled.forward({**dict(zip(custom.params, ins)), "out": out, "dout": g}))
        full = np.asarray(raw if uses_dout else raw * g, dtype=float)
    target = custom.shapes[k]
    extra = full.ndim - len(target)
    if full.shape == target or extra < 0:
        return None
    for axes in combinations(range(full.ndim), extra):
        summed = full.sum(axis=axes)
        if summed.shape == target and close(summed, num, tol, 1e-7 * float(np.max(np.abs(num), initial=1.0))):
            if axes == tuple(range(extra)):
                return None
            which = axes[0] if len(axes) == 1 else axes
            auto = tuple(range(extra)) if extra > 1 else 0
            return f"not summed back over axis {which}", (
                f"gives shape {full.shape} for '{param}' {target} without summing it back: bpdebug sums "
                f"leading axes back automatically (axis {auto}), but "
                f"'{param}' was broadcast along axis {which}; sum it there in the grad line: "
                f"sum(..., axis={which})")
    return None


def _summed_over_another_axis(kernel, i: int, k: int, ins, out, g, num, tol: Tolerances):
    """An input broadcast along some axes of the output (a bias) gets dout summed over those
    axes; an op written in Python that sums dout over other axes of the same sizes is wrong."""
    shape, g = np.shape(ins[k]), np.asarray(g, dtype=float)
    extra = g.ndim - len(shape)
    right = tuple(range(extra)) + tuple(extra + a for a, n in enumerate(shape) if n == 1 and g.shape[extra + a] != 1)
    if extra < 0 or not right or not close(np.sum(g, axis=right).reshape(shape), num, tol):
        return None                       # not a broadcast input: the mistake is another
    given = np.asarray(_rule(kernel, i, k, g, out, ins), dtype=float)
    for axes in combinations(range(g.ndim), len(right)):
        summed = np.sum(g, axis=axes)
        if axes != right and summed.size == given.size and close(summed.reshape(given.shape), given, tol):
            which = lambda a: a[0] if len(a) == 1 else a  # noqa: E731
            return f"summed over axis {which(axes)}, not {which(right)}", (
                f"sums dout over axis {which(axes)}, but the input was broadcast along axis {which(right)} "
                f"of the output: dout.sum(axis={which(right)})")
    return None


def _transposed(graph, kernel, node, k: int, ins, out, g, num, tol: Tolerances):
    """Does the rule give the right answer once one of its square inputs is transposed?"""
    for m, x in enumerate(ins):
        if np.ndim(x) == 2 and x.shape[0] == x.shape[1] > 1 and not np.allclose(x, x.T):
            args = list(ins)
            args[m] = x.T
            if close(_rule(kernel, node.index, k, g, out, args), num, tol, 1e-7 * float(np.max(np.abs(num)))):
                name = _input_name(graph, node, m)
                return f"missing transpose of {name}", (
                    f"is right only once {name} is transposed: a missing transpose of {name}, "
                    f"hidden because it is square {x.shape}")
    return None


def _factor(kernel, i: int, k: int, ins, g, tol: Tolerances, rng):
    """The same constant ratio between the numerical answer and the rule's at the recorded
    inputs and at two points nearby: a factor (or a sign) is missing."""
    points = [ins] + [[x + 0.1 * np.maximum(np.abs(x), 1.0) * random_like(x, rng) for x in ins]
                      for _ in range(2)]
    ratios = []
    for args in points:
        with np.errstate(all="ignore"):
            out = kernel.fwd[i](*args)
        if not finite(out):
            continue
        h = np.asarray(_rule(kernel, i, k, g, out, args), dtype=float)
        n = np.asarray(numerical_vjp(kernel.fwd[i], args, k, g, tol.eps), dtype=float)
        hh = float(np.sum(h * h))
        if hh == 0.0:
            return ("sends zero", "sends zero where the numerical derivative is not zero") if np.any(n) else None
        c = float(np.sum(h * n)) / hh
        if not close(c * h, n, tol, 1e-7 * float(np.max(np.abs(n)))):
            return None
        ratios.append(c)
    if len(ratios) < 2 or not np.allclose(ratios, ratios[0], rtol=1e-4):
        return None
    c = ratios[0]
    if abs(c + 1.0) < 1e-4:
        return "wrong sign", "has the wrong sign: the numerical derivative is -1 times its answer"
    return (f"off by a factor of {c:.4g}",
            f"is off by a constant factor: the numerical derivative is {c:.6g} times its answer")
