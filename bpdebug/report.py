"""Plain-data views of a session's state, shared by `run --json`, traces and the transcript."""
from __future__ import annotations

import math

import numpy as np

from .graph import Graph, format_value
from .kernel import zero_gradient


def finite(x) -> bool:
    """No nan or inf in x; None (not computed yet) counts as finite."""
    if isinstance(x, float):  # the common case of scalar graphs, without numpy's overhead
        return math.isfinite(x)
    return x is None or bool(np.all(np.isfinite(x)))


def json_value(x):
    """Numbers or nested lists; nan and infinities as the strings "nan", "inf", "-inf"."""
    if x is None:
        return None
    if np.ndim(x) == 0:
        f = float(x)
        return f if math.isfinite(f) else ("nan" if math.isnan(f) else ("inf" if f > 0 else "-inf"))
    arr = np.asarray(x, dtype=float)
    if np.all(np.isfinite(arr)):
        return arr.tolist()
    return np.vectorize(json_value, otypes=[object])(arr).tolist()


def state_dict(session, stop=None) -> dict:
    """{"output", "value", "stop", "nodes": [{"name", "op", "inputs", "shape", "value", "grad"}]}
    at the session's position: a value not computed yet, or a gradient whose backward step is
    still to come, is None (null); a node the output does not depend on gets a zero gradient
    once its backward step is taken. `stop` (an engine Stop): where a breakpoint stopped the
    run, as {"step", "pass", "node", "breakpoint"}; None when it ran to its end."""
    graph, values, grads = session.graph, session.values, session.grads
    out = graph.nodes[graph.output]
    stepped_from = session.total - session.t        # backward steps taken cover nodes >= this
    nodes = []
    for node in graph.nodes:
        g = grads[node.index]
        if g is None and node.needs_grad and session.t > session.n and node.index >= stepped_from:
            g = zero_gradient(node.shape)
        nodes.append({
            "name": node.name,
            "op": graph.op_label(node),
            "inputs": [graph.nodes[j].name for j in node.inputs],
            "shape": list(node.shape),
            "value": json_value(values[node.index]),
            "grad": json_value(g),
        })
        if node.onnx_name is not None:
            nodes[-1]["onnx_name"] = node.onnx_name
    where = None
    if stop is not None and stop.reason == "breakpoint":
        where = {"step": stop.step, "pass": session.pass_at(stop.step - 1),
                 "node": graph.nodes[session.current].name, "breakpoint": stop.breakpoint.id}
    return {"output": out.name, "value": json_value(values[out.index]), "stop": where, "nodes": nodes}


def nonfinite_nodes(graph: Graph, values: list, grads: list) -> list:
    """Names of nodes whose value or gradient holds nan or inf."""
    return [node.name for node in graph.nodes
            if not (finite(values[node.index]) and finite(grads[node.index]))]


def short(x) -> str:
    return format_value(x)
