"""`bpdebug tui FILE` (also `bpdebug FILE`): step through backprop in a terminal UI."""
from __future__ import annotations

from . import OK, add_program_arguments, load_session

NAME = "tui"
HELP = "step through the forward and backward pass in a terminal UI (the default command)"


def configure(p) -> None:
    add_program_arguments(p)


def main(args) -> int:
    session = load_session(args)
    from ..tui.app import BpDebugApp

    app = BpDebugApp(session)
    app.run()
    return app.return_code or OK   # 1 when the app stopped on an error
