"""`bpdebug replay TRACE`: a recorded run, in the TUI, as JSON, or as a transcript."""
from __future__ import annotations

import json
import sys

from . import OK, PROBLEM, add_size_limit
from ..lang import BpError

NAME = "replay"
HELP = ("replay a trace (recorded with --trace) without recomputing: in the TUI, or print its "
        "final state (--json) or a step-by-step transcript (--print)")


def configure(p) -> None:
    p.add_argument("trace", metavar="TRACE", help="a trace file")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true",
                       help="print the state at the end of the recording, as `run --json` does")
    shown.add_argument("--print", dest="transcript", action="store_true",
                       help="print every step, as stepping through it in `script` would")
    add_rebuilding(p)


def add_rebuilding(p) -> None:
    """--ops and --model: what a trace of a program calling Python ops, or of a model, needs."""
    p.add_argument("--ops", action="append", default=[], metavar="FILE.py",
                   help="the ops written in Python a recorded program calls (a trace never runs Python by itself)")
    p.add_argument("--model", metavar="FILE.onnx", help="the ONNX model the trace was recorded from")
    add_size_limit(p)


def open_replay(path, ops_files=(), model: str | None = None):
    """The ReplaySession for `path`, saying on stderr when the file was cut off; `ops_files`
    (--ops) and `model` (--model): what a recording of a program calling ops written in Python,
    or of an ONNX model, was made with."""
    from ..trace import open_trace

    ops = None
    if ops_files:
        from ..imports.ops_files import load_ops_files
        ops = load_ops_files(ops_files)
    session = open_trace(path, ops=ops, model=model)
    if session.trace.warning:
        print(f"bpdebug: warning: {session.trace.warning}", file=sys.stderr)
    elif session.recorded < session.total:
        print(f"bpdebug: note: {path} holds {session.recorded} of the program's {session.total} steps",
              file=sys.stderr)
    return session


def session_for(args):
    """The Session for FILE of `script` or `tui`: a replay if FILE is a trace."""
    from . import load_session
    from ..trace import is_trace

    if args.file is None or args.expr is not None or not is_trace(args.file):
        return load_session(args)
    for flag, given in (("--set", args.values), ("--load", getattr(args, "load", None))):
        if given:
            raise BpError(f"{args.file} is a recording: {flag} cannot change it",
                          hint=f"record the program again with {flag}")
    if getattr(args, "trace", None):
        raise BpError(f"{args.file} is already a recording: --trace records a live run")
    return open_replay(args.file, args.ops, args.model)


def main(args) -> int:
    from ..commands import execute
    from ..report import state_dict

    session = open_replay(args.trace, args.ops, args.model)
    status = PROBLEM if session.trace.warning else OK
    if args.json:
        session.goto(session.recorded)
        print(json.dumps(state_dict(session)))
        return status
    if args.transcript:
        while session.t < session.recorded:
            print(execute(session, "step").text)
        return status
    from ..tui.app import BpDebugApp

    app = BpDebugApp(session)
    app.run()
    return app.return_code or status
