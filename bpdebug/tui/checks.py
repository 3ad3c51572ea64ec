"""The gradient checker's findings, for the node list's flags, the banner and the inspector:
which computed nodes fail their gradient check (a wrong backward rule) and where nan or inf
was born.

Both are found incrementally, at the stops, never while `continue` runs: a forward node is
checked once, when its value is first computed (a few evaluations of that one node, cached by
`bpdebug.check.node_check`), and the search for the origin of nan/inf goes on from the step it
had reached. So a stop costs what the steps since the last stop cost, whatever the graph's
size. A restart, `set` or a new training step (a new list of values) starts both afresh;
stepping back forgets what was found beyond the new position.

Checking every node costs a few evaluations of each: it is on from the start for graphs up to
AUTO_NODES nodes and AUTO_ELEMENTS numbers in all, and otherwise from the first `break
mismatch` or `check` command. The origin is searched for whenever checking is on, and otherwise
as soon as something non-finite shows.
"""
from __future__ import annotations

import math

from ..check import node_check
from ..check.origin import Origin, at_step

AUTO_NODES = 2000
AUTO_ELEMENTS = 200_000


def cheap_to_check(graph) -> bool:
    """Whether checking every node as it is computed costs little enough to do unasked."""
    if len(graph.nodes) > AUTO_NODES:
        return False
    return sum(math.prod(node.shape) for node in graph.nodes) <= AUTO_ELEMENTS


class NodeChecks:
    def __init__(self, session, on: bool) -> None:
        self.session = session
        self.on = on
        self._start_afresh()

    def _start_afresh(self) -> None:
        self.failing: dict = {}             # node -> NodeCheck with verdict "mismatch"
        self.origin: Origin | None = None
        self._origin_step = -1
        self._values = self.session.values  # a new list after restart, set, a new training step
        self._checked = 0                   # forward nodes below this are checked
        self._searched = 0                  # steps below this hold no origin (or the one found)

    def flags(self) -> dict:
        """node -> [flag names] for the node list."""
        out = {i: ["check"] for i in self.failing}
        if self.origin is not None:
            out.setdefault(self.origin.node, []).append("origin")
        return out

    def update(self, nonfinite_seen: bool = False) -> bool:
        """Catch up with the session's position; True if the flags changed."""
        s = self.session
        before = (set(self.failing), self.origin and self.origin.node)
        if s.values is not self._values:
            self._start_afresh()
        computed = min(s.t, s.n)
        if computed < self._checked:        # stepped back: those values are gone
            self.failing = {i: c for i, c in self.failing.items() if i < computed}
            self._checked = computed
        if s.t < self._searched:
            self._searched = s.t
            if self._origin_step >= s.t:
                self.origin, self._origin_step = None, -1
        if self.on:
            self._check_nodes(computed)
        if self.origin is None and (self.on or nonfinite_seen):
            self._search_origin()
        return before != (set(self.failing), self.origin and self.origin.node)

    def _check_nodes(self, computed: int) -> None:
        nodes = self.session.graph.nodes
        for i in range(self._checked, computed):
            if nodes[i].kind == "op":
                c = node_check(self.session, i)
                if c.verdict == "mismatch":
                    self.failing[i] = c
        self._checked = computed

    def _search_origin(self) -> None:
        s = self.session
        for step in range(self._searched, s.t):
            found = at_step(s, step)
            if found is not None:
                self.origin, self._origin_step = found, step
                self._searched = step + 1
                return
        self._searched = s.t
