"""The node in view with its inputs and consumers, drawn as a small circuit in box-drawing
characters: each wire is a pair of edges, the forward edge (→) labelled with the value that
flows to the right, the backward edge (←) with the gradient that flows back.

    x ──── -2 ───▶│ q = x+y     │──── 3 ───▶ f
      ◀─── -4 ────│ value 3     │◀─── -4 ───
    y ───── 5 ───▶│ dL/dq -4    │

`circuit(session, i)` reads the session (a handful of nodes, whatever the graph's size) and
`draw()` lays it out for a width and height; both are plain functions.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widget import Widget

from ...render import is_finite, short_value
from ..status import backward_done

FORWARD_STYLE, BACKWARD_STYLE, BAD_STYLE = "green", "yellow", "bold white on red"
PENDING = None


@dataclass
class Wire:
    name: str
    value: object = PENDING      # what flows forward on this wire (None: not computed yet)
    grad: object = PENDING       # what flows back (None: not arrived yet)


@dataclass
class Circuit:
    title: str                   # the op, on the box's top border
    lines: list                  # the box's contents: [(text, style)]
    compact: list                # the same for a narrow box: name, value, gradient
    inputs: list                 # [Wire]
    consumers: list              # [Wire]
    more_inputs: int = 0
    more_consumers: int = 0


def sent_to(session, c: int, i: int):
    """What the backward step of consumer c sends to its input i (summed where i is more than
    one of its inputs, as in x*x); PENDING if nothing (i has no gradient)."""
    if not session.graph.nodes[i].needs_grad:
        return PENDING
    sent = session.contributions(c)
    parts = [x for j, x in zip(session.graph.nodes[c].inputs, sent) if j == i and x is not None]
    return sum(parts[1:], parts[0]) if parts else PENDING


def circuit(session, i: int, limit: int = 6) -> Circuit:
    """What to draw around node i: at most `limit` wires a side (the rest are counted)."""
    graph = session.graph
    node = graph.nodes[i]
    value, grad = session.values[i], session.grads[i]
    sent = session.contributions(i) if backward_done(session, i) else ()
    inputs = []
    for k, j in enumerate(node.inputs[:limit]):
        wire = Wire(graph.nodes[j].name, session.values[j])
        if sent and graph.nodes[j].needs_grad:
            wire.grad = sent[k]
        inputs.append(wire)
    consumers = []
    for c in graph.consumers[i][:limit]:
        wire = Wire(graph.nodes[c].name, value)
        if backward_done(session, c):
            wire.grad = sent_to(session, c, i)
        consumers.append(wire)
    if i == graph.output:
        consumers.append(Wire("(output)", value, grad))   # the seed gradient dL/dL = 1
    value_style = FORWARD_STYLE if is_finite(value) else BAD_STYLE
    lines = [(graph.formula(node), "bold")]
    if node.shape != ():
        lines.append((f"shape {node.shape}", "dim"))
    lines.append((f"value {short_value(value, 16)}", value_style))
    compact = [(node.name, "bold"), (short_value(value, 10), value_style)]
    if node.needs_grad:
        final = backward_done(session, i) or i == graph.output
        grad_style = BAD_STYLE if not is_finite(grad) else BACKWARD_STYLE if final else "dim"
        lines.append((f"dL/d{node.name} {short_value(grad, 16)}", grad_style))
        compact.append((f"∂ {short_value(grad, 7)}", grad_style))
    return Circuit(graph.op_label(node), lines, compact, inputs, consumers,
                   max(0, len(node.inputs) - limit), max(0, len(graph.consumers[i]) - limit))


def _label_style(x, style: str) -> str:
    return BAD_STYLE if not is_finite(x) else style


def _tag(x, room: int) -> str:
    """` 3 ` for an edge, in at most `room` cells; nothing rather than a cut number."""
    text = short_value(x, room - 2)
    return f" {text} " if text != "…" else ""


def _edge(width: int, label: object, forward: bool, style: str) -> Text:
    """One edge `width` cells wide: ──── 3 ───▶ forward, ◀─── -4 ──── backward; a pending edge
    (no label yet) is dashed and dim."""
    text = Text(no_wrap=True, overflow="crop")
    if width <= 0:
        return text
    pending = label is PENDING
    line = "┄" if pending else "─"
    body = width - 1
    tag = "" if pending else _tag(label, body - 2)
    left = (body - len(tag)) // 2 if forward else max(1, (body - len(tag)) // 2)
    right = body - len(tag) - left
    edge_style = "dim" if pending else style
    if not forward:
        text.append("◀", edge_style)
    text.append(line * left, edge_style)
    text.append(tag, _label_style(label, style) + " bold" if tag else edge_style)
    text.append(line * right, edge_style)
    if forward:
        text.append("▶", edge_style)
    return text


def _side(wires: list, more: int, rows: int, spacing: int) -> list:
    """Which wire (and edge) each box row carries: [(wire, forward?) | ("more", n) | None]."""
    slots: list = [None] * rows
    fit = (rows + spacing - 2) // spacing           # wires of two rows, spacing-2 rows apart
    if len(wires) > fit or more:
        fit = (rows - 1 + spacing - 2) // spacing   # keep the last row for "+N more"
    more += max(0, len(wires) - fit)
    for k, wire in enumerate(wires[:fit]):
        slots[k * spacing], slots[k * spacing + 1] = (wire, True), (wire, False)
    if more:
        slots[rows - 1] = ("more", more)
    return slots


def draw(c: Circuit, width: int, height: int) -> list[Text]:
    """Lay the circuit out in at most `width` x `height` cells."""
    if width < 70:                    # narrow: the short box leaves room for the wires
        c = replace(c, lines=c.compact)
    edges = max(len(c.inputs), len(c.consumers), 1)
    extra = 1 if (c.more_inputs or c.more_consumers) else 0
    avail = max(1, height - 2)
    spacing = 3 if 3 * edges - 1 + extra <= avail else 2
    needed = spacing * edges - (spacing - 2) + extra
    rows = max(1, min(avail, max(len(c.lines), needed)))

    box_text = max([len(t) for t, _ in c.lines] + [len(c.title) + 4])
    left_name = min(12, max([len(w.name) for w in c.inputs] + [0]))
    right_name = min(14, max([len(w.name) for w in c.consumers] + [0]))
    box_w = min(box_text + 4, max(12, int(width * 0.4)))
    wires = width - box_w - (left_name + 1 if c.inputs else 0) - (right_name + 1 if c.consumers else 0)
    if c.inputs and c.consumers:
        left_w = right_w = max(4, wires // 2)
    else:
        left_w = right_w = max(4, min(wires, 18))
    if not c.inputs:
        left_w = 0
    if not c.consumers:
        right_w = 0

    left = _side(c.inputs, c.more_inputs, rows, spacing)
    right = _side(c.consumers, c.more_consumers, rows, spacing)
    lead = (left_name + 1 + left_w) if c.inputs else 0
    top = Text(" " * lead, no_wrap=True, overflow="crop")
    title = f" {c.title} "[: box_w - 4]
    top.append("╭─" + title + "─" * (box_w - 3 - len(title)) + "╮", "bold")
    out = [top]
    for r in range(rows):
        line = Text(no_wrap=True, overflow="crop")
        if c.inputs:
            _side_cell(line, left[r], left_name, left_w, before=True)
        line.append("│", "bold")
        content, style = c.lines[r] if r < len(c.lines) else ("", "")
        body = box_w - 2
        content = " " + content
        line.append(content[:body].ljust(body) if len(content) <= body else content[: body - 1] + "…", style)
        line.append("│", "bold")
        if c.consumers:
            _side_cell(line, right[r], right_name, right_w, before=False)
        out.append(line)
    bottom = Text(" " * lead, no_wrap=True, overflow="crop")
    bottom.append("╰" + "─" * (box_w - 2) + "╯", "bold")
    out.append(bottom)
    return out[:height]


def _side_cell(line: Text, slot, name_w: int, wire_w: int, before: bool) -> None:
    """One row of the inputs (before the box) or consumers (after it)."""
    if slot is None:
        line.append(" " * (name_w + 1 + wire_w))
        return
    if slot[0] == "more":
        tag = f"+{slot[1]} more"
        line.append(tag.rjust(name_w + 1 + wire_w) if before else (" " * wire_w + " " + tag), "dim")
        return
    wire, forward = slot
    label = wire.value if forward else wire.grad
    edge = _edge(wire_w, label, forward, FORWARD_STYLE if forward else BACKWARD_STYLE)
    name = _short(wire.name, name_w) if forward else ""
    if before:
        line.append(name.rjust(name_w) + " ", "bold" if forward else "")
        line.append_text(edge)
    else:
        line.append_text(edge)
        line.append(" " + name, "bold" if forward else "")


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: max(1, width - 1)] + "…"


class Neighbourhood(Widget):
    """Shows `circuit()` of one node; redrawn when shown a node and when resized."""

    DEFAULT_CSS = "Neighbourhood { height: 12; }"

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._circuit: Circuit | None = None

    def show(self, i: int) -> None:
        self._circuit = circuit(self.session, i)
        self.refresh()

    def render(self) -> Text:
        if self._circuit is None:
            return Text("nothing to show yet", style="dim")
        lines = draw(self._circuit, self.size.width, self.size.height)
        return Text("\n", no_wrap=True).join(lines)
