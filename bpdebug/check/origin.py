"""Where nan or inf is born: the first node, in either pass, that produces a non-finite value or
gradient while everything it read was finite. Every node after it merely passes the nan on,
so the first backward node holding a nan is often far downstream of the cause.

In the forward pass a node reads its inputs' values; in the backward pass it reads its
upstream gradient, its own value and its inputs' values, and produces its inputs' gradients.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..graph import format_value
from ..report import finite


@dataclass
class Origin:
    node: int
    name: str
    pass_: str              # forward or backward
    formula: str
    reads: list             # [(what, value)] everything the step read, all finite
    produced: list          # [(what, value)] the non-finite results

    def describe(self) -> str:
        reads = ", ".join(f"{w} = {format_value(v)}" for w, v in self.reads)
        made = ", ".join(f"{w} = {format_value(v)}" for w, v in self.produced)
        return f"{self.pass_} step of {self.formula} made {made} from finite {reads}"

    def as_dict(self) -> dict:
        from ..report import json_value
        return {"node": self.name, "pass": self.pass_, "formula": self.formula,
                "reads": {w: json_value(v) for w, v in self.reads},
                "produced": {w: json_value(v) for w, v in self.produced}}


def forward_at(graph, values: list, i: int) -> Origin | None:
    """Node i's forward step, if it made nan or inf out of finite inputs."""
    node = graph.nodes[i]
    v = values[i]
    if node.kind != "op" or v is None or finite(v):
        return None
    ins = [values[j] for j in node.inputs]
    if not all(x is not None and finite(x) for x in ins):
        return None
    reads = [(graph.nodes[j].name, x) for j, x in zip(node.inputs, ins)]
    return Origin(i, node.name, "forward", graph.formula(node), reads, [(node.name, v)])


def backward_at(graph, kernel, values: list, grads: list, i: int) -> Origin | None:
    """Node i's backward step, if it sent nan or inf to an input from finite reads."""
    node = graph.nodes[i]
    g = grads[i]
    if node.kind != "op" or g is None or not kernel.targets[i]:
        return None
    ins = [values[j] for j in node.inputs]
    if not (finite(g) and finite(values[i]) and all(finite(x) for x in ins)):
        return None
    cs = kernel.contributions(values, grads, i)
    d = f"d{graph.nodes[graph.output].name}/d"      # gradients named after the output: df/dx
    bad = [(d + graph.nodes[node.inputs[k]].name, cs[k]) for k, _ in kernel.targets[i] if not finite(cs[k])]
    if not bad:
        return None
    reads = [(d + node.name, g), (node.name, values[i])]
    reads += [(graph.nodes[j].name, x) for j, x in zip(node.inputs, ins)]
    return Origin(i, node.name, "backward", graph.formula(node), reads, bad)


def at_step(session, step: int) -> Origin | None:
    """The origin test for one step already taken (the `break nonfinite` check)."""
    i = session.node_at(step)
    if session.pass_at(step) == "forward":
        return forward_at(session.graph, session.values, i)
    return backward_at(session.graph, session.kernel, session.values, session.grads, i)


def first_origin(graph, kernel, values: list, grads: list, steps: int) -> Origin | None:
    """The first origin among the first `steps` steps (forward nodes 0.., then backward n-1..)."""
    n = len(graph.nodes)
    for i in range(min(steps, n)):
        found = forward_at(graph, values, i)
        if found:
            return found
    for i in range(n - 1, 2 * n - 1 - steps, -1) if steps > n else ():
        found = backward_at(graph, kernel, values, grads, i)
        if found:
            return found
    return None


def nonfinite_origin(session) -> Origin | None:
    """For front ends (the TUI marks it): the origin among the steps the session has taken."""
    return first_origin(session.graph, session.kernel, session.values, session.grads, session.t)
