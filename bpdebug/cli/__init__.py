"""The `bpdebug` command: argument parsing and exit codes.

Each subcommand is a module in this package with NAME, HELP, configure(parser) and
main(args) -> exit code; they are found by listing the package, so adding a command touches
no other file. Modules import their heavy parts inside main(), so `bpdebug run` never loads
textual. Exit codes: 0 success, 1 ran and found a problem, 2 bad input or usage.
"""
from __future__ import annotations

import argparse
import importlib
import io
import os
import pkgutil
import sys

from ..lang import BpError
from ..numbers import whole

OK, PROBLEM, BAD_INPUT = 0, 1, 2
MAX_BATCH = 2 ** 20               # an ONNX model's symbolic batch dimension (--batch)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(BAD_INPUT)


def _commands() -> dict:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.NAME] = module
    return dict(sorted(found.items()))


def number_option(rule, *limits, **kw):
    """An argparse type from a rule of bpdebug.numbers: `--rtol` takes number_option(real, 0)."""
    def parse(text: str):
        try:
            return rule(text, *limits, **kw)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return parse


def add_program_arguments(parser: argparse.ArgumentParser, file_help="a .bp program or an ONNX model",
                          batch: bool = True) -> None:
    """FILE or -e EXPR, --set NAME=VALUE, --ops, the ONNX options and --max-elements, shared by
    every command that runs a program (`batch`: this command's --batch is the ONNX batch size too)."""
    parser.add_argument("file", nargs="?", help=file_help)
    parser.add_argument("-e", "--expr", metavar="PROGRAM", help="program text instead of FILE, e.g. 'f = (x + y) * z'")
    parser.add_argument("--set", dest="values", action="append", default=[], metavar="NAME=VALUE",
                        help="give a leaf a value (a number or a tensor such as [1, 2]); repeatable")
    parser.add_argument("--ops", action="append", default=[], metavar="FILE.py",
                        help="ops written in Python (@op from bpdebug) the program may call; repeatable")
    onnx = parser.add_argument_group("ONNX models (FILE.onnx)")
    onnx.add_argument("--inputs", metavar="FILE.npz", help="values of the model's inputs, by input name")
    onnx.add_argument("--model", metavar="FILE.onnx", help="the model a trace (FILE) was recorded from")
    onnx.add_argument("--loss", default="sum", metavar="SPEC",
                      help="the scalar the backward pass starts from: sum (default), mean, mse:TARGETS.npy, "
                           "softmax_cross_entropy:LABELS.npy (class indices or one-hot rows)")
    if batch:
        onnx.add_argument("--batch", type=number_option(whole, 1, MAX_BATCH), metavar="N",
                          help="the size of a symbolic batch dimension of random inputs (default 1)")
    add_size_limit(parser)


def add_size_limit(parser: argparse.ArgumentParser) -> None:
    """--max-elements, on every command that builds a program (a trace's too)."""
    from ..graph.arguments import MAX_ELEMENTS
    parser.add_argument("--max-elements", type=number_option(whole, 1, None), default=MAX_ELEMENTS, metavar="N",
                        help=f"the most elements a tensor may hold (default {MAX_ELEMENTS:,}); a program "
                             "asking for more is refused when it loads")


def set_values(args) -> dict:
    """The leaf values given with --set NAME=VALUE."""
    from ..commands import parse_value

    values = {}
    for item in args.values:
        name, eq, text = item.partition("=")
        if not eq or not name.strip():
            raise BpError(f"--set expects NAME=VALUE, got '{item}'")
        try:
            values[name.strip()] = parse_value(text)
        except BpError as err:
            raise BpError(f"--set {name.strip()}: {err.message}") from None
    return values


def load_session(args):
    """The Session for FILE or -e, with --set values applied, and the params saved in --load's
    file (a --set of the same name wins)."""
    values = set_values(args)
    if args.expr is not None and args.file is not None:
        raise BpError("give either FILE or -e PROGRAM, not both")
    if args.file is not None and args.file.lower().endswith(".onnx"):
        session = _load_model(args, values)
    else:
        session = _load_program(args, values)
    if getattr(args, "load", None):
        from ..train.weights import load_params
        load_params(session, args.load, skip=values)
    from ._outputs import refuse_overwriting_inputs
    refuse_overwriting_inputs(args, session)    # before anything is written
    return session


