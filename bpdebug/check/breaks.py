"""The named breakpoints `break nonfinite` and `break mismatch` (SPECIAL_BREAKS, which the
engine reads), and the per-session node checks front ends use to mark failing nodes.

A node's check is cached per session and redone when its value or an input's value is a
different object (after `set`, `back` and stepping again, or `restart`).
"""
from __future__ import annotations

from typing import Callable
from weakref import WeakKeyDictionary

import numpy as np

from ..lang import BpError
from .nodes import NodeCheck, check_node, describe_answers, pass_answers
from .numeric import Tolerances
from .origin import at_step, nonfinite_origin

_CHECKS: WeakKeyDictionary = WeakKeyDictionary()


class _SessionChecks:
    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.done: dict = {}   # node -> (the value objects it was checked at, NodeCheck)


def node_check(session, i: int, tol: Tolerances = Tolerances()) -> NodeCheck:
    """Node i's check at the session's current values (cached)."""
    state = _CHECKS.get(session)
    if state is None:
        state = _CHECKS[session] = _SessionChecks()
    key = (session.values[i],) + tuple(session.values[j] for j in session.graph.nodes[i].inputs)
    hit = state.done.get(i)
    if hit is not None and all(a is b for a, b in zip(hit[0], key)):
        return hit[1]
    result = check_node(session.graph, session.kernel, session.values, i, tol, state.rng)
    state.done[i] = (key, result)
    return result


def failing_nodes(session) -> dict:
    """{node index: NodeCheck} for the computed nodes whose backward rule fails its check, or
    whose value or gradient is born non-finite there. For marking nodes in a front end."""
    out = {}
    for node in session.graph.nodes:
        if node.kind == "op" and session.values[node.index] is not None:
            c = node_check(session, node.index)
            if c.ok is False:
                out[node.index] = c
    return out


def mismatch_reason(session, i: int) -> str:
    """The answers side by side for a node failing its check, with the upstream gradient the
    backward pass actually has (ones if it is zero or not there yet); "" if the node passes."""
    c = node_check(session, i)
    if c.verdict != "mismatch":
        return ""
    found = pass_answers(session.graph, session.kernel, session.values, session.grads, i, Tolerances())
    return f"{c.name} fails its gradient check: {c.detail}\n{describe_answers(found)}"


def _mismatch(session, step: int) -> str:
    if session.pass_at(step) != "backward" or session.graph.nodes[session.node_at(step)].kind != "op":
        return ""
    return mismatch_reason(session, session.node_at(step))


def _nonfinite(session, step: int) -> str:
    found = at_step(session, step)
    return f"nan or inf is born here: {found.describe()}" if found else ""


# Named breakpoint checks: name -> test(session, step) -> the reason to stop there, or "".
# Duck-typed on the session, so this package never imports the engine.
SPECIAL_BREAKS: dict[str, Callable] = {"nonfinite": _nonfinite, "mismatch": _mismatch}


def check_text(session, name: str | None = None) -> str:
    """The `check [NODE]` command: NODE's verdict (with its answers if it fails), or every
    computed node that fails and where nan or inf is born so far."""
    g = session.graph
    if name:
        i = g.index(name)
        if session.values[i] is None:
            raise BpError(f"'{name}' is not computed yet; step the forward pass past it first")
        if g.nodes[i].kind != "op":
            return f"{name} is a {g.nodes[i].kind}: it has no backward rule to check"
        c = node_check(session, i)
        return mismatch_reason(session, i) or f"{c.name}: {c.verdict}" + (f" ({c.hint})" if c.hint else "")
    lines = [f"{c.name}: {c.verdict}: {c.hint}" for c in failing_nodes(session).values()]
    origin = nonfinite_origin(session)
    if origin is not None:
        lines.append(f"nan or inf is born at {origin.name}: {origin.describe()}")
    computed = sum(1 for n in g.nodes if n.kind == "op" and session.values[n.index] is not None)
    if not computed:
        return "no node is computed yet: step the forward pass first"
    return "\n".join(lines) or f"all {computed} computed node(s) pass their gradient check"
