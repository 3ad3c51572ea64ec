"""`g`: the whole program as a circuit diagram, the current node highlighted.

Boxes in columns left to right; each wire carries its value above it and, once the backward
pass has sent it, its gradient below (bpdebug.picture draws the grid; this widget shows it with
the theme's colours and scrolls it). A `def` call or a `layer` is one box until Enter expands
it; Enter on a box of an expanded group collapses the group again, and Enter on any other node
puts it in the inspector (and, in a program too big to draw whole, draws around it instead).
The picture is rebuilt only when the session moves or what is expanded changes, and only while
the view is shown; it costs what the drawn boxes cost, whatever the program's size.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...picture.layout import arrange, box_lines, label
from ...picture.scene import Picture
from ...picture.text import Grid
from ..messages import NodeSelected

LABEL_WIDTH = 12              # cells for a number on a wire: fewer digits until it fits
TITLE_WIDTH = 40
ROLES = ("value", "grad", "partial", "pending", "note", "bad", "wire", "box", "group", "current",
         "selected", "title")


class GraphView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {f"graph-view--{role}" for role in ROLES}
    DEFAULT_CSS = """
    GraphView { display: none; height: 1fr; border: round $primary 40%; }
    GraphView:focus { border: round $accent; }
    GraphView > .graph-view--value { color: $success; }
    GraphView > .graph-view--grad { color: $warning; }
    GraphView > .graph-view--partial { color: $warning 60%; }
    GraphView > .graph-view--pending { color: $text-disabled; }
    GraphView > .graph-view--note { color: $text-muted; }
    GraphView > .graph-view--bad { color: $text-error; background: $error 30%; text-style: bold; }
    GraphView > .graph-view--wire { color: $text-muted; }
    GraphView > .graph-view--box { color: $foreground; }
    GraphView > .graph-view--group { color: $secondary; }
    GraphView > .graph-view--current { color: $text-accent; text-style: bold; }
    GraphView > .graph-view--selected { color: $accent; text-style: bold; }
    GraphView > .graph-view--title { text-style: bold; }
    """
    BINDINGS = [
        Binding("left", "move(-1, 0)", "left", show=False),
        Binding("right", "move(1, 0)", "right", show=False),
        Binding("up", "move(0, -1)", "up", show=False),
        Binding("down", "move(0, 1)", "down", show=False),
        Binding("enter", "toggle", "expand / collapse", show=False),
    ]

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.picture = Picture(session.graph)
        self.node = 0                   # the node in view: drawn around when not all fits
        self.current: int | None = None
        self.selected: int | None = None  # the key of the selected box
        self.scene = None               # what is drawn (bpdebug.picture.scene.Scene)
        self.grid: Grid | None = None
        self._drawing = None
        self._stale = True
        self._styles: dict = {}

    # ---- what the app calls -------------------------------------------------------------------
    def show(self, i: int, current: int | None) -> None:
        """Node i is in view and `current` is the current node: select i's box, and redraw
        (now if the view is shown, else when it next is)."""
        self.node, self.current = i, current
        self.selected = self.picture.box_of(i)
        self._stale = True
        if self.display:
            self.rebuild()

    def rebuild(self) -> None:
        scene = self.picture.scene(self.session, centre=self.node, current=self.current)
        text_of = lambda x: label(x, LABEL_WIDTH)  # noqa: E731
        drawing = arrange(scene, lambda b: box_lines(scene, b, text_of, TITLE_WIDTH), text_of)
        if self.selected not in scene.by_key:
            self.selected = scene.current if scene.current is not None else scene.boxes[0].key
        self.scene, self._drawing = scene, drawing
        self.grid = Grid(drawing, self.selected)
        self._stale = False
        self.border_title = f"graph: {scene.extent()}"
        self.border_subtitle = "←↑↓→ select · Enter expand/collapse · g back"
        self.virtual_size = Size(self.grid.width, self.grid.height)
        self.refresh()
        # after the next layout: scrolling now is clamped to the old virtual size
        self.call_after_refresh(self._scroll_to_selected)

    @property
    def selected_box(self):
        return self.scene.by_key.get(self.selected) if self.scene is not None else None

    # ---- drawing -------------------------------------------------------------------------------
    def on_show(self) -> None:
        if self._stale:
            self.rebuild()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}              # the theme changed: read the roles' styles again

    def _style(self, role) -> Style:
        if role is None:
            return Style()
        if role not in self._styles:
            self._styles[role] = self.get_component_rich_style(f"graph-view--{role}", partial=True)
        return self._styles[role]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        grid = self.grid
        row = self.scroll_offset.y + y
        if grid is None or row >= grid.height:
            return Strip.blank(width, base)
        segments = [Segment(text, base + self._style(role)) for text, role in grid.runs(row)]
        x = self.scroll_offset.x
        return Strip(segments, grid.width).crop_extend(x, x + width, base)

    # ---- selecting and expanding --------------------------------------------------------------
    def _shape(self, key):
        return self._drawing.shape(key) if self._drawing is not None else None

    def _scroll_to_selected(self) -> None:
        """Bring the selected box into view, in the middle if it was out of view."""
        shape = self._shape(self.selected)
        if shape is None:
            return
        view = Region(self.scroll_offset.x, self.scroll_offset.y, *self.scrollable_content_region.size)
        if view.contains_region(Region(shape.x, shape.y, shape.w, shape.h)):
            return
        self.scroll_to(x=max(0, shape.x + shape.w // 2 - view.width // 2),
                       y=max(0, shape.y + shape.h // 2 - view.height // 2), animate=False, immediate=True)

    def _select(self, key: int) -> None:
        self.selected = key
        self.grid = Grid(self._drawing, key)
        self.refresh()
        self._scroll_to_selected()

    def action_move(self, dx: int, dy: int) -> None:
        """Select a box: right and left follow the wires (to a reader, to an input; the one
        nearest in rows), up and down go to the nearest box above or below; where there is
        none, the nearest box that way."""
        here = self._shape(self.selected)
        if here is None:
            return
        linked = set()
        if dx:
            ends = [(w.source, w.target) if dx > 0 else (w.target, w.source) for w in self.scene.wires]
            linked = {b for a, b in ends if a == self.selected and b is not None}
        cx, cy = here.x + here.w / 2, here.y + here.h / 2
        best, best_cost = None, None
        for shape in self._drawing.shapes:
            ox, oy = shape.x + shape.w / 2 - cx, shape.y + shape.h / 2 - cy
            along, across = (ox * dx, abs(oy)) if dx else (oy * dy, abs(ox))
            if along <= 0:
                continue
            cost = (shape.box.key not in linked, along + 2 * across)
            if best_cost is None or cost < best_cost:
                best, best_cost = shape, cost
        if best is not None:
            self._select(best.box.key)

    def action_toggle(self) -> None:
        key = self.selected
        if key is None:
            return
        picture = self.picture
        group = picture.group_of(key)
        if picture.toggle(key):
            keys = picture.keys()
            # the expanded group's output, or the box the collapsed node is in now
            self.selected = keys[group.end] if group is not None else keys[key]
            self.rebuild()
        else:
            self.post_message(NodeSelected(key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self._drawing is None:
            return
        x, y = offset.x + self.scroll_offset.x, offset.y + self.scroll_offset.y
        for shape in self._drawing.shapes:
            if shape.x <= x < shape.x + shape.w and shape.y <= y < shape.y + shape.h:
                self._select(shape.box.key)
                return
