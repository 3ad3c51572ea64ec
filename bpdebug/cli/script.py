"""`bpdebug script`: run debugger commands headless and print a transcript."""
from __future__ import annotations

import sys

from . import BAD_INPUT, OK, add_program_arguments, given_values
from ..files import MAX_TEXT_BYTES, read_limited
from ..lang import BpError, strip_comment
from ._training import add_training_arguments, add_weight_arguments, check_save, save, session_params, trainer_for

NAME = "script"
HELP = "run debugger commands headless and print a transcript (each command, then its result)"


def configure(p) -> None:
    add_program_arguments(p, file_help="a .bp program, an ONNX model, or a trace to run the commands over",
                          batch=False)   # its --batch, rows per step, is an ONNX model's batch too
    p.add_argument("--commands", metavar="CMDS", help="a file of commands, one a line ('-' for standard input)")
    p.add_argument("-c", dest="inline", action="append", default=[], metavar="CMD",
                   help="a command; repeatable, run after those of --commands")
    p.add_argument("--trace", metavar="OUT", help="record every step to the trace file OUT "
                   "(replay it with `bpdebug replay OUT`)")
    add_weight_arguments(p)
    add_training_arguments(p)


def read_commands(args) -> list[tuple[str, str]]:
    """[(where, command)] where `where` names the file and line, or the -c option."""
    lines = []
    if args.commands:
        source = "<stdin>" if args.commands == "-" else args.commands
        try:
            raw = read_limited(args.commands, MAX_TEXT_BYTES, f"command file {source}")
        except OSError as err:
            raise BpError(f"cannot read commands from {source}: {err.strerror or err}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise BpError(f"cannot read commands from {source}: byte {err.start} is not UTF-8") from None
        for k, line in enumerate(text.splitlines(), 1):
            for part in strip_comment(line).split(";;"):  # pdb's separator for several commands on a line
                if part.strip():
                    lines.append((f"{source}:{k}", part.strip()))
    lines.extend((f"-c #{k}", c) for k, c in enumerate(args.inline, 1))
    if not lines:
        raise BpError("no commands: give --commands FILE or -c CMD")
    return lines


def main(args) -> int:
    from ..trace import recording
    from .replay import session_for

    session = session_for(args)
    check_save(args, session)
    commands = read_commands(args)
    # A program with params trains: `step` goes on into the update phase, `train N` runs steps.
    trainer = trainer_for(session, args)
    if trainer is not None:
        from ..train.commands import execute
        session, run = trainer.session, lambda line: execute(trainer, line)
    else:
        from ..commands import execute
        run = lambda line: execute(session, line)  # noqa: E731
    with recording(session, args.trace, given_values(args)):
        for where, command in commands:
            print(f"(bpdebug) {command}")
            result = run(command)
            if result.text:
                print(result.text)
            if result.error:
                print(f"{where}: error: {result.text}", file=sys.stderr)
                return BAD_INPUT
            if result.quit:                # the commands after it are not run
                break
    save(args, trainer.param_values() if trainer is not None else session_params(session), session.graph)
    return OK
