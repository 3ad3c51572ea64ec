"""The node in view with its inputs and consumers, drawn as a small circuit in box-drawing
characters: each wire is a pair of edges, the forward edge (→) labelled with the value that
flows to the right, the backward edge (←) with the gradient that flows back.

    x ──── -2 ───▶│ q = x+y     │──── 3 ───▶ f
      ◀─── -4 ────│ value 3     │◀─── -4 ───
    y ───── 5 ───▶│ df/dq -4    │

`circuit(session, i)` reads the session (a handful of nodes, whatever the graph's size) and
`draw()` lays it out for a width and height; both are plain functions. Clicking a neighbour's
name (or its wires) selects that node.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import events
from textual.widget import Widget

from ...render import is_finite, short_value
from ..colours import style
from ..messages import NodeSelected
from ..status import backward_done

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


def circuit(session, i: int, limit: int = 6, training=None) -> Circuit:
    """What to draw around node i: at most `limit` wires a side (the rest are counted).
    `training` (a tui.training.Training): a param its update phase has updated shows its new
    value in the box, as the node list does (its wires carry what this step's passes read)."""
    graph = session.graph
    node = graph.nodes[i]
    value, grad = session.values[i], session.grads[i]
    update = training.update_of(i) if training is not None else None
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
        consumers.append(Wire("(output)", value, grad))   # the seed gradient df/df = 1
    shown = update.new if update is not None else value
    value_style = style("bad") if not is_finite(shown) else style("update") if update is not None else style("forward")
    lines = [(graph.formula(node), "bold")]
    if node.shape != ():
        lines.append((f"shape {node.shape}", "dim"))
    lines.append((f"{'new value' if update is not None else 'value'} {short_value(shown, 16)}", value_style))
    compact = [(node.name, "bold"), (("↓ " if update is not None else "") + short_value(shown, 10), value_style)]
    if node.needs_grad:
        final = backward_done(session, i) or i == graph.output
        grad_style = style("bad") if not is_finite(grad) else style("backward") if final else "dim"
        lines.append((f"{session.grad_label(node.name)} {short_value(grad, 16)}", grad_style))
        compact.append((f"∂ {short_value(grad, 7)}", grad_style))
    return Circuit(graph.op_label(node), lines, compact, inputs, consumers,
                   max(0, len(node.inputs) - limit), max(0, len(graph.consumers[i]) - limit))


def _label_style(x, colour: str) -> str:
    return style("bad") if not is_finite(x) else colour


def _tag(x, room: int) -> str:
    """` 3 ` for an edge, in at most `room` cells; nothing rather than a cut number."""
    text = short_value(x, room - 2)
    return f" {text} " if text != "…" else ""


def _edge(width: int, label: object, forward: bool, colour: str) -> Text:
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
    edge_style = "dim" if pending else colour
    if not forward:
        text.append("◀", edge_style)
    text.append(line * left, edge_style)
    text.append(tag, _label_style(label, colour) + " bold" if tag else edge_style)
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


@dataclass
class Layout:
    """Where draw() puts things: the box's rows, and for each row the wire (or "+N more")
    drawn left and right of the box."""

    circuit: Circuit
    rows: int
    box_w: int
    left_name: int
    right_name: int
    left_w: int
    right_w: int
    left: list
    right: list

    @property
    def lead(self) -> int:
        """Columns before the box."""
        return self.left_name + 1 + self.left_w if self.circuit.inputs else 0


def layout(c: Circuit, width: int, height: int) -> Layout:
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
    return Layout(c, rows, box_w, left_name, right_name, left_w, right_w,
                  _side(c.inputs, c.more_inputs, rows, spacing),
                  _side(c.consumers, c.more_consumers, rows, spacing))


def draw(c: Circuit, width: int, height: int) -> list[Text]:
    """The circuit in at most `width` x `height` cells, one Text a line."""
    at = layout(c, width, height)
    c, box_w = at.circuit, at.box_w
    top = Text(" " * at.lead, no_wrap=True, overflow="crop")
    title = f" {c.title} "[: box_w - 4]
    top.append("╭─" + title + "─" * (box_w - 3 - len(title)) + "╮", "bold")
    out = [top]
    for r in range(at.rows):
        line = Text(no_wrap=True, overflow="crop")
        if c.inputs:
            _side_cell(line, at.left[r], at.left_name, at.left_w, before=True)
        line.append("│", "bold")
        content, style = c.lines[r] if r < len(c.lines) else ("", "")
        body = box_w - 2
        content = " " + content
        line.append(content[:body].ljust(body) if len(content) <= body else content[: body - 1] + "…", style)
        line.append("│", "bold")
        if c.consumers:
            _side_cell(line, at.right[r], at.right_name, at.right_w, before=False)
        out.append(line)
    bottom = Text(" " * at.lead, no_wrap=True, overflow="crop")
    bottom.append("╰" + "─" * (box_w - 2) + "╯", "bold")
    out.append(bottom)
    return out[:height]


def wire_at(c: Circuit, width: int, height: int, x: int, y: int) -> str | None:
    """The name of the neighbour drawn at cell (x, y) (its name or either of its edges)."""
    at = layout(c, width, height)
    r = y - 1
    if not 0 <= r < at.rows:
        return None
    slot = at.left[r] if x < at.lead else at.right[r] if x >= at.lead + at.box_w else None
    if slot is None or slot[0] == "more":
        return None
    return slot[0].name if slot[0].name != "(output)" else None


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
    edge = _edge(wire_w, label, forward, style("forward") if forward else style("backward"))
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
    """Shows `circuit()` of one node; redrawn when shown a node and when resized. A click on
    a neighbour tells the app to show that node (NodeSelected)."""

    DEFAULT_CSS = "Neighbourhood { height: 12; }"

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.training = None           # a tui.training.Training when the program trains
        self._circuit: Circuit | None = None

    def show(self, i: int) -> None:
        self._circuit = circuit(self.session, i, training=self.training)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if self._circuit is None or offset is None:
            return
        name = wire_at(self._circuit, self.size.width, self.size.height, offset.x, offset.y)
        if name is not None:
            self.post_message(NodeSelected(self.session.graph.index(name)))

    def render(self) -> Text:
        if self._circuit is None:
            return Text("nothing to show yet", style="dim")
        lines = draw(self._circuit, self.size.width, self.size.height)
        return Text("\n", no_wrap=True).join(lines)
