"""What the node list shows in its mark columns: one status per node and any number of flags.

The status says how far the node has got: pending, value computed (forward done), gradient
final (backward done), or current. Flags are extra alerts drawn before it. To add a flag (the
gradient checker's "check failed") add an entry to FLAGS and pass the flagged nodes in
`extra`; to add a status add an entry to STATUSES and a rule to `node_status`. Training adds a
status for a param the update phase has stepped.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    glyph: str
    style: str           # words of tui.colours.style: "bold backward"
    meaning: str


STATUSES = {
    "pending": Mark("·", "dim", "pending: not computed yet"),
    "value": Mark("→", "forward", "forward done: value computed"),
    "grad": Mark("←", "backward", "backward done: gradient final"),
    "current": Mark("▶", "bold", "current: the step just taken (its row is highlighted)"),
    "updated": Mark("↓", "bold update", "param updated: P = P - lr * dLoss/dP (training)"),
}

FLAGS = {
    "breakpoint": Mark("●", "breakpoint", "breakpoint on this node"),
    "disabled": Mark("○", "error", "disabled breakpoint"),
    "nonfinite": Mark("!", "bad", "non-finite value or gradient (nan/inf)"),
    "check": Mark("✗", "bold check", "its backward rule fails the gradient check (see the inspector)"),
    "origin": Mark("✱", "bad", "nan or inf is born here: it read only finite numbers"),
}


def node_status(session, i: int, training=None) -> str:
    """The status name of node i at the session's position (O(1): reads t only). `training`
    (a tui.training.Training, or None): once the update phase has applied an update, the
    params it updated are "updated", the last one "current", every other node "grad"."""
    if training is not None and training.last_update is not None:
        if i == training.last_update.index:
            return "current"
        return "updated" if training.update_of(i) is not None else "grad"
    if i == session.current:
        return "current"
    if backward_done(session, i):
        return "grad"
    if i < session.t:
        return "value"
    return "pending"


def backward_done(session, i: int) -> bool:
    """Whether node i's backward step has been taken: its gradient is final."""
    return session.t > session.n and i >= session.total - session.t


def node_flags(session, i: int, breakpoints: dict, extra: dict) -> list[str]:
    """Flag names for node i: `breakpoints` maps node -> "breakpoint"/"disabled", `extra` maps
    node -> a list of further flag names (from other tools). Where nan or inf is born, "origin"
    says more than "nonfinite" and takes its place."""
    flags = []
    if i in breakpoints:
        flags.append(breakpoints[i])
    more = extra.get(i, ())
    flags.extend(more)
    if "origin" not in more and session.nonfinite(i):
        flags.append("nonfinite")
    return flags


def hint_names(graph) -> tuple[str, str]:
    """(a computed node, a leaf) of the program, to show in hints: `break backward q` only
    where the program has a q. Prefers names the user wrote (not `f.1`) and a leaf with a
    gradient."""
    nodes = graph.nodes

    def first(*tests):       # the first node passing every test: a look at a few nodes, mostly
        return next((n for n in nodes if all(t(n) for t in tests)), None)

    def own(n):
        return not _built_name(n.name)

    def op(n):
        return n.kind == "op"

    node = (first(own, op, lambda n: n.index != graph.output) or first(own, op) or first(op)
            or nodes[graph.output])
    leaf = first(own, lambda n: n.is_leaf and n.needs_grad) or first(lambda n: n.is_leaf) or node
    return node.name, leaf.name


def _built_name(name: str) -> bool:
    """A name the builder gave (`f.1`), not one the user wrote (`h.W`)."""
    return name.rpartition(".")[2].isdigit()


def position(session, training=None) -> tuple[str, int, int]:
    """(what is counted, count, of): the one step count of the banner and the log, the same as
    `script`'s and `run --break`'s; in training, the update phase counts its updates apart."""
    return training.trainer.position() if training is not None else session.position()


def count_text(position: tuple) -> str:
    """`step 7 of 34`, or in the update phase `update 2 of 4`."""
    what, k, total = position
    return f"{'update' if what == 'update' else 'step'} {k} of {total}"


def breakpoint_marks(session) -> dict:
    """node -> "breakpoint" (any enabled one on it) or "disabled", from the session's list."""
    marks: dict = {}
    for b in session.breakpoints:
        if b.node is not None and marks.get(b.node) != "breakpoint":
            marks[b.node] = "breakpoint" if b.enabled else "disabled"
    return marks
