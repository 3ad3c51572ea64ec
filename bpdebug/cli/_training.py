"""The command-line side of training, shared by `train`, `tui` and `script`: the training
flags (each overriding the program's own `train` statement), and `--load`/`--save` of params
(also on `run` and `check`)."""
from __future__ import annotations

import argparse

from ..lang import BpError


def add_weight_arguments(p) -> None:
    p.add_argument("--load", metavar="IN.npz", help="give the params the values saved in IN.npz "
                   "(by --save): train on, or step through a trained model")
    p.add_argument("--save", metavar="OUT.npz", help="write the params to OUT.npz at the end (for an ONNX model, "
                   "OUT.onnx: a copy of the model with them as its initializers)")


def _setting(name: str):
    def parse(text: str):
        from ..train.settings import CONVERT
        try:
            return CONVERT[name](text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return parse


# (flag, setting, metavar, help); a flag not given leaves the program's setting or the default
FLAGS = [
    ("--lr", "lr", "LR", "the learning rate (default: the program's `train lr=`, else 0.1, or 0.001 for adam)"),
    ("--optimizer", "optimizer", "NAME", "sgd (default), momentum or adam"),
    ("--momentum", "momentum", "MU", "momentum's coefficient, from 0 to below 1 (default 0.9)"),
    ("--beta1", "beta1", "B1", "Adam's decay of the gradient's mean (default 0.9)"),
    ("--beta2", "beta2", "B2", "Adam's decay of the squared gradient's mean (default 0.999)"),
    ("--eps", "eps", "EPS", "Adam's epsilon (default 1e-8)"),
    ("--weight-decay", "weight_decay", "WD", "L2 weight decay, added to the gradient as wd * param (default 0)"),
    ("--schedule", "schedule", "NAME", "the rate's schedule: constant (default), linear, cosine or step:EVERY:FACTOR"),
    ("--lr-end", "lr_end", "LR", "where linear and cosine schedules go (default 0)"),
    ("--steps", "steps", "N", "training steps to take"),
    ("--batch", "batch", "B", "rows of data per step, drawn at random (default: every row)"),
    ("--seed", "seed", "S", "seed for drawing batches and held-out rows (default 0)"),
    ("--val", "val", "FRACTION", "hold out this share of the rows and report the loss on them"),
    ("--eval-every", "eval_every", "N", "measure the held-out rows every N steps (default: each epoch)"),
    ("--metric", "metric", "NAME", "also measure accuracy on the held-out rows"),
]


def add_training_arguments(p) -> None:
    group = p.add_argument_group("training (for a program with params; each flag overrides the "
                                 "program's `train` statement)")
    for flag, name, metavar, text in FLAGS:
        group.add_argument(flag, dest=name, type=_setting(name), metavar=metavar, help=text)
        if name == "momentum":
            group.add_argument("--nesterov", action="store_const", const=True, default=None,
                               help="Nesterov's momentum (with --optimizer momentum)")


def settings_for(args, graph):
    """The training settings: defaults, then the program's `train` statement, then the flags."""
    from ..train.program import program_training
    from ..train.settings import NAMES, Settings

    given = {name: getattr(args, name) for name in NAMES if getattr(args, name, None) is not None}
    return Settings().updated(program_training(graph).given).updated(given).checked()


def trainer_for(session, args):
    """A Trainer to step through, for a live program with params, else None (a replay of a
    trace only shows what was recorded)."""
    from ..trace import ReplaySession
    from ..train import Trainer

    given = [flag for flag, name, *_ in FLAGS if getattr(args, name, None) is not None]
    if isinstance(session, ReplaySession):
        if given:
            raise BpError(f"{args.file} is a recording, which does not train: {given[0]} does nothing")
        return None
    if not any(n.kind == "param" for n in session.graph.nodes):
        if given:
            raise BpError(f"nothing to train: the program has no param, so {given[0]} does nothing")
        return None
    try:
        # every gradient, as without training: the debugger shows them all
        return Trainer.from_settings(session, settings_for(args, session.graph), all_gradients=True)
    except BpError as err:
        raise err.located(None, session.graph.filename) from None


def check_save(args, session) -> None:
    """--save needs params to write (and OUT.onnx an ONNX model): say so before any work is done."""
    path = getattr(args, "save", None)
    if path and not any(n.kind == "param" for n in session.graph.nodes):
        raise BpError(f"--save {path}: the program has no param to save")
    if path and path.lower().endswith(".onnx") and not hasattr(session.graph.origin, "save"):
        raise BpError(f"--save {path} writes an ONNX model back, and this is not one; "
                      "save the params with --save OUT.npz")


def save(args, params: dict, graph) -> None:
    """--save OUT.npz: the params by name; OUT.onnx, for an ONNX model: a copy of the model with
    them as its initializers, so the trained model goes back where it came from."""
    if not getattr(args, "save", None):
        return
    if args.save.lower().endswith(".onnx"):
        graph.origin.save(args.save, params)
        return
    from ..train.weights import save_params
    save_params(params, args.save)


def session_params(session) -> dict:
    return {n.name: n.value for n in session.graph.nodes if n.kind == "param"}
