"""`check_session`: every op node's check, the non-finite origin, the whole-graph confirmation
and gradient health, gathered into one Report (plain data; `as_dict` is the --json format)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..report import json_value
from .health import LayerHealth, ParamHealth, layer_health, param_health
from .nodes import NodeCheck, check_node, pass_answers
from .numeric import Tolerances
from .origin import Origin, first_origin
from .whole import LeafCheck, check_leaves


@dataclass
class Report:
    tolerances: Tolerances
    nodes: list[NodeCheck]                 # op nodes in forward order
    first_bad: NodeCheck | None
    affects: list[str]                     # leaves whose gradient is wrong because of first_bad
    origin: Origin | None
    leaves: list[LeafCheck]
    custom: list = field(default_factory=list)   # [(NodeCheck, [Answer])] for ops with grad lines
    params: list[ParamHealth] = field(default_factory=list)
    layers: list[LayerHealth] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad is None and self.origin is None and all(c.ok is not False for c in self.leaves)

    def as_dict(self) -> dict:
        t = self.tolerances
        return {
            "ok": self.ok,
            "first_bad": self.first_bad.name if self.first_bad else None,
            "affects": self.affects,
            "nodes": [{"name": c.name, "op": c.op, "ok": c.ok, "verdict": c.verdict,
                       "max_abs_err": json_value(c.max_abs_err), "max_rel_err": json_value(c.max_rel_err),
                       "hint": c.hint, "detail": c.detail} for c in self.nodes],
            "nonfinite_origin": self.origin.as_dict() if self.origin else None,
            "leaves": [{"name": c.name, "mode": c.mode, "ok": c.ok, "verdict": c.verdict,
                        "max_abs_err": json_value(c.max_abs_err), "max_rel_err": json_value(c.max_rel_err)}
                       for c in self.leaves],
            "health": {"params": [{"name": p.name, "grad_norm": json_value(p.grad_norm),
                                   "zero_share": p.zero_share, "flags": p.flags} for p in self.params],
                       "layers": [{"name": h.name, "act": h.act, "units": h.units,
                                   "grad_norm": json_value(h.grad_norm), "zero_share": h.zero_share,
                                   "dead_units": h.dead_units, "saturated_share": h.saturated_share,
                                   "flags": h.flags} for h in self.layers]},
            "tolerances": {"eps": t.eps, "rtol": t.rtol, "atol": t.atol},
        }


def check_session(session, tol: Tolerances = Tolerances(), seed: int = 0) -> Report:
    """Run both passes to the end (ignoring breakpoints) and check everything."""
    session.goto(session.total)
    graph, kernel, values, grads = session.graph, session.kernel, session.values, session.grads
    rng = np.random.default_rng(seed)
    nodes = [check_node(graph, kernel, values, n.index, tol, rng) for n in graph.nodes if n.kind == "op"]
    first_bad = next((c for c in nodes if c.ok is False), None)
    affects = affected_leaves(graph, first_bad) if first_bad else []
    report = Report(tol, nodes, first_bad, affects, first_origin(graph, kernel, values, grads, session.total),
                    check_leaves(graph, kernel, values, grads, tol, rng, first=affects))
    for c in nodes:
        custom = graph.nodes[c.index].op.custom
        # at a kink the differences straddle it: no answers to set side by side
        if custom is not None and custom.grads and c.verdict in ("ok", "mismatch"):
            report.custom.append((c, pass_answers(graph, kernel, values, grads, c.index, tol)))
    report.params = param_health(graph, values, grads)
    report.layers = layer_health(graph, values, grads)
    return report


def affected_leaves(graph, bad: NodeCheck) -> list[str]:
    """Leaves whose gradient path passes through `bad`'s wrong contributions: the ancestors of
    the inputs it sends a wrong gradient (all of them when its value is non-finite), provided
    the node is on the output's gradient path at all."""
    n = len(graph.nodes)
    on_path = bytearray(n)
    on_path[graph.output] = 1
    for i in range(graph.output, -1, -1):
        if on_path[i]:
            for j in graph.nodes[i].inputs:
                on_path[j] = 1
    if not on_path[bad.index]:
        return []
    node = graph.nodes[bad.index]
    positions = bad.bad_positions or range(len(node.inputs))
    marked = bytearray(n)
    for k in positions:
        marked[node.inputs[k]] = 1
    for i in range(bad.index - 1, -1, -1):
        if marked[i]:
            for j in graph.nodes[i].inputs:
                marked[j] = 1
    return [graph.nodes[i].name for i in range(bad.index)
            if marked[i] and graph.nodes[i].is_leaf and graph.nodes[i].needs_grad]
