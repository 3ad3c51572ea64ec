"""`bpdebug train`: train a program's params (an optimizer, a schedule, held-out rows)."""
from __future__ import annotations

import contextlib
import sys

from . import OK, PROBLEM, add_program_arguments, load_session
from ._training import add_training_arguments, add_weight_arguments, check_save, save, settings_for

NAME = "train"
HELP = "train a program's params: SGD, momentum or Adam, on all rows or mini-batches"


def configure(p) -> None:
    add_program_arguments(p, batch=False)   # its --batch, rows per step, is an ONNX model's batch too
    add_training_arguments(p)
    p.add_argument("--predict", action="store_true",
                   help="print the model's outputs for the held-out rows (every row without --val) at the end")
    p.add_argument("--json", action="store_true",
                   help='print {"steps", "losses", "lrs", "params", "val_losses", "val_metric", ...} as JSON')
    add_weight_arguments(p)


def main(args) -> int:
    from ..lang import BpError
    from ..train import Trainer

    session = load_session(args)
    check_save(args, session)
    try:
        settings = settings_for(args, session.graph)
        if settings.steps is None:
            raise BpError("how many steps? give --steps N, or `train steps=N` in the program")
        trainer = Trainer.from_settings(session, settings)
        predictions = trainer.predictions() if args.predict else None   # checks it can, before training
    except BpError as err:
        raise err.located(None, session.graph.filename) from None
    console = None
    if not args.json:
        from rich.console import Console
        console = Console(highlight=False, soft_wrap=True)  # a line of text is one line, however long
    _train(trainer, settings.steps, console)
    if not trainer.diverged:
        trainer.evaluate()          # the held-out rows with the final params
        if args.predict:
            predictions = trainer.predictions()
    save(args, trainer.param_values(), trainer.session.graph)
    warnings = [] if trainer.diverged else trainer.saturation_warnings()
    if args.json:
        _json(trainer, predictions if args.predict else None, warnings)
    else:
        from ._train_report import summary
        summary(console, trainer, settings, args.save, predictions if args.predict else None)
    for warning in warnings:
        print(f"bpdebug: warning: {warning}", file=sys.stderr)
    if trainer.diverged:
        print(f"bpdebug: {trainer.diverged.message()}", file=sys.stderr)
        return PROBLEM
    return OK


def _train(trainer, steps: int, console) -> None:
    """Take the steps (fewer if training diverges), with a progress bar showing the loss (and
    the held-out score) if `console` is a terminal."""
    bar = _progress_bar(trainer, console) if console is not None and console.is_terminal else None
    with bar or contextlib.nullcontext():
        task = bar.add_task("train", total=steps, loss="…", held="") if bar else None
        for _ in range(steps):
            trainer.finish_step()
            if bar:
                bar.update(task, advance=1, loss=f"{trainer.losses[-1]:.6g}", held=_held_out(trainer))
            if trainer.diverged:
                return


def _held_out(trainer) -> str:
    if not trainer.evaluations:
        return ""
    e = trainer.evaluations[-1]
    metric = f", {trainer.metric} {e.metric:.1%}" if e.metric is not None else ""
    return f"  held out: {trainer.loss_name} {e.loss:.4g}{metric}"


def _progress_bar(trainer, console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                    TextColumn(f"{trainer.loss_name} {{task.fields[loss]}}{{task.fields[held]}}"),
                    TimeRemainingColumn(), console=console, transient=True)


def _json(trainer, predictions, warnings: list) -> None:
    import json

    from ..report import json_value
    out = {"steps": trainer.steps_done,
           "losses": [json_value(x) for x in trainer.losses],
           "lrs": trainer.rates,
           "params": {k: json_value(v) for k, v in trainer.param_values().items()}}
    if trainer.evaluator is not None:
        out["val_rows"] = len(trainer.evaluator.rows)
        out["val_steps"] = [e.step for e in trainer.evaluations]
        out["val_losses"] = [json_value(e.loss) for e in trainer.evaluations]
        if trainer.metric is not None:
            out["metric"] = trainer.metric
            out["val_metric"] = [json_value(e.metric) for e in trainer.evaluations]
    if predictions is not None:
        rows, outputs, targets = predictions
        out["predictions"] = {"rows": None if rows is None else [int(r) for r in rows],
                              "outputs": json_value(outputs), "targets": json_value(targets)}
    out["diverged"] = trainer.diverged.as_dict() if trainer.diverged else None
    out["warnings"] = warnings
    print(json.dumps(out))
