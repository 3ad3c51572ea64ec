"""The loss after each finished training step, drawn in braille (bpdebug.train.plot_lines) to
fit the panel; the latest loss in its title. Redrawn when shown new losses and when resized."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ...train import plot_lines
from ..colours import style


class LossCurve(Widget):
    def __init__(self, trainer, **kwargs) -> None:
        super().__init__(**kwargs)
        self.trainer = trainer
        self._shown = -1

    def show(self) -> None:
        """Redraw if the list of losses grew or shrank since last time."""
        losses = self.trainer.losses
        if len(losses) == self._shown:
            return
        self._shown = len(losses)
        name = self.trainer.loss_name
        if not losses:
            self.border_title = f"loss {name}"
        else:   # said here too: a short panel has no room for the plot's own last line
            log = ", log scale" if plot_lines(losses, 1, 1)[-1].endswith("(log scale)") else ""
            self.border_title = f"loss {name} = {losses[-1]:.4g} (step {len(losses)}{log})"
        self.refresh()

    def render(self) -> Text:
        losses = self.trainer.losses
        width, height = self.size.width, self.size.height
        if not losses:
            return Text("no training step finished yet: t runs one, T several", style="dim")
        # The plot's own lines: `height` rows of dots, then an axis and the step numbers; a
        # short panel keeps the rows, labelled with the largest and smallest loss.
        rows = max(1, height - 2) if height >= 5 else max(1, height)
        lines = plot_lines(losses, width=max(4, width - 12), height=rows)
        excess = max(len(line) for line in lines[:rows]) - width
        if excess > 0:
            lines = plot_lines(losses, width=max(2, width - 12 - excess), height=rows)
        return Text("\n".join(lines[:height]), style=style("plot"), no_wrap=True, overflow="crop")
