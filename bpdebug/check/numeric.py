"""Central differences and the comparison rule shared by every check.

Everything is float64. A step moves each element in proportion to its own magnitude (at least
1), so a weight of 1e3 and a weight of 1e-3 both get a step that suits them. Two numbers agree
when |rule - numerical| <= atol + rtol * max(|rule|, |numerical|) + the rounding floor of the
difference quotient: a wrong rule is off by a sizeable fraction, rounding is not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SMALL = 8          # inputs up to this many elements are checked element by element
PROJECTIONS = 2    # random directions per larger input
ROUNDING = 100 * np.finfo(float).eps


@dataclass(frozen=True)
class Tolerances:
    eps: float = 1e-6
    rtol: float = 1e-5
    atol: float = 1e-8

    def steps(self) -> tuple:
        """The step used first, then a smaller one (a kink nearby) and a larger one (rounding)."""
        return (self.eps, self.eps / 16, self.eps * 16)

    def describe(self) -> str:
        return (f"float64; central differences with step eps*max(|x|, 1) per element, eps {self.eps:g} "
                f"(retried at eps/16 and eps*16 before calling a mismatch); agree when "
                f"|err| <= atol + rtol*|answer| + rounding, rtol {self.rtol:g}, atol {self.atol:g}; "
                f"inputs up to {SMALL} elements checked element by element, larger ones along "
                f"{PROJECTIONS} random projections")


def dot(a, b) -> float:
    if isinstance(a, float) and isinstance(b, float):
        return a * b
    return float(np.sum(np.multiply(a, b)))


def random_like(x, rng):
    return float(rng.standard_normal()) if np.ndim(x) == 0 else rng.standard_normal(np.shape(x))


def directions(x, rng, per_element: bool | None = None) -> list:
    """[(direction, its norm)]: scaled basis vectors (by default for inputs up to SMALL
    elements), else PROJECTIONS random directions."""
    if np.ndim(x) == 0:
        s = max(abs(float(x)), 1.0)
        return [(s, s)]
    scale = np.maximum(np.abs(x), 1.0)
    if per_element if per_element is not None else x.size <= SMALL:
        out = []
        for e in range(x.size):
            d = np.zeros(x.shape)
            d.flat[e] = scale.flat[e]
            out.append((d, float(scale.flat[e])))
        return out
    ds = [rng.standard_normal(x.shape) * scale for _ in range(PROJECTIONS)]
    return [(d, float(np.linalg.norm(d))) for d in ds]


def shifted(args: list, k: int, d, h: float) -> tuple:
    plus, minus = list(args), list(args)
    plus[k] = args[k] + h * d
    minus[k] = args[k] - h * d
    return plus, minus


def directional(phi, args: list, k: int, d, h: float) -> float:
    """d/dt phi(args with args[k] + t*d) at t = 0, by central differences."""
    plus, minus = shifted(args, k, d, h)
    with np.errstate(all="ignore"):
        return (phi(plus) - phi(minus)) / (2.0 * h)


def numerical_vjp(f, args: list, k: int, g, eps: float):
    """J_k^T g element by element: 2 evaluations of f per element of args[k]."""
    phi = lambda a: dot(g, f(*a))  # noqa: E731
    x = args[k]
    if np.ndim(x) == 0:
        s = max(abs(float(x)), 1.0)
        return directional(phi, args, k, s, eps) / s
    out = np.empty(np.shape(x))
    for e in range(out.size):
        d = np.zeros(out.shape)
        s = max(abs(float(x.flat[e])), 1.0)
        d.flat[e] = s
        out.flat[e] = directional(phi, args, k, d, eps) / s
    return out


@dataclass
class Comparison:
    rule: float          # <answer, d>/|d|
    numerical: float
    floor: float         # what rounding alone can explain
    ok: bool
    abs_err: float
    rel_err: float


def compare(rule: float, numerical: float, floor: float, tol: Tolerances) -> Comparison:
    if not (np.isfinite(rule) and np.isfinite(numerical)):
        return Comparison(rule, numerical, floor, False, float("inf"), float("inf"))
    err = abs(rule - numerical)
    big = max(abs(rule), abs(numerical))
    ok = err <= tol.atol + tol.rtol * big + floor
    return Comparison(rule, numerical, floor, ok, err, err / max(big, floor + tol.atol, 1e-300))


def close(a, b, tol: Tolerances, floor=0.0) -> bool:
    """Element by element, the same rule as compare()."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(a - b) <= tol.atol + tol.rtol * np.maximum(np.abs(a), np.abs(b)) + floor))
