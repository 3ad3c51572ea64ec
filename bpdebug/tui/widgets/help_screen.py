"""`?`: the keys, what the marks in the node list mean, and the command language."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...commands import COMMANDS, aliases_of
from ...train.commands import COMMANDS as TRAINING_COMMANDS
from ..colours import style
from ..status import FLAGS, STATUSES

KEYS = [
    ("s", "step: one node forward (or backward)"),
    ("n", "next: step over a call of a `def` as one step"),
    ("c", "continue to the next breakpoint or the end (press c or Esc again to stop)"),
    ("r", "step back: undo the last step exactly"),
    ("b", "toggle a breakpoint on the selected node"),
    ("↑ ↓ PgUp PgDn", "select a node to inspect (the next step selects the current one)"),
    ("g", "the whole graph as a circuit: arrows select a box, Enter expands a def or layer; g or Esc goes back"),
    ("Tab", "to the inspector (↑ ↓ PgUp PgDn scroll it), the log, back to the nodes"),
    ("click", "a row of the list, or a neighbour in the circuit, to show that node"),
    ("Ctrl+P", "the command palette: every command, `go to NODE` for any node, themes"),
    (":", "type a command; Tab completes, ↑ ↓ recall, Esc leaves"),
    ("?", "this help"),
    ("q", "quit"),
]
TRAINING_KEYS = [
    ("s", "after the backward pass: one param update by the optimizer, then the next training step"),
    ("c", "continue to a breakpoint, the end of the passes, or the end of the updates"),
    ("t", "one training step: the rest of this one (passes and updates), or the next whole one"),
    ("T", "several training steps: types `train ` and the program's steps; Enter runs them (Esc or c stops)"),
    ("r", "step back within this training step; an update taken back restores the param"),
]

USAGE_WIDTH = 26          # `break [forward|backward] [NODE] [if COND]` wraps past this


def _table(rows, first_width: int | None = None) -> Table:
    """Columns of cells, the last one wrapping (and the first, past `first_width`); a str
    cell is made Text here (as markup, `[all]` would vanish)."""
    rows = [[Text(c) if isinstance(c, str) else c for c in row] for row in rows]
    table = Table.grid(padding=(0, 2))
    columns = max((len(r) for r in rows), default=0)
    for k in range(columns):
        wraps = k == columns - 1 or (k == 0 and first_width is not None)
        table.add_column(no_wrap=not wraps, max_width=first_width if k == 0 else None)
    for row in rows:
        table.add_row(*row)
    return table


def help_text(training: bool = False) -> Group:
    keys = _table((Text(f"  {key}", style=style("key")), meaning) for key, meaning in KEYS)
    training_keys = _table((Text(f"  {key}", style=style("key")), meaning) for key, meaning in TRAINING_KEYS)
    marks = _table((Text(f"  {m.glyph}", style=style(m.style)), m.meaning)
                   for m in (*STATUSES.values(), *FLAGS.values()))
    table = {**COMMANDS, **TRAINING_COMMANDS} if training else COMMANDS   # restart [step] replaces restart
    entries = [(usage, ", ".join(aliases_of(name)), what) for name, (usage, what) in table.items()]
    commands = _table(((Text(f"  {usage}", style="bold"), Text(aliases, style=style("key")), what)
                       for usage, aliases, what in entries), first_width=USAGE_WIDTH)
    return Group(
        Text("Keys", style="bold underline"), keys, Text(""),
        *([Text("Training (the program has params)", style="bold underline"), training_keys,
           Text("  The top line shows #k, the training step, UPDATE while the params are updated, and "
                "the optimizer and learning rate (:lr changes it); the loss panel draws the loss after "
                "each training step."), Text("")]
          if training else []),
        Text("Marks in the node list", style="bold underline"), marks, Text(""),
        Text("The neighbourhood", style="bold underline"),
        Text.assemble("  forward edges ", ("──▶ carry values", style("forward")), ", backward edges ",
                      ("◀── carry gradients", style("backward")), "; dashed edges have nothing on them yet; "
                      "click a neighbour to go to it."), Text(""),
        Text("Commands (press : first)", style="bold underline"), commands)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, training: bool = False) -> None:
        super().__init__()
        self.training = training

    def compose(self):
        with VerticalScroll() as scroll:
            scroll.border_title = "bpdebug help (Esc to close)"
            yield Static(help_text(self.training), markup=False)
