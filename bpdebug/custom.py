"""User ops with hand-written derivatives: `def f(a, b) = ...` plus `grad f wrt a = ...`.

Such an op is one node. Its forward runs the body, compiled as a small graph; the VJP for a
parameter with a grad line evaluates that line (with `out` and `dout` bound), right or wrong,
since debugging it is the point; a parameter without one is differentiated through the body.
Both answers stay available, so the gradient checker can set them side by side.
"""
from __future__ import annotations

import numpy as np

from .lang import ast
from .kernel import Kernel, unbroadcast, zero_gradient
from .ops import Op


def _uses(expr, name: str) -> bool:
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, ast.Name) and e.name == name:
            return True
        stack.extend(getattr(e, a) for a in ("left", "right", "operand") if hasattr(e, a))
        stack.extend(getattr(e, "args", ()))
        stack.extend(getattr(e, "items", ()))
    return False


class _Compiled:
    """A fragment graph with named leaves, evaluated by the kernel."""

    def __init__(self, graph):
        self.graph = graph
        self.kernel = Kernel(graph)
        self.size = len(graph.nodes)

    def forward(self, bindings: dict) -> list:
        consts = self.kernel.consts
        for name, value in bindings.items():
            consts[self.graph.names[name]] = value
        vals = [None] * self.size
        self.kernel.forward(vals, 0, self.size)
        return vals

    def result(self, vals):
        return vals[self.graph.output]


class CustomOp:
    def __init__(self, defn: ast.Def, grads: dict, shapes: list, builder):
        self.defn = defn
        self.params = defn.params
        self.shapes = [tuple(s) for s in shapes]
        leaves = dict(zip(self.params, self.shapes))
        self.body = _Compiled(builder.fragment(defn.body, leaves, defn.name))
        self.out_shape = self.body.graph.nodes[self.body.graph.output].shape
        self.grads = {}
        self.grad_text = {}
        for param, line in grads.items():
            frag = builder.fragment(line.expr, {**leaves, "out": self.out_shape, "dout": self.out_shape},
                                    defn.name)
            compiled = _Compiled(frag)
            uses_dout = _uses(line.expr, "dout")
            shape = frag.nodes[frag.output].shape
            target = self.shapes[self.params.index(param)]
            try:  # summed back to the parameter's shape, it must be that shape or broadcast to it
                full = shape if uses_dout else np.broadcast_shapes(shape, self.out_shape)
                summed = np.shape(unbroadcast(np.zeros(full), target))
                fits = np.broadcast_shapes(summed, target) == target
            except (ValueError, IndexError):
                fits = False
            if not fits:
                raise builder.error(f"grad {defn.name} wrt {param} has shape {shape}, which does not fit "
                                    f"'{param}' {target}", line.expr.span) from None
            self.grads[param] = (compiled, uses_dout)
            self.grad_text[param] = _source(builder.program.source, line.expr.span)

    def _bind(self, args) -> dict:
        return dict(zip(self.params, args))

    def forward(self, *args):
        return self.body.result(self.body.forward(self._bind(args)))

    def handwritten(self, k: int, g, out, *args):
        """The grad line's contribution for parameter k, or None where there is none."""
        compiled, uses_dout = self.grads.get(self.params[k], (None, None))
        if compiled is None:
            return None
        r = compiled.result(compiled.forward({**self._bind(args), "out": out, "dout": g}))
        r = unbroadcast(r if uses_dout else r * g, self.shapes[k])
        return r if np.shape(r) == self.shapes[k] else np.broadcast_to(r, self.shapes[k]).copy()

    def autodiff(self, g, *args) -> tuple:
        """Contributions for every parameter, differentiating through the body."""
        body = self.body
        vals = body.forward(self._bind(args))
        grads = [None] * body.size
        grads[body.graph.output] = g
        body.kernel.backward(vals, grads, 0, body.size, None)
        out = []
        for p, shape in zip(self.params, self.shapes):
            c = grads[body.graph.names[p]]
            out.append(zero_gradient(shape) if c is None else c)
        return tuple(out)

    def vjp(self, g, out, *args) -> tuple:
        hand = [self.handwritten(k, g, out, *args) for k in range(len(self.params))]
        if any(h is None for h in hand):
            auto = self.autodiff(g, *args)
            hand = [a if h is None else h for h, a in zip(hand, auto)]
        return tuple(hand)

    def local_texts(self) -> tuple:
        return tuple(self.grad_text.get(p, f"(through the body of {self.defn.name})") for p in self.params)


def _source(text: str, span) -> str:
    lines = text.splitlines()
    if span.line != span.end_line:
        return " ".join(lines[span.line - 1:span.end_line]).strip()
    return lines[span.line - 1][span.column - 1:span.end_column - 1]


def custom_op(defn: ast.Def, grads: dict, shapes: list, builder) -> Op:
    c = CustomOp(defn, grads, shapes, builder)
    formula = f"{defn.name}(" + ", ".join("{%d}" % k for k in range(len(defn.params))) + ")"
    return Op(defn.name, len(defn.params), c.forward, c.vjp, formula, c.local_texts(),
              shape=lambda *shapes: c.out_shape, custom=c)
