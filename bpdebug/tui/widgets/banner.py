"""One line across the top: the program, the pass, step k of N, the current node, a progress
bar; while `continue` runs, how far it has got and how to stop it; alerts in red. A program
that trains shows the update phase (UPDATE) after the backward pass, counting its updates apart
(`update 2 of 4`): the passes keep the step count `script` and `run --break` show. It shows
the optimizer and learning rate its updates use too."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ...graph import format_number
from ..colours import style
from ..status import count_text, position


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
        training = self.training
        if training is not None:
            if training.last_update is not None:      # an update was the step just taken
                shown = training.phase
            elif s.t == s.total:                      # the updates are next, not the end
                shown = s.pass_at(s.t - 1)
            text.append(f" #{training.step_number}", style=style("bold update"))
        text.append(f" {shown.upper()} ", style=style(f"pass-{shown}"))
        what, t, total = position(s, training)
        text.append(f" {count_text((what, t, total))}  ", style="bold")
        now = self._now(training)
        if training is not None:          # the rate the updates of this training step use
            tr = training.trainer
            rate = f"{tr.optimizer.name} lr {format_number(tr.rate)}  "
            if text.cell_len + len(rate) + now.cell_len > self.size.width:
                rate = rate.partition(" ")[2]        # `lr 0.1`: the formula keeps its room
            text.append(rate, style=style("update"))
        text.append_text(now)
        if self.alert:
            text.append("  ")
            text.append(f" {self.alert} ", style=style("bad"))
        bar = max(0, min(30, self.size.width - text.cell_len - 3))
        if bar >= 6:
            done = round(bar * t / max(1, total))
            text.pad_right(self.size.width - text.cell_len - bar - 1)
            role = "update" if what == "update" else "forward" if s.t <= s.n else "backward"
            text.append("━" * done, style=style(role))
            text.append("━" * (bar - done), style="dim")
        return text

    def _now(self, training) -> Text:
        """What is happening: the run in progress, the update or node just stepped (its
        formula), or how to begin."""
        s, g = self.session, self.session.graph
        update = training.last_update if training is not None else None
        text = Text()
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
        return text
