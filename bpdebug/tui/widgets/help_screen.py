"""`?`: the keys, what the marks in the node list mean, and the command language."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...commands import HELP
from ...train.commands import HELP as TRAINING_HELP
from ..status import FLAGS, STATUSES

KEYS = [
    ("s", "step: one node forward (or backward)"),
    ("n", "next: step over a call of a `def` as one step"),
    ("c", "continue to the next breakpoint or the end (press c or Esc again to stop)"),
    ("r", "step back: undo the last step exactly"),
    ("b", "toggle a breakpoint on the selected node"),
    ("↑ ↓ PgUp PgDn", "select a node to inspect (the next step selects the current one)"),
    ("g", "the whole graph as a circuit: arrows select a box, Enter expands a def or layer; g or Esc goes back"),
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

def _table(rows) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    for key, meaning in rows:
        table.add_row(key, Text(meaning))     # a str cell is markup: `[all]` would vanish
    return table


def help_text(training: bool = False) -> Group:
    keys = _table((Text(f"  {key}", style="bold cyan"), meaning) for key, meaning in KEYS)
    training_keys = _table((Text(f"  {key}", style="bold cyan"), meaning) for key, meaning in TRAINING_KEYS)
    marks = _table((Text(f"  {m.glyph}", style=m.style), m.meaning)
                   for m in (*STATUSES.values(), *FLAGS.values()))
    shared = {**HELP, **TRAINING_HELP} if training else HELP     # restart [step] replaces restart
    lines = [*shared.values()]
    commands = _table((Text(f"  {line.split()[0]}", style="bold"), line.split(" ", 1)[1].strip())
                      for line in lines)
    return Group(
        Text("Keys", style="bold underline"), keys, Text(""),
        *([Text("Training (the program has params)", style="bold underline"), training_keys,
           Text("  The top line shows #k, the training step, UPDATE while the params are updated, and "
                "the optimizer and learning rate (:lr changes it); the loss panel draws the loss after "
                "each training step."), Text("")]
          if training else []),
        Text("Marks in the node list", style="bold underline"), marks, Text(""),
        Text("The neighbourhood", style="bold underline"),
        Text("  forward edges ──▶ carry values (green), backward edges ◀── carry gradients "
             "(yellow); dashed edges have nothing on them yet."), Text(""),
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
