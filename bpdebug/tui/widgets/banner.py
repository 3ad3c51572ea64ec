"""One line across the top: the program, the pass, step k of N, the current node, a progress
bar; while `continue` runs, how far it has got and how to stop it; alerts in red. A program
that trains shows the update phase (UPDATE) after the backward pass and counts its steps too,
and the optimizer and learning rate its updates use."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ...graph import format_number

PASS_STYLES = {"forward": "bold black on green", "backward": "bold black on yellow",
               "update": "bold black on magenta", "done": "bold black on cyan"}


class Banner(Widget):
    DEFAULT_CSS = "Banner { height: 1; background: $panel; }"

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.running = ""          # what is running ("running", "training 3 of 50"), or ""
        self.alert = ""
        self.training = None       # a tui.training.Training when the program trains

    def update_state(self, running: str = "", alert: str = "") -> None:
        self.running, self.alert = running, alert
        self.refresh()

    def render(self) -> Text:
        s = self.session
        g = s.graph
        text = Text(no_wrap=True, overflow="ellipsis")
        name = (g.filename or "<-e>").rsplit("/", 1)[-1]
        text.append(f" {name} ", style="bold")
        shown = s.pass_at(s.t - 1) if 0 < s.t < s.total else s.pass_   # the step just taken
        t, total, training = s.t, s.total, self.training
        if training is not None:
            t, total = training.trainer.t, training.trainer.total
            if training.last_update is not None:      # an update was the step just taken
                shown = training.phase
            elif s.t == s.total:                      # the updates are next, not the end
                shown = s.pass_at(s.t - 1)
            text.append(f" #{training.step_number}", style="bold magenta")
        text.append(f" {shown.upper()} ", style=PASS_STYLES.get(shown, "bold reverse"))
        text.append(f" step {t} of {total}  ", style="bold")
        if training is not None:          # the rate the updates of this training step use
            tr = training.trainer
            text.append(f"{tr.optimizer.name} lr {format_number(tr.rate)}  ", style="magenta")
        update = training.last_update if training is not None else None
        if self.running:
            text.append(f" {self.running}… press Esc or c to stop ", style="bold reverse")
        elif update is not None:
            text.append("▶ ", style="bold")
            text.append(update.formula)
        elif s.current is not None:
            text.append("▶ ", style="bold")
            text.append(g.formula(g.nodes[s.current]))
        else:
            train = ", t to train" if training is not None else ""
            text.append(f"press s to step, c to continue{train}, ? for help", style="dim")
        if self.alert:
            text.append("  ")
            text.append(f" {self.alert} ", style="bold white on red")
        bar = max(0, min(30, self.size.width - text.cell_len - 3))
        if bar >= 6:
            done = round(bar * t / max(1, total))
            text.pad_right(self.size.width - text.cell_len - bar - 1)
            updating = training is not None and training.in_update
            text.append("━" * done, style="magenta" if updating else "green" if s.t <= s.n else "yellow")
            text.append("━" * (bar - done), style="dim")
        return text
