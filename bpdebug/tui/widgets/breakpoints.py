"""The session's breakpoints: number, on/off, where, condition and hits."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..colours import style
from ..status import hint_names


class BreakpointsPanel(Static):
    def __init__(self, session, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.session = session
        self._node, _ = hint_names(session.graph)     # once: it reads every node

    def show(self) -> None:
        s = self.session
        self.set_class(not s.breakpoints, "-empty")
        if not s.breakpoints:
            self.update(Text(f"none: press b on a node, or :break backward {self._node}", style="dim"))
            return
        text = Text()
        for k, b in enumerate(s.breakpoints):
            if k:
                text.append("\n")
            text.append(f"{b.id:>2} ", style="bold")
            text.append("● " if b.enabled else "○ ", style=style("breakpoint") if b.enabled else "dim")
            text.append(b.describe(s.graph), style="" if b.enabled else "dim")
            if b.temporary:
                text.append(" (once)", style="dim")
            if b.hits:
                text.append(f"  hits {b.hits}", style="dim")
        self.update(text)
