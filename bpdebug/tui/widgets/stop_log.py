"""Where each step or run stopped and why, and the output of typed commands."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from ...render import short_value
from ..colours import style


class StopLog(RichLog):
    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=2000, wrap=True, min_width=20, markup=False, highlight=False, **kwargs)

    def stop(self, session, reason: str = "", detail: str = "", alert: bool = False,
             position: tuple | None = None, update=None) -> None:
        """One line for a stop: the step, the node, its value or gradient, and why it stopped.
        `position` is status.position()'s (training counts its updates apart) and `update` the
        update just applied, in the update phase."""
        _, t, total = position or session.position()
        line = Text(f"[{t}/{total}] ", style="dim")
        i = session.current             # read directly: an event would recompute the step's VJPs
        if update is not None:
            line.append(f"{'update':<8} ", style=style("update"))
            line.append(f"{update.formula} = {short_value(update.new, 24)}")
        elif i is None:
            line.append("at the start")
        else:
            node, pass_ = session.graph.nodes[i], session.pass_at(session.t - 1)
            line.append(f"{pass_:<8} ", style=style(pass_))
            line.append(session.graph.formula(node))
            if pass_ != "forward" and node.needs_grad:
                line.append(f"  {session.grad_label(node.name)} = {short_value(session.grads[i], 24)}")
            elif node.inputs:
                line.append(f" = {short_value(session.values[i], 24)}")
        if reason:
            line.append(f"  {reason}", style="bold")
        if detail:
            line.append(f": {detail}", style=style("bad") if alert else "bold")
        self.write(line)

    def command(self, line: str, output: str, error: bool) -> None:
        self.write(Text(f": {line}", style=style("key")))
        if output:
            self.write(Text(output, style=style("error") if error else ""))
