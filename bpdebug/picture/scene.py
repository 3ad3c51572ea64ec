"""What the picture of the whole program shows at the session's position.

A box is a node, or a `def` call (an InlineCall's range of nodes) or a `layer` (its nodes
NAME.W, NAME.b, NAME.xW, NAME.z and NAME.a) collapsed to one box. Scalar constants are not
boxes: they read as numbers in their consumer's formula (`y = y.8 + 1`). A wire goes from the
box of a node to the box of each node that reads it (one wire per input slot, so `x*x` has two),
carrying the node's value forward and, once the reader's backward step is taken, what the
reader sent back. Values and gradients are read from the Session, never computed here.

Up to MAX_BOXES boxes, the picture is the whole program; past that, the boxes within DEPTH
wires of one node (at most MAX_BOXES of them), with a count of the nodes left out. Nothing
here recurses, and a step only reads the boxes drawn: the per-graph work (finding the groups,
which box each node is in) is done once per graph and once per change of what is expanded.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from ..kernel import zero_gradient

MAX_BOXES = 80
DEPTH = 3


@dataclass(frozen=True)
class Group:
    kind: str                 # "def" (a call of a def without grad lines) or "layer"
    start: int                # its nodes are start..end, contiguous (the builder makes them so)
    end: int                  # the call's return node, the layer's output
    title: str                # "y.8 = quad(x, w)", "hidden = dense(x, 3, act=sigmoid)"
    parent: int | None = None  # the group it is inside (a call inside a def's body)


@dataclass
class Box:
    key: int                  # the node's index, or len(graph) + the group's index
    node: int                 # the node whose value the box puts out
    name: str                 # that node's name
    title: str                # `q = x+y`; a leaf's name; a group's title
    kind: str                 # the node's kind (leaf, param, data, const, op), or def / layer
    members: range            # the nodes it stands for
    needs_grad: bool
    grad: object = None       # the node's gradient; None: nothing has arrived yet
    grad_final: bool = False  # False: contributions are still arriving (a partial sum)
    current: bool = False     # it holds the node of the step just taken

    @property
    def collapsed(self) -> bool:
        return self.kind in ("def", "layer")


@dataclass
class Wire:
    source: int               # box keys; target None: a wire leaving the picture
    target: int | None
    node: int                 # the node whose value the wire carries
    value: object = None      # None: not computed yet
    grad: object = None       # what the target sent back along it; None: nothing (yet)
    note: str = ""            # a wire leaving the picture: "output", "unused", "2 hidden"


@dataclass
class Scene:
    boxes: list[Box]          # in topological order
    wires: list[Wire]
    output: str               # the output's name: gradients read d<output>/d<node>
    step: int                 # steps taken, of `total`
    total: int
    phase: str                # "start", "forward", "backward", "done"
    nodes: int                # nodes in the program
    hidden: int = 0           # nodes left out of the picture
    centre: str | None = None  # drawn around this node; None: the whole program
    current: int | None = None  # the key of the current node's box, if drawn
    by_key: dict = field(default_factory=dict)

    def __post_init__(self):
        self.by_key = {b.key: b for b in self.boxes}

    def d(self, name: str) -> str:
        """How a gradient is named: df/dq for output f."""
        return f"d{self.output}/d{name}"

    def where(self) -> str:
        """The position in words: `step 7 of 10 (backward pass)`."""
        words = {"start": "before the forward pass", "forward": "forward pass",
                 "backward": "backward pass", "done": "end of the backward pass"}
        return f"step {self.step} of {self.total} ({words[self.phase]})"

    def extent(self) -> str:
        """What is drawn: `5 nodes`, or `34 of 10,000 nodes around f.17; 9,966 hidden`."""
        if self.centre is None:
            return f"{self.nodes:,} node{'s' if self.nodes != 1 else ''}"
        return (f"{self.nodes - self.hidden:,} of {self.nodes:,} nodes within {DEPTH} wires of "
                f"{self.centre}; {self.hidden:,} hidden")


def find_groups(graph) -> list[Group]:
    """The layers and the `def` calls of the graph, each with the group it is inside."""
    nodes, groups = graph.nodes, []
    for node in nodes:
        i, name = node.index, node.name[:-2]
        if node.kind != "param" or not node.name.endswith(".W") or i + 3 >= len(nodes):
            continue
        if [nodes[i + k].name for k in (1, 2, 3)] != [f"{name}.b", f"{name}.xW", f"{name}.z"]:
            continue
        end, act = i + 3, "identity"
        if end + 1 < len(nodes) and nodes[end + 1].name == f"{name}.a":
            end += 1
            act = nodes[end].op.name
        source = nodes[nodes[i + 2].inputs[0]].name
        groups.append(Group("layer", i, end, f"{name} = dense({source}, {node.shape[1]}, act={act})"))
    open_: list[int] = []                  # the calls around the next one, innermost last
    for call in sorted(graph.calls, key=lambda c: (c.start, -c.end)):
        while open_ and groups[open_[-1]].end < call.start:
            open_.pop()
        parent = open_[-1] if open_ else None
        groups.append(Group("def", call.start, call.end, graph.formula(nodes[call.end]), parent))
        open_.append(len(groups) - 1)
    return groups


class Picture:
    """The picture's state for one graph: its groups, and which of them are expanded."""

    def __init__(self, graph) -> None:
        self.graph = graph
        self.groups = find_groups(graph)
        self.expanded: set[int] = set()
        n = len(graph.nodes)
        self._folded = [i for i, node in enumerate(graph.nodes) if node.kind == "const" and node.shape == ()]
        self._folded_set = set(self._folded)
        self._cache: tuple | None = None    # (expanded, box key of each node, box count)
        self.n = n

    # ---- which box each node is in ---------------------------------------------------------------
    def keys(self) -> list[int]:
        """The box key of every node, for the current `expanded` (computed once per change)."""
        expanded = frozenset(self.expanded)
        if self._cache is not None and self._cache[0] == expanded:
            return self._cache[1]
        n, keys = self.n, list(range(self.n))
        boxes = n - len(self._folded)
        for g, group in enumerate(self.groups):
            if g in expanded or self._collapsed_parent(g, expanded):
                continue
            size = group.end - group.start + 1
            keys[group.start: group.end + 1] = [n + g] * size
            folded = bisect_right(self._folded, group.end) - bisect_left(self._folded, group.start)
            boxes -= size - folded - 1
        self._cache = (expanded, keys, boxes)
        return keys

    def _collapsed_parent(self, g: int, expanded) -> bool:
        parent = self.groups[g].parent
        while parent is not None:
            if parent not in expanded:
                return True
            parent = self.groups[parent].parent
        return False

    def box_of(self, i: int) -> int:
        """The key of the box node i is drawn in; a scalar constant is drawn in its reader's."""
        if i in self._folded_set:
            i = next(iter(self.graph.consumers[i]), self.graph.output)
        return self.keys()[i]

    def box_count(self) -> int:
        self.keys()
        return self._cache[2]

    def members(self, key: int) -> range:
        if key < self.n:
            return range(key, key + 1)
        group = self.groups[key - self.n]
        return range(group.start, group.end + 1)

    def group_of(self, key: int) -> Group | None:
        return self.groups[key - self.n] if key >= self.n else None

    def toggle(self, key: int) -> bool:
        """Expand a collapsed box, or collapse the innermost expanded group around a node box;
        False if there is nothing to do."""
        if key >= self.n:
            self.expanded.add(key - self.n)
            return True
        around = [g for g in self.expanded if self.groups[g].start <= key <= self.groups[g].end]
        if not around:
            return False
        self.expanded.discard(max(around, key=lambda g: self.groups[g].start - self.groups[g].end))
        return True

    def toggle_all(self, expand: bool) -> None:
        self.expanded = set(range(len(self.groups))) if expand else set()

    # ---- which boxes are drawn --------------------------------------------------------------------
    def drawn(self, centre: int | None) -> list[int] | None:
        """The keys of the boxes drawn, in topological order: all of them if they fit, else the
        ones around node `centre` (None then means: too many, and no centre given)."""
        keys = self.keys()
        if self.box_count() <= MAX_BOXES:
            out, i = [], 0
            while i < self.n:
                k = keys[i]
                if k >= self.n:
                    out.append(k)
                    i = self.groups[k - self.n].end + 1
                    continue
                if i not in self._folded_set:
                    out.append(i)
                i += 1
            return out
        if centre is None:
            return None
        return sorted(self._around(self.box_of(centre)), key=lambda k: self.members(k).start)

    def _around(self, start: int) -> set[int]:
        """Boxes within DEPTH wires of box `start`, nearest first, at most MAX_BOXES."""
        seen, frontier = {start}, [start]
        for _ in range(DEPTH):
            reached = []
            for key in frontier:
                for other in self._neighbours(key):
                    if other in seen:
                        continue
                    if len(seen) >= MAX_BOXES:
                        return seen
                    seen.add(other)
                    reached.append(other)
            frontier = reached
        return seen

    def _neighbours(self, key: int):
        keys, graph = self.keys(), self.graph
        for m in self.members(key):
            for j in graph.nodes[m].inputs:
                if keys[j] != key and j not in self._folded_set:
                    yield keys[j]
            for c in graph.consumers[m]:
                if keys[c] != key:
                    yield keys[c]

    # ---- the scene ---------------------------------------------------------------------------------
    def scene(self, session, centre: int | None = None, current: int | None = None,
              highlight: bool = True) -> Scene:
        """What to draw at the session's position. `centre`: the node to draw around when the
        whole program does not fit (default: `current`, else the output); `current`: the node
        to highlight (default: the session's current node; none if not `highlight`)."""
        graph = session.graph
        current = session.current if current is None else current
        if centre is None:
            centre = current if current is not None else graph.output
        drawn = self.drawn(centre)
        whole = self.box_count() <= MAX_BOXES
        keys = self.keys()
        in_picture = set(drawn)
        boxes = [self._box(session, k) for k in drawn]
        wires: list[Wire] = []
        shown_consts: set[int] = set()
        sent_cache: dict = {}
        for box in boxes:
            wires.extend(self._wires_into(session, box, keys, in_picture, shown_consts, sent_cache))
        drawn_out = {w.source for w in wires}
        for box in boxes:
            wires.extend(self._wires_out(session, box, keys, in_picture, box.key in drawn_out))
        cur_key = self.box_of(current) if current is not None and highlight else None
        for box in boxes:
            box.current = box.key == cur_key
        shown = sum(len(b.members) for b in boxes) + len(shown_consts)
        t, n = session.t, session.n
        phase = "start" if t == 0 else "forward" if t < n else "backward" if t < session.total else "done"
        centre_name = graph.nodes[self.members(self.box_of(centre))[-1]].name
        return Scene(boxes, wires, graph.nodes[graph.output].name, t, session.total, phase, n,
                     0 if whole else n - shown, None if whole else centre_name,
                     cur_key if cur_key in in_picture else None)

    def _box(self, session, key: int) -> Box:
        graph = self.graph
        group = self.group_of(key)
        node = graph.nodes[group.end if group else key]
        if group is not None:
            title, kind = group.title, group.kind
        elif node.kind == "op":
            title, kind = graph.formula(node), "op"
        else:
            title, kind = (node.name if node.kind == "leaf" else f"{node.kind} {node.name}"), node.kind
        box = Box(key, node.index, node.name, title, kind, self.members(key), node.needs_grad)
        if node.needs_grad:
            box.grad, box.grad_final = node_gradient(session, node.index)
        return box

    def _wires_into(self, session, box: Box, keys, in_picture, shown_consts, sent_cache) -> list[Wire]:
        """One wire per input slot of a node box; one per outside node read by a group box,
        with what all its readers inside sent back (once each of them has sent it)."""
        graph, values = self.graph, session.values
        found: dict = {}                      # (source box, node) -> [(reader, slot)]
        for m in box.members:
            for k, j in enumerate(graph.nodes[m].inputs):
                if j in self._folded_set:
                    shown_consts.add(j)
                    continue
                source = keys[j]
                if source == box.key or source not in in_picture:
                    continue
                if box.collapsed:
                    found.setdefault((source, j), []).append((m, k))
                else:
                    found[(source, j, k)] = [(m, k)]
        wires = []
        for where, readers in found.items():
            j = where[1]
            wire = Wire(where[0], box.key, j, values[j])
            if graph.nodes[j].needs_grad and all(_grad_final(session, m) for m, _ in readers):
                parts = [_sent(session, m, k, sent_cache) for m, k in readers]
                wire.grad = sum(parts[1:], parts[0])
            wires.append(wire)
        return wires

    def _wires_out(self, session, box: Box, keys, in_picture, has_wires: bool) -> list[Wire]:
        """A wire leaving the picture: the output's (with its seed gradient once the backward
        pass has begun), an unused node's, or a box whose readers are all hidden."""
        graph = self.graph
        out = graph.output
        node = box.node
        if out in box.members:
            grad = session.grads[out] if session.t >= session.n else None
            return [Wire(box.key, None, out, session.values[out], grad, "output")]
        if has_wires:
            return []
        readers = {keys[c] for m in box.members for c in graph.consumers[m]} - {box.key}
        hidden = len(readers - in_picture)
        if not readers and not box.collapsed:
            return [Wire(box.key, None, node, session.values[node], None, "unused")]
        if hidden:
            return [Wire(box.key, None, node, session.values[node], None, f"{hidden} hidden")]
        return []


def _grad_final(session, i: int) -> bool:
    """Whether node i's backward step has been taken (what it sent is known, its gradient final)."""
    return session.t > session.n and i >= session.total - session.t


def node_gradient(session, i: int) -> tuple:
    """(gradient, final?) of node i: the output's seed once the backward pass has begun; a
    node's gradient once its backward step is taken (zero if the output does not depend on
    it); the sum so far while contributions arrive (final False); (None, False) before any."""
    graph = session.graph
    if i == graph.output:
        return (session.grads[i], True) if session.t >= session.n else (None, False)
    grad = session.grads[i]
    if _grad_final(session, i):
        return (grad if grad is not None else zero_gradient(graph.nodes[i].shape)), True
    return grad, False


def _sent(session, m: int, k: int, cache: dict):
    """What node m's backward step sent to its input slot k (zero if it sent nothing)."""
    if m not in cache:
        cache[m] = session.contributions(m)
    sent = cache[m][k]
    if sent is None:
        return zero_gradient(session.graph.nodes[session.graph.nodes[m].inputs[k]].shape)
    return sent
