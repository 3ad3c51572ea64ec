"""`bpdebug tui FILE` (also `bpdebug FILE`): step through backprop in a terminal UI."""
from __future__ import annotations

from . import OK, add_program_arguments, given_values
from ._training import add_training_arguments, add_weight_arguments, check_save, save, session_params, trainer_for

NAME = "tui"
HELP = "step through the forward and backward pass in a terminal UI (the default command)"


def configure(p) -> None:
    add_program_arguments(p, file_help="a .bp program, an ONNX model, or a trace to replay", batch=False)
    p.add_argument("--trace", metavar="OUT", help="record every step taken to the trace file OUT")
    p.add_argument("--theme", metavar="NAME", help="a Textual theme, e.g. textual-light, solarized-light, "
                   "nord (default textual-dark; Ctrl+P, 'Change theme' switches while it runs)")
    add_weight_arguments(p)
    add_training_arguments(p)


def main(args) -> int:
    from .replay import session_for

    theme = _theme(args.theme)
    session = session_for(args)
    check_save(args, session)
    trainer = trainer_for(session, args)
    if trainer is not None:
        session = trainer.session          # a new one when built for mini-batches
    from ..trace import recording
    from ..tui.app import BpDebugApp

    app = BpDebugApp(session, trainer=trainer)
    if theme is not None:
        app.theme = theme
    with recording(session, args.trace, given_values(args)):
        app.run()
    save(args, trainer.param_values() if trainer is not None else session_params(session), session.graph)
    return app.return_code or OK   # 1 when the app stopped on an error


def _theme(name):
    """The theme asked for, checked before anything loads (exit 2 for an unknown one)."""
    if name is None:
        return None
    from textual.theme import BUILTIN_THEMES

    from ..lang import BpError, did_you_mean

    if name not in BUILTIN_THEMES:
        raise BpError(f"no theme named '{name}'", hint=did_you_mean(name, BUILTIN_THEMES)
                      or "themes: " + ", ".join(sorted(BUILTIN_THEMES)))
    return name
