"""`bpdebug tui FILE` (also `bpdebug FILE`): step through backprop in a terminal UI."""
from __future__ import annotations

from . import OK, add_program_arguments, set_values

NAME = "tui"
HELP = "step through the forward and backward pass in a terminal UI (the default command)"


def configure(p) -> None:
    add_program_arguments(p, file_help="a .bp program, an ONNX model, or a trace to replay", batch=False)
    p.add_argument("--trace", metavar="OUT", help="record every step taken to the trace file OUT")
    p.add_argument("--lr", type=float, default=0.1, metavar="LR",
                   help="learning rate of the update phase, for a program with params (default 0.1)")
    p.add_argument("--batch", type=int, metavar="B", help="rows of data per training step, drawn at random")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed for drawing mini-batches (default 0)")


def main(args) -> int:
    from .replay import session_for

    session = session_for(args)
    trainer = _trainer(session, args)
    if trainer is not None:
        session = trainer.session          # a new one when built for mini-batches
    from ..trace import recording
    from ..tui.app import BpDebugApp

    app = BpDebugApp(session, trainer=trainer)
    with recording(session, args.trace, set_values(args)):
        app.run()
    return app.return_code or OK   # 1 when the app stopped on an error


def _trainer(session, args):
    """A Trainer for a live program with params (or one asked for with --batch), else None."""
    from ..lang import BpError
    from ..trace import ReplaySession
    from ..train import Trainer

    has_params = any(node.kind == "param" for node in session.graph.nodes)
    if isinstance(session, ReplaySession) or not (has_params or args.batch is not None):
        return None
    try:
        # every gradient, as without training: the TUI shows them all
        return Trainer(session, args.lr, batch=args.batch, seed=args.seed, values=set_values(args),
                       all_gradients=True)
    except BpError as err:
        raise err.located(None, session.graph.filename) from None
