"""What a step did, read from a session's state: the StepEvent of a forward or backward step
(or of a `def` call stepped over as one step), each input's Term, and the contributions a node
has received. Nothing here moves the session. A replay of a trace answers the same questions
from its recording: it overrides the session's contributions, local_derivatives and
accumulated, which is all these functions read besides values and gradients.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import numpy as np

from .kernel import seed_gradient

FORWARD, BACKWARD, DONE = "forward", "backward", "done"


@dataclass
class Term:
    """What one input of a node gets in the backward pass."""

    input: str
    derivative: str          # "d(q*z)/dq = z"
    local: object            # the local derivative's value (elementwise ops), else None
    contribution: object     # upstream x local, summed back to the input's shape
    accumulated: object      # the input's gradient once this contribution was added: a running
                             # sum, so the two terms of x*x read 3, then 6


@dataclass
class StepEvent:
    step: int                # 0-based index of the step just taken
    total: int
    pass_: str
    node: "object"           # the graph's Node (for a call stepped over: its return node)
    formula: str
    inputs: list             # [(name, value)] (for a call stepped over: its arguments)
    value: object
    upstream: object = None  # d(output)/d(node), backward only
    terms: list = field(default_factory=list)
    over: object = None      # the InlineCall stepped over as this one step, if any


def step_event(session, step: int) -> StepEvent:
    """The event of `step` (0-based, already taken)."""
    i = session.node_at(step)
    g = session.graph
    node = g.nodes[i]
    ev = StepEvent(step, session.total, session.pass_at(step), node, g.formula(node),
                   [(g.nodes[j].name, plain(session.values[j])) for j in node.inputs],
                   plain(session.values[i]))
    if ev.pass_ == BACKWARD:
        ev.upstream = plain(session.grads[i])
        ev.terms = _terms(session, i)
    return ev


def call_event(session, call, step: int) -> StepEvent:
    """A `def` call taken as one step by `next`: its arguments in, its return node's value out;
    in the backward pass what the whole body sent back to each argument."""
    g = session.graph
    ret = g.nodes[call.end]
    args = [g.index(name) for name in call.args]
    ev = StepEvent(step, session.total, session.pass_at(step), ret, g.formula(ret),
                   [(g.nodes[j].name, plain(session.values[j])) for j in args],
                   plain(session.values[call.end]), over=call)
    if ev.pass_ == BACKWARD:
        ev.upstream = plain(session.grads[call.end])
        for j in dict.fromkeys(args):
            name = g.nodes[j].name
            sent = _sent_by_body(session, call, j) if g.nodes[j].needs_grad else None
            ev.terms.append(Term(name, f"d({call.op}({', '.join(call.args)}))/d{name}, through the body", None,
                                 plain(sent), plain(session.grads[j]) if sent is not None else None))
    return ev


def enclosing_call(graph, i: int):
    """The innermost `def` call whose body holds node i (a call's return node is the call
    itself, not inside it), or None."""
    around = [c for c in graph.calls if c.start <= i < c.end]
    return min(around, key=lambda c: c.end - c.start) if around else None


def _sent_by_body(session, call, j: int):
    """What the body of `call` sent to node j, added up in the order the steps sent it."""
    total = None
    for c in reversed(session.graph.consumers[j]):
        if call.start <= c < call.end:
            for k, x in enumerate(session.graph.nodes[c].inputs):
                share = session.contributions(c)[k] if x == j else None
                if share is not None:
                    total = share if total is None else total + share
    return total


def _terms(session, i: int) -> list:
    g, node = session.graph, session.graph.nodes[i]
    cs = session.contributions(i)
    locals_ = session.local_derivatives(i)
    sums = session.accumulated(i)
    out_text = g.expression(node) if node.kind == "op" else ""
    terms = []
    for k, j in enumerate(node.inputs):
        name = g.nodes[j].name
        wanted = g.nodes[j].needs_grad
        terms.append(Term(name, f"d({out_text})/d{name} = {g.local_text(node, k)}", locals_[k],
                          plain(cs[k]) if wanted else None, plain(sums[k]) if wanted else None))
    return terms


def running_sums(session, i: int) -> list:
    """For each input slot of node i (whose backward step has been taken), the input's
    gradient just after that slot's contribution was added, computed as the kernel adds them;
    None where the step wrote nothing. The common case is a read: when no later step has
    written to the input and the node reads it once, it is the input's gradient now."""
    node = session.graph.nodes[i]
    out: list = [None] * len(node.inputs)
    targets = session.kernel.targets[i]
    if session.grads[i] is None or not targets:
        return out
    consumers = session.graph.consumers
    stepped_from = session.total - session.t         # backward steps taken cover nodes >= this
    slots: dict = {}
    for k, j in targets:
        slots.setdefault(j, []).append(k)
    sent = None
    for j, ks in slots.items():
        cj = consumers[j]
        latest = cj[bisect_left(cj, stepped_from)] == i     # no step since has written to j
        if latest and len(ks) == 1:
            out[ks[0]] = session.grads[j]
            continue
        sent = sent or session.contributions(i)
        total = _received_before(session, j, i)
        for k in ks:
            total = sent[k] if total is None else total + sent[k]
            out[k] = total
    return out


def _received_before(session, j: int, i: int):
    """Node j's gradient just before the backward step of its consumer i: what the consumers
    stepped before i sent, added in the kernel's order (a seed where j is the output)."""
    total = seed_gradient(session.graph.nodes[j].shape) if j == session.graph.output else None
    cj = session.graph.consumers[j]
    targets = session.kernel.targets
    for c in reversed(cj[bisect_right(cj, i):]):
        cs = session.contributions(c)
        for k, x in targets[c]:
            if x == j and cs[k] is not None:
                total = cs[k] if total is None else total + cs[k]
    return total


def received(session, i: int, limit: int | None = None, until: tuple | None = None) -> list:
    """[(consumer name, contribution)] for each contribution node i has received, in the order
    they arrived (a consumer that reads i twice, as x*x does, sends two). `limit`: from the
    first `limit` consumers only, so a node with 10,000 consumers costs no more to show.
    `until` = (consumer c, slot k): only what had arrived once c's slot k was added. Nothing for
    a node without a gradient (a comparison, a constant): nothing is sent to it."""
    if session.t <= session.n or not session.graph.nodes[i].needs_grad:
        return []
    consumers = session.graph.consumers[i]
    first = session.total - session.t if until is None else max(session.total - session.t, until[0])
    arrived = consumers[bisect_left(consumers, first):][::-1]
    if limit is not None:
        arrived = arrived[:limit]
    out = []
    for c in arrived:
        cs = session.contributions(c)
        for k, j in enumerate(session.graph.nodes[c].inputs):
            if j == i and cs[k] is not None and (until is None or c != until[0] or k <= until[1]):
                out.append((session.graph.nodes[c].name, plain(cs[k])))
    return out


def arrived_count(session, i: int) -> int:
    """How many of node i's consumers have taken their backward step."""
    if session.t <= session.n:
        return 0
    consumers = session.graph.consumers[i]
    return len(consumers) - bisect_left(consumers, session.total - session.t)


def plain(x):
    """Floats for scalars, numpy arrays for tensors, None stays None."""
    if x is None or isinstance(x, (float, bool)):
        return x
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if np.ndim(x) == 0:
        return float(x)
    return np.asarray(x)
