"""Comparing two traces step by step, nodes aligned by name.

Each step of trace A is compared with the step of trace B that took the node of the same name
in the same pass: the value (forward); the upstream gradient, then per input its local
derivative, contribution and accumulated gradient (backward). The inputs must be the same
names too. Steps are compared as text first (the same program gives the same bytes), and
decoded only where the text differs, to be compared within the tolerances.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .format import FORWARD


@dataclass
class Divergence:
    step: int          # the step in A (in B, for a node that only B has)
    pass_: str
    node: str
    field: str         # value, upstream, local[x], contribution[x], accumulated[x], inputs, node, step
    a: object
    b: object


@dataclass
class Comparison:
    steps: int                       # steps compared (those of A, and the nodes only B has)
    differences: int                 # how many of them differ
    first: Divergence | None

    @property
    def same(self) -> bool:
        return self.differences == 0


def compare(a, b, rtol: float, atol: float) -> Comparison:
    """Compare two ReplaySessions' recordings."""
    ta, tb = a.trace, b.trace
    index_b = {node.name: node.index for node in b.graph.nodes}
    differences, first = 0, None
    for step in range(1, ta.steps + 1):
        found = _step_difference(a, b, index_b, step, rtol, atol)
        if found is not None:
            differences += 1
            first = first or found
    compared = ta.steps
    names_a = {node.name for node in a.graph.nodes}
    for node in b.graph.nodes:             # a node only B has: both of its steps B recorded
        if node.name in names_a:
            continue
        for step in (tb.forward_step(node.index), tb.backward_step(node.index)):
            if step <= tb.steps:
                compared += 1
                differences += 1
                first = first or Divergence(step, tb.pass_name(step), node.name, "node", None, node.name)
    return Comparison(compared, differences, first)


def _step_difference(a, b, index_b: dict, step: int, rtol: float, atol: float) -> Divergence | None:
    ta, tb = a.trace, b.trace
    i = ta.node_of(step)
    node = a.graph.nodes[i]
    pass_ = ta.pass_name(step)

    def diverged(field, x, y):
        return Divergence(step, pass_, node.name, field, x, y)

    j = index_b.get(node.name)
    if j is None:
        return diverged("node", node.name, None)
    other = b.graph.nodes[j]
    step_b = tb.forward_step(j) if pass_ == FORWARD else tb.backward_step(j)
    if step_b > tb.steps:
        return diverged("step", "recorded", "not recorded")
    inputs = [a.graph.nodes[k].name for k in node.inputs]
    inputs_b = [b.graph.nodes[k].name for k in other.inputs]
    if inputs != inputs_b:
        return diverged("inputs", inputs, inputs_b)
    if ta.fields(step) == tb.fields(step_b):      # the same bytes: the same values
        return None
    names = ["value"] if pass_ == FORWARD else (
        ["upstream"] + [f"{kind}[{x}]" for kind in ("local", "contribution", "accumulated") for x in inputs])
    # decoded and checked against each program, or a located error naming the trace
    for name, x, y in zip(names, _values(ta.event(step)), _values(tb.event(step_b))):
        if not close(x, y, rtol, atol):
            return diverged(name, x, y)
    return None


def _values(event) -> list:
    """An event's values in the order of its line."""
    return [event.value, *event.local, *event.contribution, *event.accumulated]


def close(x, y, rtol: float, atol: float) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if np.shape(x) != np.shape(y):
        return False
    return bool(np.all(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)))

