"""Every node in topological order, one row each, drawn with Textual's line API.

Only visible rows are ever rendered, and a row is rendered from the session's state when it is
drawn, so nothing is built per node up front: a step refreshes the few rows it changed and a
10,000-node graph costs what a 10-node one does. Line 0 is a fixed header.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...render import is_finite, short_value
from ..colours import style
from ..messages import NodeSelected
from ..status import FLAGS, STATUSES, node_flags, node_status

FLAG_WIDTH = 2
MARK_WIDTH = FLAG_WIDTH + 2      # flags, status, a space
CELL_WIDTH, CELL_WIDTH_TENSORS = 14, 40    # the widest value and gradient columns
OP_WIDTHS, SHAPE_WIDTHS = (10, 22), (12, 20)  # op and shape columns: narrow screens, wide ones
CELL_WIDTH_ROOMY = 24                      # value and gradient cells at least this wide to widen them


def _fit(text: str, width: int, right: bool = False) -> str:
    """`text` cut to `width` cells (with … when cut) and padded."""
    if width <= 0:
        return ""
    if len(text) > width:
        text = text[: width - 1] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


class NodeList(ScrollView, can_focus=True):
    # current/cursor give the row its background (blended with the widget's); the others are
    # read as partial styles, foreground only, so they keep that background.
    COMPONENT_CLASSES = {"node-list--header", "node-list--current", "node-list--cursor",
                         "node-list--op", "node-list--grad", "node-list--partial"}
    DEFAULT_CSS = """
    NodeList > .node-list--header { text-style: bold; color: $foreground-muted; }
    NodeList > .node-list--current { background: $accent 40%; text-style: bold; }
    NodeList > .node-list--cursor { background: $primary 30%; }
    NodeList:focus > .node-list--cursor { background: $primary 55%; }
    NodeList > .node-list--op { color: $foreground-muted; }
    NodeList > .node-list--grad { color: $text-warning; }
    NodeList > .node-list--partial { color: $text-warning; text-style: dim; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "move_to(0)", "first", show=False),
        Binding("end", "move_to(-1)", "last", show=False),
    ]

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.cursor = 0
        self.breakpoints: dict = {}    # node -> "breakpoint" / "disabled"
        self.extra_flags: dict = {}    # node -> [flag names], for other tools
        self.training = None           # a tui.training.Training when the program trains
        graph = session.graph
        self._name_width = max([4] + [len(node.name) for node in graph.nodes])
        self._op_width = min(OP_WIDTHS[1], max((len(graph.op_label(node)) for node in graph.nodes), default=2))
        shapes = [str(node.shape) for node in graph.nodes if node.shape != ()]
        self._shape_width = min(SHAPE_WIDTHS[1], max((len(s) for s in shapes), default=0))
        self._cell_width = CELL_WIDTH_TENSORS if shapes else CELL_WIDTH     # room for a tensor in full
        self._columns_cache: tuple | None = None
        self.virtual_size = Size(0, session.n + 1)

    # ---- layout --------------------------------------------------------------------------------
    def _columns(self, width: int) -> tuple:
        """(name, op, shape, value, grad) widths for a row `width` cells wide."""
        if self._columns_cache and self._columns_cache[0] == width:
            return self._columns_cache[1]
        op, shape = min(self._op_width, OP_WIDTHS[0]), min(self._shape_width, SHAPE_WIDTHS[0])
        rest = width - MARK_WIDTH - 1          # and a margin on the right
        if rest - op - shape - 2 < 30:          # narrow: drop the shape, then the op column
            shape = 0
        if rest - op - 1 < 26:
            op = 0
        rest -= (op + 1 if op else 0) + (shape + 1 if shape else 0)
        name = min(self._name_width, max(8, rest - 2 * 12 - 2))
        # wide: shapes, then ops, in full while the value and gradient keep room for a vector
        if shape and rest - (self._shape_width - shape) - name - 2 >= 2 * CELL_WIDTH_ROOMY:
            shape, rest = self._shape_width, rest - (self._shape_width - shape)
        if op and rest - (self._op_width - op) - name - 2 >= 2 * CELL_WIDTH_ROOMY:
            op, rest = self._op_width, rest - (self._op_width - op)
        cell = max(4, (rest - name - 2) // 2)
        cell = min(cell, self._cell_width)
        cols = (name, op, shape, cell, cell)
        self._columns_cache = (width, cols)
        return cols

    # ---- drawing ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width     # without the scrollbar
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        i = self.scroll_offset.y + y - 1
        if not 0 <= i < self.session.n:
            return Strip.blank(width, base)
        return self._row(i, width, base)

    def _header(self, width: int, base: Style) -> Strip:
        name, op, shape, value, grad = self._columns(width)
        text = " " * MARK_WIDTH + _fit("node", name)
        if op:
            text += " " + _fit("op", op)
        if shape:
            text += " " + _fit("shape", shape)
        text += " " + _fit("value", value, True) + " " + _fit("grad", grad, True)
        header = base + self.get_component_rich_style("node-list--header", partial=True)
        return Strip([Segment(_fit(text, width), header)], width)

    def _row(self, i: int, width: int, base: Style) -> Strip:
        session = self.session
        node = session.graph.nodes[i]
        name_w, op_w, shape_w, value_w, grad_w = self._columns(width)
        status = node_status(session, i, self.training)
        if status == "current":
            base = base + self.get_component_rich_style("node-list--current")
        elif i == self.cursor:
            base = base + self.get_component_rich_style("node-list--cursor")
        flags = [FLAGS[f] for f in node_flags(session, i, self.breakpoints, self.extra_flags)]
        segments = [Segment(m.glyph, base + Style.parse(style(m.style))) for m in flags[:FLAG_WIDTH]]
        segments.append(Segment(" " * (FLAG_WIDTH - min(len(flags), FLAG_WIDTH)), base))
        mark = STATUSES[status]
        segments.append(Segment(mark.glyph, base + Style.parse(style(mark.style))))
        segments.append(Segment(" " + _fit(node.name, name_w), base))
        if op_w:
            segments.append(Segment(" " + _fit(session.graph.op_label(node), op_w),
                                    base + self.get_component_rich_style("node-list--op", partial=True)))
        if shape_w:
            shape = str(node.shape) if node.shape != () else ""
            segments.append(Segment(" " + _fit(shape, shape_w),
                                    base + self.get_component_rich_style("node-list--op", partial=True)))
        value, grad = session.values[i], session.grads[i]
        update = self.training.update_of(i) if self.training is not None else None
        if update is not None:
            value = update.new          # the param's value for the next training step
        final = status in ("grad", "updated") or (status == "current" and session.pass_at(session.t - 1) == "backward")
        grad_style = self.get_component_rich_style("node-list--grad" if final else "node-list--partial", partial=True)
        segments += _cell(short_value(value, value_w), value_w, base, _number_style(value, ""))
        segments += _cell(short_value(grad, grad_w) if node.needs_grad else "", grad_w, base,
                          _number_style(grad, grad_style))
        strip = Strip(segments)
        return strip.crop_extend(0, width, base)

    # ---- what the app calls -------------------------------------------------------------------
    def refresh_nodes(self, nodes) -> None:
        """Redraw just these rows (those on screen; the rest draw fresh when scrolled to)."""
        top, height = self.scroll_offset.y, self.size.height
        for i in nodes:
            if top <= i < top + height:
                self.refresh_line(i + 1)

    def refresh_all(self) -> None:
        self.refresh()

    def follow(self, i: int) -> None:
        """Put the cursor on node i and scroll it into view."""
        old = self.cursor
        self.cursor = i
        self.refresh_nodes((old, i))
        self.scroll_to_node(i)

    def scroll_to_node(self, i: int) -> None:
        rows = max(1, self.size.height - 1)
        top = self.scroll_offset.y
        if not top <= i < top + rows:
            self.scroll_to(y=max(0, i - rows // 3), animate=False, immediate=True)

    # ---- moving the cursor --------------------------------------------------------------------
    def _select(self, i: int) -> None:
        i = max(0, min(self.session.n - 1, i))
        if i != self.cursor:
            self.follow(i)
            self.post_message(NodeSelected(i))

    def action_move(self, delta: int) -> None:
        self._select(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._select(self.cursor + direction * max(1, self.size.height - 2))

    def action_move_to(self, i: int) -> None:
        self._select(i if i >= 0 else self.session.n - 1)

    def on_click(self, event: events.Click) -> None:
        y = event.get_content_offset(self)
        if y is not None and y.y > 0:
            self._select(self.scroll_offset.y + y.y - 1)

    def on_resize(self, event: events.Resize) -> None:
        self._columns_cache = None
        self.scroll_to_node(self.cursor)


def _cell(text: str, width: int, base: Style, colour: Style) -> list:
    """A right-aligned cell after a space; only the text itself takes `colour` (a red nan
    does not paint the padding)."""
    text = _fit(text, width, True)
    pad = len(text) - len(text.lstrip(" "))
    return [Segment(" " * (pad + 1), base), Segment(text[pad:], base + colour)]


def _number_style(x, colour) -> Style:
    if x is not None and not is_finite(x):
        return Style.parse(style("bad"))
    return colour if isinstance(colour, Style) else Style.parse(colour) if colour else Style()
