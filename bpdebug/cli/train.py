"""`bpdebug train`: gradient descent (or mini-batch SGD) on a program's params."""
from __future__ import annotations

import argparse
import contextlib
import math
import sys

from . import OK, PROBLEM, add_program_arguments, load_session, set_values

NAME = "train"
HELP = "train a program's params by gradient descent, or SGD with --batch"


def configure(p) -> None:
    add_program_arguments(p, batch=False)   # its --batch: rows per step, and an ONNX model's batch
    p.add_argument("--steps", type=_positive(int), required=True, metavar="N", help="training steps to take")
    p.add_argument("--lr", type=_positive(float), required=True, metavar="LR", help="the learning rate")
    p.add_argument("--batch", type=_positive(int), metavar="B",
                   help="rows of data per step, drawn at random (default: all rows, plain gradient descent)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed for drawing mini-batches (default 0)")
    p.add_argument("--json", action="store_true", help='print {"steps", "losses", "params"} as JSON')
    p.add_argument("--save", metavar="OUT.npz", help="write the trained params to an .npz file (or, for an ONNX "
                   "model, OUT.onnx: a copy of the model with the trained initializers)")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a positive {'whole ' * (kind is int)}number, got '{text}'")
        return value
    return parse


def main(args) -> int:
    from ..lang import BpError
    from ..train import Trainer

    session = load_session(args)
    try:
        trainer = Trainer(session, args.lr, batch=args.batch, seed=args.seed, values=set_values(args))
    except BpError as err:
        raise err.located(None, session.graph.filename) from None
    console = None
    if not args.json:
        from rich.console import Console
        console = Console(highlight=False)
    finite = _train(trainer, args.steps, console)
    if args.save:
        _save(trainer, args.save)
    if args.json:
        import json

        from ..report import json_value
        print(json.dumps({"steps": trainer.steps_done,
                          "losses": [json_value(x) for x in trainer.losses],
                          "params": {k: json_value(v) for k, v in trainer.param_values().items()}}))
    else:
        _summary(console, trainer, args)
    if not finite:
        print(f"bpdebug: the loss became {trainer.losses[-1]} at step {trainer.steps_done}; "
              "training stopped (a smaller --lr may help)", file=sys.stderr)
        return PROBLEM
    return OK


def _train(trainer, steps: int, console) -> bool:
    """Take the steps, with a progress bar showing the loss if `console` is a terminal;
    False if the loss stopped being finite."""
    bar = _progress_bar(trainer, console) if console is not None and console.is_terminal else None
    with bar or contextlib.nullcontext():
        task = bar.add_task("train", total=steps, loss="…") if bar else None
        for _ in range(steps):
            trainer.finish_step()
            loss = trainer.losses[-1]
            if bar:
                bar.update(task, advance=1, loss=f"{loss:.6g}")
            if not math.isfinite(loss):
                return False
    return True


def _progress_bar(trainer, console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                    TextColumn(f"{trainer.loss_name} {{task.fields[loss]}}"), TimeRemainingColumn(),
                    console=console, transient=True)


def _save(trainer, path: str) -> None:
    import numpy as np

    from ..lang import BpError
    if path.lower().endswith(".onnx"):   # the trained initializers, back into a copy of the model
        origin = trainer.session.graph.origin
        if not hasattr(origin, "save"):
            raise BpError(f"--save {path} writes an ONNX model back, and this is not one; "
                          "save the params with --save OUT.npz")
        origin.save(path, trainer.param_values())
        return
    try:
        with open(path, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in trainer.param_values().items()})
    except OSError as err:
        raise BpError(f"cannot write {path}: {err.strerror or err}") from None


def _summary(console, trainer, args) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..render import value_text
    from ..train import plot_lines

    g = trainer.session.graph
    how = f"mini-batches of {trainer.batch} rows" if trainer.batch else (
        f"all {trainer.rows} rows" if trainer.data else "gradient descent")
    console.print(Text(f"{g.filename or 'program'}: {trainer.steps_done} steps, lr {trainer.lr:g}, {how}",
                       style="bold"))
    table = Table(header_style="bold")
    table.add_column("param", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in trainer.param_values().items():
        table.add_row(Text(name), Text(str(g.node(name).shape) if g.node(name).shape else "", style="dim"),
                      value_text(value))
    console.print(table)
    first, last = trainer.losses[0], trainer.losses[-1]
    console.print(Text(f"{trainer.loss_name}: {first:.6g} at step 1, {last:.6g} at step {trainer.steps_done}"))
    width = max(20, min(60, console.width - 32))
    console.print(Text("\n".join(plot_lines(trainer.losses, width=width, height=8)), style="cyan"))
    if args.save:
        console.print(Text(f"params saved to {args.save}", style="dim"))
