"""Kinks: where an op's derivative is a convention (relu and abs at 0, max/min at a tie, a
maxpool window with two maxima, clip at a bound), and where a central difference straddles
one. A difference across a kink averages two slopes, so it disagrees with any rule there: that
is a kink, not a mistake.

A step straddles a kink when the op's local derivative differs at its two ends: the op
table's own VJP tells for elementwise ops, and the element picked for ops that pick one.
"""
from __future__ import annotations

from weakref import WeakKeyDictionary

import numpy as np


def exact(node, ins: list, moving=None):
    """(mask, rule) at the recorded inputs: mask is None (no kink), True (the whole node) or a
    boolean array of the output's shape. `moving`: the input positions that get a gradient (a
    kink of `where` concerns its condition only)."""
    op = node.op
    if op.custom is not None:
        rule = _body_exact(op.custom, ins)
        return (True, rule) if rule else (None, "")
    if op.kink is None or (moving is not None and op.kink_wrt is not None and not set(op.kink_wrt) & set(moving)):
        return None, ""
    with np.errstate(all="ignore"):
        where = np.asarray(op.kink(*ins, **node.attrs), dtype=bool)
    if not where.any():
        return None, ""
    mask = np.broadcast_to(where, node.shape)
    return (True if mask.all() else mask.copy()), op.kink_rule


def _body_exact(custom, ins: list) -> str:
    with np.errstate(all="ignore"):
        vals = custom.body.forward(dict(zip(custom.params, ins)))
        for n in custom.body.graph.nodes:
            if n.kind == "op" and n.op.kink is not None and np.any(n.op.kink(*(vals[j] for j in n.inputs), **n.attrs)):
                return f"{n.op.kink_rule} (inside {custom.defn.name})"
    return ""


def straddled(node, plus: list, minus: list) -> np.ndarray:
    """Output elements of a kink op whose local derivative differs between the inputs `plus`
    and `minus`: a kink lies between them. Ops that pick an element (max of one argument,
    maxpool) say which one they pick; for elementwise ones, the VJP at both ends tells."""
    op, attrs, shape = node.op, node.attrs, node.shape
    with np.errstate(all="ignore"):
        if op.choice is not None:
            return np.broadcast_to(op.choice(*plus, **attrs) != op.choice(*minus, **attrs), shape)
        ends = []
        for args in (plus, minus):
            xs = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
            ends.append(op.vjp(np.ones(shape), op.f(*xs, **attrs), *xs, **attrs))
    mask = np.zeros(shape, dtype=bool)
    for a, b in zip(*ends):
        mask |= ~np.isclose(a, b, rtol=1e-3, atol=1e-12)
    return mask


def crossed_in_graph(graph, nodes, vals_plus: list, vals_minus: list) -> list:
    """The nodes among `nodes` (kink ops, and `def`s with kinks in their body) that a change
    from vals_minus to vals_plus carries across a kink."""
    out = []
    for i in nodes:
        node = graph.nodes[i]
        plus = [vals_plus[j] for j in node.inputs]
        minus = [vals_minus[j] for j in node.inputs]
        if node.op.custom is not None:
            if body_straddled(node.op.custom, plus, minus):
                out.append(i)
        elif np.any(straddled(node, plus, minus)):
            out.append(i)
    return out


def body_straddled(custom, plus: list, minus: list) -> bool:
    """Does the body of a `def` cross a kink between these two sets of arguments?"""
    graph = custom.body.graph
    with np.errstate(all="ignore"):
        vp = list(custom.body.forward(dict(zip(custom.params, plus))))
        vm = list(custom.body.forward(dict(zip(custom.params, minus))))
    return bool(crossed_in_graph(graph, kink_nodes(graph), vp, vm))


def kink_nodes(graph) -> list:
    """Nodes whose op can have a kink: built-ins that declare one, and `def`s with one inside."""
    return [n.index for n in graph.nodes if n.kind == "op" and
            (n.op.kink is not None or (n.op.custom is not None and _has_kink(n.op.custom)))]


_HAS_KINK: WeakKeyDictionary = WeakKeyDictionary()


def _has_kink(custom) -> bool:
    # `def`s nest at most 64 deep (graph.MAX_CALL_DEPTH); remembered so shared ones count once
    if custom not in _HAS_KINK:
        _HAS_KINK[custom] = bool(kink_nodes(custom.body.graph))
    return _HAS_KINK[custom]
