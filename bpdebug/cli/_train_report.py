"""What `bpdebug train` prints at the end: how it trained, the params, the loss curve with the
held-out loss on it, the held-out scores, and the model's outputs with --predict."""
from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text

from ..graph import format_value
from ..render import value_text
from ..train import plot_lines

PREDICTED_ROWS = 50      # rows --predict lists (--json has them all)


def summary(console, trainer, settings, saved: str | None, predictions) -> None:
    g = trainer.session.graph
    how = f"mini-batches of {trainer.batch} rows" if trainer.batch else (
        f"all {trainer.rows} rows" if trainer.data else "gradient descent")
    if trainer.evaluator is not None:
        how += f" ({len(trainer.evaluator.rows)} more held out)"
    schedule = trainer.schedule.describe()
    rate = f"lr {trainer.lr:g}" + ("" if schedule == "constant" else f" ({schedule} schedule)")
    console.print(Text(f"{g.filename or 'program'}: {trainer.steps_done} steps, {trainer.optimizer.describe()}, "
                       f"{rate}, {how}", style="bold"))
    table = Table(header_style="bold")
    table.add_column("param", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in trainer.param_values().items():
        table.add_row(Text(name), Text(str(g.node(name).shape) if g.node(name).shape else "", style="dim"),
                      value_text(value))
    console.print(table)
    name, first, last = trainer.loss_name, trainer.losses[0], trainer.losses[-1]
    console.print(Text(f"{name}: {first:.6g} at step 1, {last:.6g} at step {trainer.steps_done}"))
    width = max(20, min(60, console.width - 32))
    points = [(e.step, e.loss) for e in trainer.evaluations]
    console.print(Text("\n".join(plot_lines(trainer.losses, width=width, height=8, points=points)), style="cyan"))
    if points:
        console.print(Text(f"{name} on the training rows, {'•'} on the held-out rows", style="dim"))
        console.print(_held_out(trainer))
    if predictions is not None:
        console.print(_predictions(trainer, *predictions))
    if saved:
        console.print(Text(f"params saved to {saved}", style="dim"))


def _held_out(trainer) -> Text:
    last = trainer.evaluations[-1]
    text = f"held out ({len(trainer.evaluator.rows)} rows), at step {last.step}: {trainer.loss_name} {last.loss:.6g}"
    if last.metric is not None:
        best = max(trainer.evaluations, key=lambda e: e.metric)
        text += f", {trainer.metric} {last.metric:.2%} (best {best.metric:.2%} at step {best.step})"
    return Text(text, style="bold")


def _predictions(trainer, rows, outputs, targets) -> Table:
    name = trainer.prediction
    which = "each held-out row" if trainer.evaluator is not None else "each row"
    outputs = np.asarray(outputs)
    if outputs.ndim == 2 and outputs.shape[1] == 1:       # one number a row: shown as a number
        outputs = outputs[:, 0]
        targets = None if targets is None else np.asarray(targets).reshape(len(outputs))
    count = len(outputs) if np.ndim(outputs) else 1
    classes = np.ndim(outputs) == 2 and outputs.shape[1] > 1
    shown = min(count, PREDICTED_ROWS)
    table = Table(title=f"{name} for {which}" + (f" (the first {shown} of {count}; --json has all)"
                                               if shown < count else ""),
                  header_style="bold", title_justify="left")
    table.add_column("row", justify="right")
    if classes:            # the class first: the scores are a long row
        table.add_column("class", justify="right")
    if targets is not None:
        table.add_column(trainer.target, justify="right" if classes else "left", overflow="fold")
    table.add_column(name, overflow="fold")
    for k in range(shown):
        out = outputs[k] if np.ndim(outputs) else outputs
        cells = [str(rows[k]) if rows is not None else ""]
        if classes:
            cells.append(str(int(np.argmax(out))))
        if targets is not None:
            target = np.asarray(targets)[k]
            cells.append(str(int(np.argmax(target))) if classes and np.shape(target) == np.shape(out)
                         else format_value(target, 10))
        cells.append(format_value(out, 10))
        table.add_row(*cells)
    return table
