"""Where things go: boxes in columns left to right, wires routed between the columns, and a free
cell for every label, on a grid of character cells (the TUI draws the cells, the SVG scales them).

grandalf's Sugiyama layout gives each box its column (its rank), its place in the column
(crossing reduction, then coordinates), and a row in every column that a wire skips (a dummy
vertex). The rest is here, and keeps every label clear of everything else:

- wires enter a box `spacing` rows apart (3 in the TUI, 4 in the SVG), the first at row top + 1,
  each with its value on the row above and its gradient on the row below, just left of the box
  (a box is as high as that needs). Those rows are the
  box's own rows, and no two things in a column share a row, so no label meets another label,
  a box or a wire (a wire runs across a column's rows only at a wire's entry or a dummy's row);
- between two columns: an exit zone (a wire that leaves the picture, with its labels), then the
  tracks (one vertical run per wire that changes rows), then the next column's label zone;
- rows in a column are pushed apart where grandalf's coordinates (medians of four alignments)
  would let two things touch.

grandalf recurses (its block placement, about one level a vertex), so the layout runs with a
recursion limit sized to what it lays out; callers lay out at most scene.MAX_BOXES boxes, and
the number of dummy vertices is capped (LONG_WIRE_CELLS): past it, the longest wires get no
dummy vertices and run along the bottom of the picture instead, one row for each source.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

from grandalf.graphs import Edge, Vertex, graph_core
from grandalf.layouts import SugiyamaLayout

from ..render import short_value
from ..report import finite
from .scene import Box, Scene

LONG_WIRE_CELLS = 600       # dummy vertices grandalf lays out, at most
ORDERING_ROUNDS = 2         # grandalf's crossing-reduction sweeps


@dataclass
class Shape:
    box: Box
    x: int
    y: int
    w: int
    h: int
    lines: list               # [(text, role)] inside the border


@dataclass
class Path:
    points: list              # [(x, y)]: corners of an orthogonal line; an arrow at the last one
    net: int                  # the source box: its wires share their first cells (a fan-out)
    pending: bool             # the value has not been computed yet: drawn dashed


@dataclass
class Label:
    x: int
    y: int
    text: str
    role: str                 # "value", "grad" or "note"


@dataclass
class Drawing:
    width: int
    height: int
    shapes: list[Shape]
    paths: list[Path]
    labels: list[Label]

    def shape(self, key: int) -> Shape | None:
        return next((s for s in self.shapes if s.box.key == key), None)


@dataclass(frozen=True)
class Placement:
    column: dict              # box key -> column
    top: dict                 # box key -> first row
    dummies: dict             # (source, target) -> {column: row} for a wire that skips columns
    bus: dict                 # (source, target) -> a row below everything, for the longest wires
    columns: int


class _View:
    """What grandalf reads of a vertex: w is its extent along a layer (our rows)."""

    def __init__(self, rows: int) -> None:
        self.w, self.h, self.xy = rows, 1, None


# ---- grandalf: columns, order, rows -------------------------------------------------------------

@lru_cache(maxsize=16)
def place(keys: tuple, edges: tuple, heights: tuple) -> Placement:
    """Columns and rows for boxes `keys` of `heights` rows, joined by `edges` (source, target):
    each connected part laid out by grandalf, the parts stacked top to bottom."""
    parent = {k: k for k in keys}

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in edges:
        parent[root(a)] = root(b)
    parts: dict = {}
    for k in keys:
        parts.setdefault(root(k), []).append(k)
    height = dict(zip(keys, heights))
    column, top, dummies, long_wires, offset = {}, {}, {}, [], 0
    for members in parts.values():
        inside = set(members)
        part_edges = [e for e in edges if e[0] in inside]
        rows = _sugiyama(members, part_edges, height, column, dummies, long_wires)
        for k, row in rows.items():
            top[k] = row + offset
        for e in part_edges:
            for c in dummies.get(e, {}):
                dummies[e][c] += offset
        offset = max([top[k] + height[k] for k in members]
                     + [row + 1 for e in part_edges for row in dummies.get(e, {}).values()]) + 1
    bus, source_row = {}, {}
    for e in long_wires:                  # one row a source: its long wires share it, as one net
        if e[0] not in source_row:
            source_row[e[0]] = offset
            offset += 2
        bus[e] = source_row[e[0]]
    return Placement(column, top, dummies, bus, 1 + max(column.values(), default=0))


def _sugiyama(members: list, edges: list, height: dict, column: dict, dummies: dict,
              long_wires: list) -> dict:
    """Lay out one connected part with grandalf; fill `column`, `dummies` and `long_wires`
    (the wires left out of the layout), and return the top row of each box."""
    vertices = {k: Vertex(k) for k in members}
    for k, v in vertices.items():
        v.view = _View(height[k])
    by_edge = {e: Edge(vertices[e[0]], vertices[e[1]]) for e in edges}
    core = graph_core(list(vertices.values()), list(by_edge.values()))
    sug = SugiyamaLayout(core)
    sug.xspace = 1
    # SugiyamaLayout.init_all, with two changes: no search for feedback edges (the graph is
    # acyclic, and grandalf's Tarjan search recurses once a vertex), and the longest wires
    # dropped after ranking once their dummy vertices would pass LONG_WIRE_CELLS.
    sug.alt_e = []
    sug.rank_all([v for v in core.sV if not v.e_in()], optimize=True)
    span = {e: sug.grx[g.v[1]].rank - sug.grx[g.v[0]].rank - 1 for e, g in by_edge.items()}
    cells = 0
    for e in sorted(by_edge, key=span.get):
        cells += span[e]
        if cells > LONG_WIRE_CELLS:
            long_wires.append(e)
            by_edge[e].detach()
            core.sE.remove(by_edge.pop(e))
    for g in core.E():
        sug.setdummies(g)
    for layer in sug.layers:
        layer.setup(sug)
        for v in layer:
            if sug.grx[v].dummy:
                v.view.w = 1
    sug.initdone = True
    count = sum(len(layer) for layer in sug.layers)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 2 * count + 1000))
    try:
        sug.draw(ORDERING_ROUNDS)
    finally:
        sys.setrecursionlimit(limit)
    row_of: dict = {}
    for layer in sug.layers:
        end = None
        for v in sorted(layer, key=lambda v: (v.view.xy[0], sug.grx[v].pos)):
            start = round(v.view.xy[0] - v.view.w / 2)
            if end is not None:
                start = max(start, end + 2)        # one free row between two things
            row_of[v] = start
            end = start + v.view.w - 1
    shift = -min(row_of.values())
    for k, v in vertices.items():
        column[k] = sug.grx[v].rank
    for e, g in by_edge.items():
        ctrl = sug.ctrls.get(g)
        if ctrl:
            dummies[e] = {c: row_of[ctrl[c]] + shift for c in range(column[e[0]] + 1, column[e[1]])}
    return {k: row_of[v] + shift for k, v in vertices.items()}


# ---- the grid: columns, tracks, labels -----------------------------------------------------------

def label(x, width: int | None = None) -> str:
    """A value or gradient on a wire: nothing before it is computed; numbers in bpdebug's
    format, small tensors inline, others as their norm (fitted to `width` if given)."""
    return "" if x is None else short_value(x, width)


def box_height(lines: int, wires_in: int, spacing: int) -> int:
    return max(lines + 2, spacing * (wires_in - 1) + 3)


def arrange(scene: Scene, lines_of, text_of=label, spacing: int = 3) -> Drawing:
    """The drawing of `scene`: `lines_of(box)` gives a box's lines [(text, role)] (always as
    many for a box, whatever the step), `text_of(value)` a value's or gradient's label;
    `spacing` rows from one wire into a box to the next (at least 3: value, wire, gradient)."""
    into = {b.key: [] for b in scene.boxes}
    stubs = []
    for w in scene.wires:
        if w.target is None:
            stubs.append(w)
        else:
            into[w.target].append(w)
    lines = {b.key: lines_of(b) for b in scene.boxes}
    keys = tuple(b.key for b in scene.boxes)
    heights = tuple(box_height(len(lines[k]), len(into[k]), spacing) for k in keys)
    edges = tuple(sorted({(w.source, w.target) for w in scene.wires if w.target is not None}))
    p = place(keys, edges, heights)
    height = dict(zip(keys, heights))
    width = {k: max(len(t) for t, _ in lines[k]) + 4 for k in keys}
    exit_row = {k: p.top[k] + 1 for k in keys}

    # Where each wire arrives from in the column before its target, then its port.
    def arrival(w) -> int:
        e = (w.source, w.target)
        if e in p.bus:
            return p.bus[e]
        before = p.column[w.target] - 1
        return p.dummies.get(e, {}).get(before, exit_row[w.source])

    port = {}
    for k, wires in into.items():
        for n, w in enumerate(sorted(wires, key=arrival)):
            port[id(w)] = p.top[k] + 1 + spacing * n

    labels_in = [[] for _ in range(p.columns + 1)]    # label texts entering each column
    for w in scene.wires:
        if w.target is not None:
            labels_in[p.column[w.target]].append((text_of(w.value), text_of(w.grad)))
    stub_text = {id(w): (text_of(w.value), text_of(w.grad) if w.grad is not None else w.note) for w in stubs}
    exits = [0] * (p.columns + 1)                      # widest stub label leaving each column
    for w in stubs:
        c = p.column[w.source]
        exits[c] = max(exits[c], *(len(t) for t in stub_text[id(w)]))

    # Segments through each gap (gap c is just left of column c): net (source, row) -> rows.
    segments = [dict() for _ in range(p.columns + 1)]
    routes = []
    for w in scene.wires:
        if w.target is None:
            continue
        e = (w.source, w.target)
        c0, c1 = p.column[w.source], p.column[w.target]
        stops = [(c0, exit_row[w.source])]
        if e in p.bus:
            stops += [(c, p.bus[e]) for c in range(c0 + 1, c1)]
        else:
            stops += [(c, p.dummies[e][c]) for c in range(c0 + 1, c1)]
        stops.append((c1, port[id(w)]))
        routes.append((w, stops))
        for (ca, ra), (cb, rb) in zip(stops, stops[1:]):
            segments[cb].setdefault((w.source, ra), set()).add(rb)
    tracks = [_tracks(gap) for gap in segments]

    col_w = [1] * p.columns
    for k in keys:
        col_w[p.column[k]] = max(col_w[p.column[k]], width[k])
    col_x, gap_x, x = [0] * p.columns, [0] * (p.columns + 1), 0
    zone = [max([len(t) for pair in labels_in[c] for t in pair] + [0]) + 2 if labels_in[c] else 1
            for c in range(p.columns + 1)]
    for c in range(p.columns):
        if c:
            gap_x[c] = x
            x += _exit_width(exits[c - 1]) + 2 * tracks[c][1] + zone[c]
        col_x[c] = x
        x += col_w[c]
    gap_x[p.columns] = x
    total_w = x + _exit_width(exits[p.columns - 1])

    shapes = [Shape(b, col_x[p.column[b.key]], p.top[b.key], width[b.key], height[b.key], lines[b.key])
              for b in scene.boxes]
    paths, labels = [], []
    for w, stops in routes:
        (c0, r0), points = stops[0], []
        points.append((col_x[c0] + width[w.source], r0))
        for (ca, ra), (cb, rb) in zip(stops, stops[1:]):
            track = tracks[cb][0].get((w.source, ra))
            if track is not None:
                tx = gap_x[cb] + _exit_width(exits[cb - 1]) + 2 * track
                points += [(tx, ra), (tx, rb)]
        target_x = col_x[stops[-1][0]]
        row = stops[-1][1]
        points.append((target_x - 1, row))
        paths.append(Path(points, w.source, w.value is None))
        value, grad = text_of(w.value), text_of(w.grad)
        if value:
            labels.append(Label(target_x - 1 - len(value), row - 1, value, _role(w.value, "value")))
        if grad:
            labels.append(Label(target_x - 1 - len(grad), row + 1, grad, _role(w.grad, "grad")))
    for w in stubs:
        c = p.column[w.source]
        start = col_x[c] + width[w.source]
        end = gap_x[c + 1] + exits[c] + 1
        row = exit_row[w.source]
        paths.append(Path([(start, row), (end, row)], w.source, w.value is None))
        value, below = stub_text[id(w)]
        if value:
            labels.append(Label(end - len(value), row - 1, value, _role(w.value, "value")))
        if below:
            role = _role(w.grad, "grad") if w.grad is not None else "note"
            labels.append(Label(end - len(below), row + 1, below, role))
    bottom = max([s.y + s.h for s in shapes] + [r + 1 for r in p.bus.values()]
                 + [r + 1 for rows in p.dummies.values() for r in rows.values()])
    return Drawing(total_w, bottom, shapes, paths, labels)


def _role(x, role: str) -> str:
    """nan and inf are flagged wherever they are shown."""
    return role if finite(x) else "bad"


def _exit_width(label: int) -> int:
    """The exit zone after a column: its stubs' labels, an arrow and a free cell; or one cell."""
    return label + 3 if label else 1


