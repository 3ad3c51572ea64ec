"""Watch expressions and their values at the current position."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...render import value_text
from ..colours import style, styles
from ..status import hint_names


class WatchesPanel(Static):
    def __init__(self, session, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.session = session
        _, self._leaf = hint_names(session.graph)     # once: it reads every node

    def show(self) -> None:
        values = self.session.watch_values()
        self.set_class(not values, "-empty")
        if not values:
            self.update(Text(f"none: :watch grad({self._leaf}), :watch norm(grad)", style="dim"))
            return
        text = Text()
        for k, (expr, value) in enumerate(values, 1):
            if k > 1:
                text.append("\n")
            text.append(f"{k} ", style="bold")
            text.append(f"{expr} = ")
            text.append_text(Text(value, style=style("error")) if isinstance(value, str)
                             else value_text(value, colours=styles()))
        self.update(text)
