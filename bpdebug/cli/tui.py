"""`bpdebug tui FILE` (also `bpdebug FILE`): step through backprop in a terminal UI."""
from __future__ import annotations

from . import OK, add_program_arguments, set_values

NAME = "tui"
HELP = "step through the forward and backward pass in a terminal UI (the default command)"


def configure(p) -> None:
    add_program_arguments(p, file_help="a .bp program, or a trace to replay")
    p.add_argument("--trace", metavar="OUT", help="record every step taken to the trace file OUT")


def main(args) -> int:
    from .replay import session_for

    session = session_for(args)
    from ..trace import recording
    from ..tui.app import BpDebugApp

    app = BpDebugApp(session)
    with recording(session, args.trace, set_values(args)):
        app.run()
    return app.return_code or OK   # 1 when the app stopped on an error