def _tracks(gap: dict) -> tuple:
    """({net: track}, tracks used) for the nets through one gap: each net that changes rows
    gets a vertical run, nets sharing a run when their rows are apart. A net that starts on a row
    where another ends goes left of it, so their horizontal runs do not meet."""
    spans = {}
    for net, ends in gap.items():
        rows = ends | {net[1]}
        if len(rows) > 1:
            spans[net] = (min(rows), max(rows))
    ends_at = {}
    for net in spans:
        for r in gap[net]:
            ends_at[r] = net
    left_of = {net: [] for net in spans}       # net -> nets that must be to its right
    waiting = dict.fromkeys(spans, 0)
    for net in spans:
        other = ends_at.get(net[1])
        if other is not None and other != net:
            left_of[net].append(other)
            waiting[other] += 1
    order = sorted((n for n in spans if not waiting[n]), key=lambda n: spans[n])
    placed, track_of, runs = set(), {}, []       # runs: per track, the (lo, hi) it holds
    while len(placed) < len(spans):
        if not order:                            # a cycle (two wires swapping rows): break it
            order = [min((n for n in spans if n not in placed), key=lambda n: spans[n])]
        net = order.pop(0)
        if net in placed:
            continue
        placed.add(net)
        lo, hi = spans[net]
        first = max([track_of[n] + 1 for n in spans if net in left_of[n] and n in track_of] + [0])
        t = first
        while t < len(runs) and any(not (hi + 1 < a or b + 1 < lo) for a, b in runs[t]):
            t += 1
        if t == len(runs):
            runs.append([])
        runs[t].append((lo, hi))
        track_of[net] = t
        for other in left_of[net]:
            waiting[other] -= 1
            if waiting[other] == 0:
                order.append(other)
    return track_of, len(runs)


def box_lines(scene: Scene, box: Box, text_of, title_width: int | None = None) -> list:
    """A box's lines [(text, role)]: its title (a collapsed group's marked ▸), and for a node
    with a gradient, the gradient: `df/dq = -4`, `df/dq so far 3` while contributions arrive,
    `df/dq = ·` before any has. Always as many lines for a box, whatever the step."""
    title = ("▸ " if box.collapsed else "") + box.title
    if title_width is not None and len(title) > title_width:
        title = title[: title_width - 1] + "…"
    out = [(title, "title")]
    if box.needs_grad:
        d = scene.d(box.name)
        if box.grad is None:
            out.append((f"{d} = ·", "pending"))
        elif box.grad_final:
            out.append((f"{d} = {text_of(box.grad)}", _role(box.grad, "grad")))
        else:
            out.append((f"{d} so far {text_of(box.grad)}", _role(box.grad, "partial")))
    return out

