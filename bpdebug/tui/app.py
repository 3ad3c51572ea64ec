"""BpDebugApp: watch the forward and backward passes one node at a time.

The app talks only to a Session (any subclass: a live one, or a replay of a trace) and to
`commands.execute` for the command line; it computes no value or gradient itself. After every
move it tells the widgets what changed: the node list redraws just the rows of the nodes the
move touched, the other panels redraw their few lines. `continue` runs in chunks of
`session.run(limit=K)` from a timer, sized to about 30 ms, so the screen repaints, shows
progress, and reads keys (c or Escape stop it) between chunks.

Given a Trainer (a program with params), the loop goes on after the backward pass: an update
phase, one param a step, then the next training step (`training.Training`); `t` runs training
steps in slices the same way, and the loss curve redraws between them. The gradient checker's
findings (`checks.NodeChecks`) are brought up to date at each stop and flag nodes in the list.
"""
from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path
from time import perf_counter

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Footer, Label

from ..check import mismatch_reason
from ..commands import ALIASES, execute
from ..train.commands import execute as train_execute
from .checks import NodeChecks, cheap_to_check
from .command_palette import DebuggerCommands
from .colours import style
from .messages import CommandEntered, CompletionsFound, NodeSelected
from .running import CHUNK_SECONDS, Running, stops_on_failure
from .status import breakpoint_marks, position
from .training import Training
from .training_keys import TrainingKeys
from .widgets.banner import Banner
from .widgets.breakpoints import BreakpointsPanel
from .widgets.command_line import CommandLine
from .widgets.graph_view import GraphView
from .widgets.help_screen import HelpScreen
from .widgets.inspector import Inspector, check_section, origin_note, pending_update, update_section
from .widgets.loss_curve import LossCurve
from .widgets.neighbourhood import Neighbourhood
from .widgets.node_list import NodeList
from .widgets.stop_log import StopLog
from .widgets.watches import WatchesPanel

FEW_STEPS = 64             # up to this many steps, redraw only the rows they touched
TRAIN_KEYS = Binding.Group("train 1/N")    # t and T, side by side in the footer
COMPACT_FOOTER = 100       # below this width a program that trains gets a compact footer


