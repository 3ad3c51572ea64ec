"""One line across the top: the program, the pass, step k of N, the current node, a progress
bar; while `continue` runs, how far it has got and how to stop it; alerts in red."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

PASS_STYLES = {"forward": "bold black on green", "backward": "bold black on yellow",
               "done": "bold black on cyan"}


class Banner(Widget):
    DEFAULT_CSS = "Banner { height: 1; background: $panel; }"

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.running = False
        self.alert = ""

    def update_state(self, running: bool = False, alert: str = "") -> None:
        self.running, self.alert = running, alert
        self.refresh()

    def render(self) -> Text:
        s = self.session
        g = s.graph
        text = Text(no_wrap=True, overflow="ellipsis")
        name = (g.filename or "<-e>").rsplit("/", 1)[-1]
        text.append(f" {name} ", style="bold")
        shown = s.pass_at(s.t - 1) if 0 < s.t < s.total else s.pass_   # the step just taken
        text.append(f" {shown.upper()} ", style=PASS_STYLES.get(shown, "bold reverse"))
        text.append(f" step {s.t} of {s.total}  ", style="bold")
        if self.running:
            text.append(" running… press Esc or c to stop ", style="bold reverse")
        elif s.current is not None:
            text.append("▶ ", style="bold")
            text.append(g.formula(g.nodes[s.current]))
        else:
            text.append("press s to step, c to continue, ? for help", style="dim")
        if self.alert:
            text.append("  ")
            text.append(f" {self.alert} ", style="bold white on red")
        bar = max(0, min(30, self.size.width - text.cell_len - 3))
        if bar >= 6:
            done = round(bar * s.t / max(1, s.total))
            text.pad_right(self.size.width - text.cell_len - bar - 1)
            text.append("━" * done, style="green" if s.t <= s.n else "yellow")
            text.append("━" * (bar - done), style="dim")
        return text
