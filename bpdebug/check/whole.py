"""The whole-graph check: d output / d leaf by central differences of the whole forward pass,
against the gradients the backward pass produced. It confirms the node verdicts: the leaves
whose gradient path crosses a failing node disagree here, and only those should.

Small leaves are checked element by element, large ones along random directions; past
MAX_LEAVES leaves (big scalar graphs), the rest are covered by one joint directional check
that moves every leaf at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernel import Kernel, zero_gradient
from ..report import finite
from . import kinks
from .numeric import ROUNDING, Tolerances, compare, directions, dot

WHOLE_SMALL = 16   # leaves up to this size are checked element by element
MAX_LEAVES = 64    # leaves checked one by one; the others only jointly


@dataclass
class LeafCheck:
    name: str
    mode: str                       # per element, directional, or joint (every leaf at once)
    verdict: str = "ok"             # ok, mismatch, kink, unchecked
    ok: bool | None = True
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    hint: str = ""


class _Forward:
    """Every node's value with some leaves moved; nodes before the first of them keep theirs.
    Runs the session's kernel, its leaf values swapped for the moved ones and then put back.
    A stop_gradient node keeps its value too: the gradient it stops is that of a constant."""

    def __init__(self, graph, kernel: Kernel, values: list):
        self.kernel = kernel
        self.values = values
        self.n = len(values)
        self.held = [n.index for n in graph.nodes if n.kind == "op" and n.op.stops_gradient]

    def __call__(self, leaves: dict) -> list:
        kernel = self.kernel
        consts, fwd = kernel.consts, kernel.fwd
        saved = {j: consts[j] for j in leaves}
        held = {i: fwd[i] for i in self.held}
        vals = list(self.values)
        try:
            for j, v in leaves.items():
                consts[j] = v
            for i in held:                   # the kernel reads a node without a forward from consts
                fwd[i], consts[i] = None, self.values[i]
            with np.errstate(all="ignore"):
                kernel.forward(vals, min(leaves), self.n)
        finally:
            for j, v in saved.items():
                consts[j] = v
            for i, f in held.items():
                fwd[i], consts[i] = f, None
        return vals


def _check(graph, forward, values: list, grads: list, moved: list, rng, tol: Tolerances,
           per_element: bool, f0: float) -> tuple[list, set]:
    """(comparisons, kink nodes crossed) for moving the leaves `moved` together. A comparison
    that fails because its step carried a node across a kink is left out, the node recorded."""
    dirs = [directions(values[j], rng, per_element) for j in moved]
    out = graph.output
    candidates = None
    best = None
    for h in tol.steps():
        comps, crossed = [], set()
        for pick in range(len(dirs[0])):
            ds = {j: dirs[a][pick][0] for a, j in enumerate(moved)}
            norm = float(np.sqrt(sum(dirs[a][pick][1] ** 2 for a in range(len(moved)))))
            rule = sum(dot(_grad(grads, values, j), d) for j, d in ds.items()) / norm
            plus = forward({j: values[j] + h * d for j, d in ds.items()})
            minus = forward({j: values[j] - h * d for j, d in ds.items()})
            num = (float(np.sum(plus[out])) - float(np.sum(minus[out]))) / (2 * h) / norm
            c = compare(rule, num, 10 * ROUNDING * abs(f0) / (h * norm), tol)
            if not c.ok:
                if candidates is None:
                    below = _downstream(graph, moved)
                    candidates = [i for i in kinks.kink_nodes(graph) if i in below]
                hit = kinks.crossed_in_graph(graph, candidates, plus, minus)
                if hit:
                    crossed.update(hit)
                    continue
            comps.append(c)
        failures = sum(not c.ok for c in comps)
        if best is None or failures < best[0]:
            best = (failures, comps, crossed)
        if not failures:
            break
    return best[1], best[2]


def _grad(grads: list, values: list, j: int):
    g = grads[j]
    return zero_gradient(np.shape(values[j])) if g is None else g


def check_leaves(graph, kernel: Kernel, values: list, grads: list, tol: Tolerances, rng,
                 first: list = ()) -> list[LeafCheck]:
    """One LeafCheck per leaf that needs a gradient (those in `first` first), and a joint one
    when there are more than MAX_LEAVES."""
    leaves = [n.index for n in graph.nodes if n.is_leaf and n.needs_grad]
    order = [graph.index(name) for name in first] + [j for j in leaves if graph.nodes[j].name not in first]
    f0 = float(np.sum(values[graph.output]))
    forward = _Forward(graph, kernel, values)
    results = []
    cut = _cut_off(graph, kernel)
    for j in [j for j in order if cut[j]]:
        results.append(LeafCheck(graph.nodes[j].name, "none", "unchecked", None,
                                 hint="no gradient reaches it: an op written in Python sends None"))
    order = [j for j in order if not cut[j]]
    for j in order[:MAX_LEAVES]:
        per_element = np.size(values[j]) <= WHOLE_SMALL
        results.append(_leaf_check(graph, values, grads, [j], rng, tol, per_element, f0, forward))
    if len(order) > MAX_LEAVES:
        results.append(_leaf_check(graph, values, grads, order, rng, tol, False, f0, forward))
    return results


def _cut_off(graph, kernel: Kernel) -> bytearray:
    """Nodes that would get a gradient but for the inputs an op written in Python sends None
    (labels, say: their numerical derivative is meaningless)."""
    n = len(graph.nodes)
    unsent = [getattr(v, "unsent", ()) for v in kernel.vjp]
    if not any(unsent):
        return bytearray(n)
    reached, blocked = bytearray(n), bytearray(n)
    reached[graph.output] = 1
    for i in range(graph.output, -1, -1):
        for k, j in enumerate(graph.nodes[i].inputs):
            if reached[i] and k not in unsent[i]:
                reached[j] = 1
            elif reached[i] or blocked[i]:
                blocked[j] = 1
    return bytearray(b and not r for b, r in zip(blocked, reached))


def _leaf_check(graph, values, grads, moved, rng, tol, per_element, f0, forward) -> LeafCheck:
    name = graph.nodes[moved[0]].name if len(moved) == 1 else f"all {len(moved)} leaves"
    mode = "joint" if len(moved) > 1 else ("per element" if per_element else "directional")
    result = LeafCheck(name, mode)
    if not (finite(f0) and all(finite(values[j]) and finite(grads[j]) for j in moved)):
        result.verdict, result.ok, result.hint = "unchecked", None, "nan or inf in the graph"
        return result
    comps, crossed = _check(graph, forward, values, grads, moved, rng, tol, per_element, f0)
    result.max_abs_err = max((c.abs_err for c in comps), default=None)
    result.max_rel_err = max((c.rel_err for c in comps), default=None)
    if crossed:
        names = ", ".join(graph.nodes[i].name for i in sorted(crossed)[:3])
        result.hint = f"steps that crossed a kink ({names}) were left out"
    if any(not c.ok for c in comps):
        result.verdict, result.ok = "mismatch", False
    elif not comps:
        result.verdict = "kink"
    return result


def _downstream(graph, start: list) -> set:
    marked = set(start)
    for node in graph.nodes[min(start):]:
        if any(j in marked for j in node.inputs):
            marked.add(node.index)
    return marked
