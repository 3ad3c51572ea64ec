"""BpDebugApp: watch the forward and backward passes one node at a time.

The app talks only to a Session (any subclass: a live one, or a replay of a trace) and to
`commands.execute` for the command line; it computes no value or gradient itself. After every
move it tells the widgets what changed: the node list redraws just the rows of the nodes the
move touched, the other panels redraw their few lines. `continue` runs in chunks of
`session.run(limit=K)` from a timer, sized to about 30 ms, so the screen repaints, shows
progress, and reads keys (c or Escape stop it) between chunks.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from textual.app import App
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.timer import Timer
from textual.widgets import Footer, Label

from ..commands import ALIASES, execute
from .messages import CommandEntered, CompletionsFound, NodeSelected
from .status import breakpoint_marks
from .widgets.banner import Banner
from .widgets.breakpoints import BreakpointsPanel
from .widgets.command_line import CommandLine
from .widgets.help_screen import HelpScreen
from .widgets.inspector import Inspector
from .widgets.neighbourhood import Neighbourhood
from .widgets.node_list import NodeList
from .widgets.stop_log import StopLog
from .widgets.watches import WatchesPanel

CHUNK_SECONDS = 0.03       # one slice of `continue` between repaints
FEW_STEPS = 64             # up to this many steps, redraw only the rows they touched


@dataclass
class Running:
    """A `continue` in progress."""

    start: int                 # steps taken when it began
    chunk: int = 256           # steps per slice, adapted to CHUNK_SECONDS
    timer: Timer | None = None


class BpDebugApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "bpdebug"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    # Priority bindings: the app sees each key before handing it on, in the order typed, so
    # keys typed fast after ':' land in the command line. `check_action` turns the letters off
    # while the command line has the focus or the help is open, and they fall through to it.
    BINDINGS = [
        Binding("s", "step", "step", priority=True),
        Binding("n", "next", "next", priority=True),
        Binding("c", "continue", "continue", priority=True),
        Binding("r", "back", "back", priority=True),
        Binding("b", "toggle_breakpoint", "break", priority=True),
        Binding("colon", "command_line", "command", key_display=":", priority=True),
        Binding("question_mark", "help", "help", key_display="?", priority=True),
        Binding("q", "quit", "quit", priority=True),
        Binding("escape", "escape", "stop / leave", show=False, priority=True),
    ]
    LETTER_ACTIONS = {"step", "next", "continue", "back", "toggle_breakpoint", "command_line",
                      "help", "quit"}

    def __init__(self, session, flags: dict | None = None, **kwargs) -> None:
        """`flags` marks nodes for other tools: {node index: [flag name from status.FLAGS]}."""
        super().__init__(**kwargs)
        self.session = session
        self.flags = dict(flags or {})
        self.running: Running | None = None

    def run(self, *args, **kwargs):
        # The graph, values and gradients live as long as the app. Frozen, they are out of the
        # collector's way: otherwise every full collection walks them, and a step on a 100,000-
        # node graph pays for the graph's size after all.
        gc.collect()                    # what is garbage now (the parse tree) is not frozen
        gc.freeze()
        return super().run(*args, **kwargs)

    # ---- layout --------------------------------------------------------------------------------
    def compose(self):
        s = self.session
        yield Banner(s, id="banner")
        with Horizontal(id="main"):
            yield NodeList(s, id="nodes")
            with Vertical(id="right"):
                yield Neighbourhood(s, id="circuit")
                yield Inspector(s, id="inspector")
        with Horizontal(id="panels"):
            yield BreakpointsPanel(s, id="breakpoints")
            yield WatchesPanel(s, id="watches")
            yield StopLog(id="log")
        with Horizontal(id="command"):
            yield Label(":", id="prompt")
            yield CommandLine(s, id="command-line")
        yield Footer()

    def on_mount(self) -> None:
        s = self.session
        name = Path(s.graph.filename).name if s.graph.filename else "<-e>"
        self.title = f"bpdebug {name}"
        self.nodes.border_title = f"nodes ({s.n})"
        self.nodes.extra_flags = self.flags
        self.query_one(Neighbourhood).border_title = "neighbourhood"
        self.query_one(BreakpointsPanel).border_title = "breakpoints"
        self.query_one(WatchesPanel).border_title = "watches"
        self.log_panel.border_title = "log"
        self.nodes.focus()
        self._sync_breakpoints()
        self.query_one(WatchesPanel).show()
        self._show(s.current if s.current is not None else 0)

    @property
    def nodes(self) -> NodeList:
        return self.query_one(NodeList)

    @property
    def log_panel(self) -> StopLog:
        return self.query_one(StopLog)

    @property
    def command_line(self) -> CommandLine:
        return self.query_one(CommandLine)

    # ---- after the session moved -----------------------------------------------------------------
    def _show(self, i: int) -> None:
        """Put node i in the neighbourhood and the inspector."""
        node = self.session.graph.nodes[i]
        self.query_one(Neighbourhood).show(i)
        inspector = self.query_one(Inspector)
        inspector.show(i)
        which = "current" if i == self.session.current else "next" if i == self.session.upcoming else "selected"
        inspector.border_title = f"inspector: {escape(node.name)} ({which})"   # titles are markup

    def _touched(self, before: int, after: int) -> list | None:
        """Nodes whose row may differ between positions `before` and `after` (steps taken):
        the nodes stepped, their inputs in the backward pass, and the old and new current."""
        s = self.session
        lo, hi = min(before, after), max(before, after)
        if hi - lo > FEW_STEPS:
            return None
        touched = [s.node_at(step) for step in (before - 1, after - 1) if step >= 0]
        for step in range(lo, hi):
            i = s.node_at(step)
            touched.append(i)
            if step >= s.n:
                touched.extend(s.graph.nodes[i].inputs)
        return touched

    def _moved(self, before: int, reason: str = "", detail: str = "", hit: bool = False) -> None:
        """Bring every panel up to the session's position after a move from `before`, and log
        the stop with its reason."""
        s = self.session
        touched = self._touched(before, s.t)
        if touched is None:
            self.nodes.refresh_all()
        else:
            self.nodes.refresh_nodes(touched)
        focus = s.current if s.current is not None else 0
        self.nodes.follow(focus)
        self._show(focus)
        alert = self._alert()
        self.query_one(Banner).update_state(alert=alert)
        self.query_one(WatchesPanel).show()
        if hit:
            self._sync_breakpoints()   # hit counts, and temporary ones are gone
        self.log_panel.stop(s, reason, detail or alert, alert=bool(alert) or hit)

    def _alert(self) -> str:
        s = self.session
        if s.current is not None and s.nonfinite(s.current):
            return f"non-finite at {s.graph.nodes[s.current].name}"
        return ""

    def _after_stop(self, before: int, stop) -> None:
        if stop is not None and stop.reason == "breakpoint":
            b = stop.breakpoint
            self._moved(before, f"breakpoint {b.id} ({b.describe(self.session.graph)})", stop.detail, hit=True)
        elif stop is not None and stop.reason == "end":
            self._moved(before, "done: every gradient is final")
        else:
            self._moved(before)

    def _sync_breakpoints(self) -> None:
        marks = breakpoint_marks(self.session)
        old = self.nodes.breakpoints
        if marks != old:
            self.nodes.breakpoints = marks
            self.nodes.refresh_nodes({i for i in set(marks) | set(old) if marks.get(i) != old.get(i)})
        self.query_one(BreakpointsPanel).show()

    # ---- keys ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action in self.LETTER_ACTIONS and (
                len(self.screen_stack) > 1 or isinstance(self.focused, CommandLine)):
            return None        # shown dimmed in the footer; the key goes to the focused widget
        return True

    def _at_end(self) -> bool:
        if self.session.t >= self.session.total:
            self.log_panel.write("both passes are done: r steps back, :restart starts again")
            return True
        return False

    def action_step(self) -> None:
        if self.running or self._at_end():
            return
        before = self.session.t
        self._after_stop(before, self.session.run(limit=1))

    def action_next(self) -> None:
        if self.running or self._at_end():
            return
        before = self.session.t
        self._after_stop(before, self.session.next())

    def action_back(self) -> None:
        if self.running:
            return
        if self.session.t == 0:
            self.log_panel.write("at the start: nothing to take back")
            return
        before = self.session.t
        self.session.back(1)
        self._moved(before, "stepped back")

    def action_continue(self) -> None:
        if self.running:
            self._interrupt()
            return
        if self._at_end():
            return
        self.running = Running(self.session.t)
        self.query_one(Banner).update_state(running=True)
        self._run_slice()

    def _run_slice(self) -> None:
        run = self.running
        if run is None:
            return
        started = perf_counter()
        stop = self.session.run(limit=run.chunk)
        elapsed = perf_counter() - started
        if stop.reason == "limit":
            run.chunk = max(16, min(run.chunk * 4, int(run.chunk * CHUNK_SECONDS / max(elapsed, 1e-6))))
            self.nodes.refresh_all()
            self.nodes.follow(self.session.current)
            self.query_one(Banner).refresh()
            run.timer = self.set_timer(0.01, self._run_slice)
            return
        self.running = None
        self.query_one(Banner).update_state()
        self._after_stop(run.start, stop)

    def _interrupt(self) -> None:
        run, self.running = self.running, None
        if run.timer is not None:
            run.timer.stop()
        self._moved(run.start, "interrupted")

    def action_toggle_breakpoint(self) -> None:
        s = self.session
        i = self.nodes.cursor
        name = s.graph.nodes[i].name
        on_node = [b for b in s.breakpoints if b.node == i]
        if on_node:
            for b in on_node:
                s.delete_breakpoint(b.id)
            self.log_panel.write(f"deleted breakpoint {', '.join(str(b.id) for b in on_node)} on {name}")
        else:
            b = s.add_breakpoint(name)
            self.log_panel.write(f"breakpoint {b.id}: {b.describe(s.graph)}")
        self._sync_breakpoints()

    def action_command_line(self) -> None:
        self.screen.set_focus(self.command_line)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_escape(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.running:
            self._interrupt()
        elif self.command_line.has_focus:
            self.screen.set_focus(self.nodes)

    # ---- messages from the widgets ---------------------------------------------------------------
    def on_node_selected(self, message: NodeSelected) -> None:
        self._show(message.index)

    def on_completions_found(self, message: CompletionsFound) -> None:
        shown = message.candidates[:12]
        more = len(message.candidates) - len(shown)
        self.log_panel.write("  ".join(shown) + (f"  … {more} more" if more else ""))

    def on_command_entered(self, message: CommandEntered) -> None:
        line = message.line
        if not line:
            return
        word = line.split()[0]
        if ALIASES.get(word, word) == "continue" and not line[len(word):].strip():
            self.log_panel.command(line, "", False)
            self.action_continue()     # in slices, like the key
            return
        s = self.session
        before = s.t
        result = execute(s, line)
        self.log_panel.command(line, result.text, result.error)
        self.nodes.refresh_all()        # a command may change anything (set, restart, break ...)
        self._sync_breakpoints()
        self.query_one(WatchesPanel).show()
        if s.t != before or ALIASES.get(word, word) in ("set", "restart"):
            focus = s.current if s.current is not None else 0
            self.nodes.follow(focus)
            self._show(focus)
        else:
            self._show(self.nodes.cursor)
        self.query_one(Banner).update_state(alert=self._alert())