def _load_program(args, values: dict):
    import bpdebug

    if args.inputs is not None or args.loss != "sum":
        raise BpError(f"--{'inputs' if args.inputs is not None else 'loss'} is for ONNX models (FILE.onnx); "
                      "a program names its own loss and data")
    if args.model is not None:
        raise BpError("--model names the ONNX model a trace was recorded from; FILE is not a trace")
    ops = None
    if args.ops:   # the user's own Python, named on the command line: a program never loads any
        from ..imports.ops_files import load_ops_files
        ops = load_ops_files(args.ops)
    if args.expr is not None:
        return bpdebug.load(args.expr, "<-e>", values, ops)
    if args.file is None:
        raise BpError("no program: give a FILE or -e 'f = (x + y) * z'")
    return bpdebug.load_file(args.file, values, ops)


def _load_model(args, values: dict):
    from ..imports.onnx_data import load_arrays
    from ..imports.onnx_model import ModelOptions, load_model

    if args.ops:
        raise BpError("--ops adds functions to a .bp program; an ONNX model cannot call them")
    if args.model is not None:
        raise BpError("--model names the ONNX model a trace was recorded from; FILE is a model itself")
    batch = getattr(args, "batch", None)
    if batch is not None and not 1 <= batch <= MAX_BATCH:   # train's and script's --batch, read as rows
        raise BpError(f"--batch must be a whole number from 1 to {MAX_BATCH} for an ONNX model, got {batch}")
    inputs = load_arrays(args.inputs) if args.inputs is not None else {}
    return load_model(args.file, values, ModelOptions(inputs, batch, args.loss))


def given_values(args) -> dict:
    """The leaf values given from outside, for a trace's header: --load's params, then --set."""
    loaded = {}
    if getattr(args, "load", None):
        from ..train.weights import read_params
        loaded = read_params(args.load)
    return {**loaded, **set_values(args)}


def build_parser(commands: dict) -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="bpdebug", description="A step-through debugger for backpropagation.",
                     epilog="`bpdebug FILE` is short for `bpdebug tui FILE`.")
    parser.add_argument("--version", action="version", version=f"bpdebug {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in commands.items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(p)
    return parser


def _escape_what_cannot_be_encoded() -> None:
    """Print any text safely: argv that is not UTF-8 reaches Python as lone surrogates (`-c $'\\xff'`),
    which a strict stdout cannot encode. Both streams write them backslash-escaped (`\\udcff`),
    as Python's stderr already does, so no printer (transcript, table, JSON, errors) can crash on
    them and the terminal never gets bytes that are not UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _escape_what_cannot_be_encoded()
    commands = _commands()
    if argv and argv[0] not in commands and argv[0] not in ("-h", "--help", "--version") and "tui" in commands:
        argv.insert(0, "tui")  # `bpdebug FILE` and `bpdebug -e ...` open the TUI
    parser = build_parser(commands)
    if not argv:
        parser.print_help()
        return BAD_INPUT
    args = parser.parse_args(argv)
    from ..graph.arguments import MAX_ELEMENTS, elements_limited
    limit = getattr(args, "max_elements", MAX_ELEMENTS)
    try:
        with elements_limited(limit):
            return commands[args.command].main(args)
    except BpError as err:
        print(str(err), file=sys.stderr)
        return BAD_INPUT
    except MemoryError:
        print(f"bpdebug: error: out of memory with tensors of up to {limit:,} elements; "
              "a smaller --max-elements refuses such programs when they load", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return OK
    except Exception as err:  # a bug in bpdebug, not the user's fault: one line, and how to see more
        if os.environ.get("BPDEBUG_TRACEBACK"):
            raise
        print(f"bpdebug: internal error: {type(err).__name__}: {err}\n"
              "this is a bug in bpdebug; run with BPDEBUG_TRACEBACK=1 to see where", file=sys.stderr)
        return 3