class BpDebugApp(TrainingKeys, App):
    CSS_PATH = "app.tcss"
    TITLE = "bpdebug"
    COMMANDS = App.COMMANDS | {DebuggerCommands}     # Ctrl+P: every command, any node by name
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
        Binding("g", "graph", "graph", priority=True),
        Binding("t", "train", "train one step", group=TRAIN_KEYS, priority=True),
        Binding("T", "train_many", "train N steps", key_display="T", group=TRAIN_KEYS, priority=True),
        Binding("colon", "command_line", "command", key_display=":", priority=True),
        Binding("question_mark", "help", "help", key_display="?", priority=True),
        Binding("q", "quit", "quit", priority=True),
        Binding("escape", "escape", "stop / leave", show=False, priority=True),
    ]
    LETTER_ACTIONS = {"step", "next", "continue", "back", "toggle_breakpoint", "command_line",
                      "help", "quit", "train", "train_many", "graph"}
    TRAINING_ACTIONS = {"train", "train_many"}

    def __init__(self, session, flags: dict | None = None, trainer=None, **kwargs) -> None:
        """`flags` marks nodes for other tools: {node index: [flag name from status.FLAGS]}.
        `trainer` (a bpdebug.train.Trainer): step through training; its session is the one
        shown (it may be a new one, built for mini-batches)."""
        super().__init__(**kwargs)
        self.training = Training(trainer) if trainer is not None else None
        self.session = trainer.session if trainer is not None else session
        self.flags = dict(flags or {})
        self.checks = NodeChecks(self.session, on=cheap_to_check(self.session.graph))
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
        yield GraphView(s, id="graph")
        with Horizontal(id="panels"):
            yield BreakpointsPanel(s, id="breakpoints")
            yield WatchesPanel(s, id="watches")
            if self.training is not None:
                yield LossCurve(self.training.trainer, id="loss")
            yield StopLog(id="log")
        with Horizontal(id="command"):
            yield Label(":", id="prompt")
            yield CommandLine(s, commands=("train", "lr") if self.training else (), id="command-line")
        yield Footer(compact=self.training is not None)

    def on_resize(self, event) -> None:
        footer = self.query_one(Footer)
        narrow = event.size.width < COMPACT_FOOTER
        footer.show_command_palette = not narrow   # ^p still opens it; the keys need the room
        if self.training is not None:      # t and T take room: the footer fits 80 columns compact
            footer.compact = narrow
            # ... and without g (in the help), so that q still shows
            graph_keys = self._bindings.key_to_bindings["g"]
            if any(b.show == narrow for b in graph_keys):
                self._bindings.key_to_bindings["g"] = [replace(b, show=not narrow) for b in graph_keys]
                self.refresh_bindings()

    def on_mount(self) -> None:
        s = self.session
        name = Path(s.graph.filename).name if s.graph.filename else "<-e>"
        self.title = f"bpdebug {name}"
        self.nodes.border_title = f"nodes ({s.n})"
        self.nodes.training = self.query_one(Banner).training = self.training
        self.query_one(Neighbourhood).training = self.training
        self._set_flags()
        self._update_checks()
        if self.training is not None:
            self.query_one(LossCurve).show()
        self.query_one(Neighbourhood).border_title = "neighbourhood"
        self.query_one(BreakpointsPanel).border_title = "breakpoints"
        self.query_one(WatchesPanel).border_title = "watches"
        self.log_panel.border_title = "log"
        self.nodes.focus()
        self._sync_breakpoints()
        self.query_one(WatchesPanel).show()
        self._show(self._focus())

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
    def _current(self) -> int | None:
        """The node of the step just taken: the param just updated in the update phase."""
        update = self.training.last_update if self.training is not None else None
        return update.index if update is not None else self.session.current

    def _upcoming(self) -> int | None:
        if self.training is not None and self.training.in_update:
            update = self.training.trainer.upcoming_update()
            return update.index if update is not None else None
        return self.session.upcoming

    def _focus(self) -> int:
        current = self._current()
        return current if current is not None else 0

    def _show(self, i: int) -> None:
        """Put node i in the neighbourhood and the inspector."""
        node = self.session.graph.nodes[i]
        self.query_one(Neighbourhood).show(i)
        self.query_one(GraphView).show(i, self._current())
        inspector = self.query_one(Inspector)
        inspector.show(i, self._check_notes(i), self._update_notes(i))
        which = "current" if i == self._current() else "next" if i == self._upcoming() else "selected"
        inspector.border_title = f"inspector: {escape(node.name)} ({which})"   # titles are markup

    def _check_notes(self, i: int) -> list:
        """What the gradient checker says of node i: its answers side by side if it fails its
        check, where nan or inf was born if it is non-finite."""
        s, notes = self.session, []
        if i in self.checks.failing:
            notes.append(check_section(mismatch_reason(s, i) or self.checks.failing[i].detail))
        origin = self.checks.origin
        if origin is not None and (origin.node == i or s.nonfinite(i)):
            notes.append(origin_note(origin, origin.node == i))
        return notes

    def _update_notes(self, i: int) -> list:
        """A param's update, in the update phase: applied, next, or still to come."""
        training, node = self.training, self.session.graph.nodes[i]
        if training is None or not training.in_update or node.kind != "param":
            return []
        applied = training.update_of(i)
        upcoming = training.trainer.upcoming_update()
        if applied is not None:
            return update_section(applied, "applied")
        if upcoming is not None and upcoming.index == i:
            return update_section(upcoming, "next")
        return [pending_update(node.name, training.trainer.loss_name)]

    def _update_checks(self) -> None:
        """Bring the gradient checker's flags up to the session's position."""
        s = self.session
        nonfinite = (s.current is not None and s.nonfinite(s.current)) or any(
            b.special == "nonfinite" and b.enabled for b in s.breakpoints)
        known = set(self.checks.failing)
        if self.checks.update(nonfinite):
            self._set_flags()
            for i, c in self.checks.failing.items():
                if i not in known:
                    self.log_panel.write(Text(f"✗ {c.name} fails its gradient check: {c.hint}", style=style("check")))

    def _set_flags(self) -> None:
        """The node list's extra flags: the ones the app was given and the checker's."""
        found = self.checks.flags()
        self.nodes.extra_flags = {i: [*self.flags.get(i, ()), *found.get(i, ())]
                                  for i in set(self.flags) | set(found)}
        self.nodes.refresh_all()

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

    def _moved(self, before: int, reason: str = "", detail: str = "", hit: bool = False,
               everything: bool = False) -> None:
        """Bring every panel up to the session's position after a move from `before` (steps
        taken; `everything`: the rows all changed, as when a training step begins), and log the
        stop with its reason."""
        s = self.session
        touched = None if everything else self._touched(before, s.t)
        if touched is None:
            self.nodes.refresh_all()
        else:
            self.nodes.refresh_nodes(touched)
        self._update_checks()
        focus = self._focus()
        self.nodes.follow(focus)
        self._show(focus)
        alert = self._alert()
        self.query_one(Banner).update_state(alert=alert)
        self.query_one(WatchesPanel).show()
        if hit:
            self._sync_breakpoints()   # hit counts, and temporary ones are gone
        training = self.training
        update = None
        if training is not None:
            update = training.last_update
            self.query_one(LossCurve).show()
        self.log_panel.stop(s, reason, detail or alert, alert=bool(alert) or hit,
                            position=position(s, training), update=update)

    def _alert(self) -> str:
        s = self.session
        if s.current is not None and s.nonfinite(s.current):
            origin = self.checks.origin
            born = f" (born at {origin.name})" if origin is not None and origin.node != s.current else ""
            return f"non-finite at {s.graph.nodes[s.current].name}{born}"
        return ""

    def _after_stop(self, before: int, stop, everything: bool = False) -> None:
        if stop is not None and stop.reason == "breakpoint":
            b = stop.breakpoint
            self._moved(before, f"breakpoint {b.id} ({b.describe(self.session.graph)})", stop.detail, hit=True,
                        everything=everything)
        elif stop is not None and stop.reason == "end":
            self._moved(before, self._end_of_passes(), everything=everything)
        else:
            self._moved(before, self._training_news(), everything=everything)

    def _sync_breakpoints(self) -> None:
        marks = breakpoint_marks(self.session)
        old = self.nodes.breakpoints
        if marks != old:
            self.nodes.breakpoints = marks
            self.nodes.refresh_nodes({i for i in set(marks) | set(old) if marks.get(i) != old.get(i)})
        self.query_one(BreakpointsPanel).show()

    def _failed(self, error) -> None:
        """A move stopped by the user's code failing (see running.stops_on_failure)."""
        run, self.running = self.running, None
        if run is not None and run.timer is not None:
            run.timer.stop()
        self.query_one(Banner).update_state()
        self.log_panel.write(Text(str(error), style="bold red"))
        self._moved(self.session.t, "stopped: an op written in Python failed", everything=True)

    # ---- keys ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action == "escape" and isinstance(self.screen, CommandPalette):
            return None        # the palette closes itself, stopping its search; popped from here, the
                               # search went on and looked for the palette's list after it was gone
        if action in self.TRAINING_ACTIONS and self.training is None:
            return False       # hidden: the program has no params to train
        if action in self.LETTER_ACTIONS and (
                len(self.screen_stack) > 1 or isinstance(self.focused, CommandLine)):
            return None        # the key goes to the focused widget; the footer dims it under the help
                               # (and, the command line focused, Textual leaves the letters out of it)
        return True

    def _at_end(self) -> bool:
        if self.training is None and self.session.t >= self.session.total:
            self.log_panel.write("both passes are done: r steps back, :restart starts again")
            return True
        return False

    @stops_on_failure
    def action_step(self, count: int = 1) -> None:
        if self.running or self._at_end():
            return
        if self.training is not None:
            self._training_move(lambda: self.training.step(count))
            return
        before = self.session.t
        self._after_stop(before, self.session.run(limit=count))

    @stops_on_failure
    def action_next(self) -> None:
        if self.running or self._at_end():
            return
        if self.training is not None:
            self._training_move(self.training.next)
            return
        before = self.session.t
        self._after_stop(before, self.session.next())

    def action_back(self, count: int = 1) -> None:
        if self.running:
            return
        if self.training is not None:
            self._training_back(count)
            return
        if self.session.t == 0:
            self.log_panel.write("at the start: nothing to take back")
            return
        before = self.session.t
        self.session.back(count)
        self._moved(before, "stepped back")

    @stops_on_failure
    def action_continue(self) -> None:
        if self.running:
            self._interrupt()
            return
        if self._at_end():
            return
        everything = False
        if self.training is not None and self.training.in_update:
            if self._continue_updates():
                return
            everything = True           # a new training step began: every row changes
        self.running = Running(self.session.t, everything=everything)
        self.query_one(Banner).update_state(running="running")
        self._run_slice()

    @stops_on_failure
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
        self._after_stop(run.start, stop, everything=run.everything)

    def _interrupt(self) -> None:
        run, self.running = self.running, None
        if run.timer is not None:
            run.timer.stop()
        self._moved(run.start, self._trained(run) if run.asked else "interrupted", everything=run.everything)

    def action_toggle_breakpoint(self) -> None:
        s = self.session
        box = self.query_one(GraphView).selected_box if self.screen.has_class("-graph") else None
        # the graph's selected box; the list's row when the graph is not drawn yet (`g b` in one burst)
        i = box.node if box is not None else self.nodes.cursor
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

    def action_graph(self) -> None:
        """Show the whole graph in place of the node list and the node in view, or go back."""
        shown = not self.screen.has_class("-graph")
        self.screen.set_class(shown, "-graph")
        self.screen.set_focus(self.query_one(GraphView) if shown else self.nodes)

    def _home(self):
        """The widget that has the keys when the command line gives them back."""
        return self.query_one(GraphView) if self.screen.has_class("-graph") else self.nodes

    def action_help(self) -> None:
        self.push_screen(HelpScreen(training=self.training is not None))

    def action_escape(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.running:
            self._interrupt()
        elif self.command_line.has_focus:
            self.screen.set_focus(self._home())
        elif self.screen.has_class("-graph"):
            self.action_graph()

    # ---- messages from the widgets ---------------------------------------------------------------
    def on_node_selected(self, message: NodeSelected) -> None:
        if self.nodes.cursor != message.index:     # from the circuit: the list follows
            self.nodes.follow(message.index)
        self._show(message.index)

    def on_completions_found(self, message: CompletionsFound) -> None:
        shown = message.candidates[:12]
        more = len(message.candidates) - len(shown)
        self.log_panel.write("  ".join(shown) + (f"  … {more} more" if more else ""))

    def on_command_entered(self, message: CommandEntered) -> None:
        self.run_command(message.line)

    def type_command(self, text: str) -> None:
        """Put `text` on the command line, focused, for the user to finish (the palette)."""
        line = self.command_line
        self.screen.set_focus(line)
        line.value = text
        line.cursor_position = len(text)

    def select_node(self, i: int) -> None:
        """Show node i, as selecting it in the list does (the palette's "go to")."""
        self.nodes.follow(i)
        self._show(i)

    def run_command(self, line: str) -> None:
        """Run a line of the command language, as typed after `:`."""
        if not line:
            return
        self.screen.set_focus(self.nodes)      # the keys come back: `s`, `c`, `:` work at once
        word, _, arg = line.partition(" ")
        name, arg = ALIASES.get(word, word), arg.strip()
        if name == "continue" and not arg:
            self.log_panel.command(line, "", False)
            self.action_continue()     # in slices, like the key
            return
        if self.training is not None and self._training_command(line, name, arg):
            return
        s = self.session
        before = s.t
        result = execute(s, line) if self.training is None else train_execute(self.training.trainer, line)
        if result.quit:
            self.exit()
            return
        self.log_panel.command(line, result.text, result.error)
        if name == "check" or any(b.special == "mismatch" for b in s.breakpoints):
            self.checks.on = True       # asked for: check nodes from now on, whatever they cost
        self.nodes.refresh_all()        # a command may change anything (set, restart, break ...)
        self._sync_breakpoints()
        self._update_checks()
        self.query_one(WatchesPanel).show()
        if s.t != before or name in ("set", "restart", "jump"):
            focus = self._focus()
            self.nodes.follow(focus)
            self._show(focus)
        elif name in ("up", "down") and not result.error:
            frame = s.frames()[s.frame]    # the `def` call `up` went to
            self.nodes.follow(frame)
            self._show(frame)
        else:
            self._show(self.nodes.cursor)
        self.query_one(Banner).update_state(alert=self._alert())
