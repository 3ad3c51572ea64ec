"""Optimizers: how a param moves given its gradient, by torch.optim's rules.

`update(p, g, lr, state)` returns the new param and the param's new state. It never writes into
an array it was given: the Trainer keeps the old param and state, so that an update can be
taken back and shown. The state is None before a param's first update; then momentum keeps
the velocity v and Adam (t, m, v), t being the param's own count of updates, as torch keeps it.
Weight decay is L2 added to the gradient, g + wd * p, as torch.optim.SGD and Adam add it.

`explain(u)` spells an update out for the update phase, one line per quantity, with the
numbers filled in for a scalar param.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import format_number

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass
class Line:
    """One quantity of an update: `m = 0.9 * m + 0.1 * dC/dw`; the same with the numbers in
    (`0.9 * 0 + 0.1 * 0.25`) when every number is a scalar, else None; and its value."""

    name: str
    formula: str
    numbers: str | None
    value: object


def _number(x) -> str:
    text = format_number(float(x))
    return f"({text})" if text.startswith("-") else text


def _line(name: str, value, *parts) -> Line:
    """Parts are text, or (symbol, value): the symbol in the formula, the value in the numbers."""
    formula = "".join(p if isinstance(p, str) else p[0] for p in parts)
    scalar = all(isinstance(p, str) or np.ndim(p[1]) == 0 for p in parts)
    numbers = "".join(p if isinstance(p, str) else _number(p[1]) for p in parts) if scalar else None
    return Line(name, formula, numbers, value)


def _n(x: float) -> str:
    return format_number(x)


class Optimizer:
    name = ""

    def __init__(self, weight_decay: float = 0.0):
        self.weight_decay = weight_decay

    def describe(self) -> str:
        return self.name + (f", weight decay {_n(self.weight_decay)}" if self.weight_decay else "")

    def _decayed(self, p, g):
        return g + self.weight_decay * p if self.weight_decay else g

    def _gradient_line(self, u, lines: list) -> tuple:
        """The gradient the rule uses, as a (symbol, value) part: dC/dp, or g with weight decay."""
        grad = (f"d{u.loss}/d{u.param}", u.grad)
        if not self.weight_decay:
            return grad
        g = self._decayed(u.old, u.grad)
        lines.append(_line("g", g, grad, f" + {_n(self.weight_decay)} * ", (u.param, u.old)))
        return ("g", g)

    def update(self, p, g, lr: float, state):
        raise NotImplementedError

    def explain(self, u) -> list[Line]:
        raise NotImplementedError


class SGD(Optimizer):
    """p = p - lr * g"""

    name = "sgd"

    def update(self, p, g, lr, state):
        return p - lr * self._decayed(p, g), None

    def explain(self, u):
        lines: list = []
        g = self._gradient_line(u, lines)
        lines.append(_line(u.param, u.new, (u.param, u.old), f" - {_n(u.lr)} * ", g))
        return lines


class Momentum(Optimizer):
    """v = mu * v + g; p = p - lr * v (PyTorch's convention: the first v is g itself). With
    Nesterov's correction the step is g + mu * v instead of v."""

    name = "momentum"

    def __init__(self, momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(weight_decay)
        self.momentum, self.nesterov = momentum, nesterov

    def describe(self):
        extra = ", nesterov" if self.nesterov else ""
        return f"momentum {_n(self.momentum)}{extra}" + super().describe()[len(self.name):]

    def update(self, p, g, lr, v):
        g = self._decayed(p, g)
        v = g if v is None else self.momentum * v + g
        step = g + self.momentum * v if self.nesterov else v
        return p - lr * step, v

    def explain(self, u):
        lines: list = []
        g = self._gradient_line(u, lines)
        mu = _n(self.momentum)
        old_v = 0.0 if u.state_before is None else u.state_before
        lines.append(_line("v", u.state_after, f"{mu} * ", ("v", old_v), " + ", g))
        step = ("v", u.state_after)
        if self.nesterov:
            value = g[1] + self.momentum * u.state_after
            lines.append(_line("step", value, g, f" + {mu} * ", step))
            step = ("step", value)
        lines.append(_line(u.param, u.new, (u.param, u.old), f" - {_n(u.lr)} * ", step))
        return lines


class Adam(Optimizer):
    """m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g^2; m^ = m / (1 - b1^t);
    v^ = v / (1 - b2^t); p = p - lr * m^ / (sqrt(v^) + eps), as in the Adam paper and torch."""

    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def describe(self):
        return (f"adam (beta1 {_n(self.beta1)}, beta2 {_n(self.beta2)}, eps {_n(self.eps)})"
                + super().describe()[len(self.name):])

    def update(self, p, g, lr, state):
        t, m, v = state if state is not None else (0, 0.0, 0.0)
        b1, b2 = self.beta1, self.beta2
        g = self._decayed(p, g)
        t += 1
        # Fresh arrays, then in place: as few temporaries as a hand-written step makes.
        m = m * b1
        m += (1 - b1) * g
        v = v * b2
        v += (1 - b2) * (g * g)
        denominator = np.sqrt(v / (1 - b2 ** t))
        denominator += self.eps
        step = m / denominator
        step *= lr / (1 - b1 ** t)
        new = p - step
        return (new if isinstance(new, np.ndarray) else float(new)), (t, m, v)

    def explain(self, u):
        lines: list = []
        g = self._gradient_line(u, lines)
        t, m, v = u.state_after
        _, m0, v0 = u.state_before if u.state_before is not None else (0, 0.0, 0.0)
        b1, b2 = self.beta1, self.beta2
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        m_hat, v_hat = m / c1, v / c2
        lines.append(_line("m", m, f"{_n(b1)} * ", ("m", m0), f" + {_n(1 - b1)} * ", g))
        squared = (f"({g[0]})" if "/" in g[0] else g[0], g[1])      # (dC/dw)^2, g^2
        lines.append(_line("v", v, f"{_n(b2)} * ", ("v", v0), f" + {_n(1 - b2)} * ", squared, "^2"))
        lines.append(_line("m\u0302", m_hat, ("m", m), f" / (1 - {_n(b1)}^{t})"))
        lines.append(_line("v\u0302", v_hat, ("v", v), f" / (1 - {_n(b2)}^{t})"))
        lines.append(_line(u.param, u.new, (u.param, u.old), f" - {_n(u.lr)} * ", ("m\u0302", m_hat),
                           " / (sqrt(", ("v\u0302", v_hat), f") + {_n(self.eps)})"))
        return lines


def make_optimizer(name: str = "sgd", momentum: float = 0.9, nesterov: bool = False, beta1: float = 0.9,
                   beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> Optimizer:
    if name == "momentum":
        return Momentum(momentum, nesterov, weight_decay)
    if name == "adam":
        return Adam(beta1, beta2, eps, weight_decay)
    return SGD(weight_decay)
