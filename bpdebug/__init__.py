"""bpdebug: a step-through debugger for backpropagation."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .collector import collector_paused
from .lang import BpError

if TYPE_CHECKING:
    from .engine import Session

__version__ = "0.1.0"
__all__ = ["BpError", "Session", "load", "load_file", "op", "__version__"]


def load(text: str, filename: str | None = None, values: dict | None = None, ops=None):
    """Parse a program and return a Session positioned before the first forward step.

    `values` gives leaves values from outside: it overrides a leaf's value in the program, or
    defines a leaf the program uses without defining (`f = x * y` with values x and y).
    `ops` adds functions written in Python: ops made with `@op`, a module holding them, or a
    list of either."""
    from .engine import Session

    table = None
    if ops is not None:
        from .imports.python_ops import ops_table
        table = ops_table(ops)
    with collector_paused():   # the syntax tree, freed inside, is not there for it to walk after
        graph = _graph(text, filename, values, table)
    graph.origin = _Program(text, filename, ops)
    return Session(graph)


def _graph(text: str, filename: str | None, values: dict | None, table):
    from .graph import build
    from .lang import parse_program
    from .train.program import read_program

    program = parse_program(text, filename)
    base = Path(filename).resolve().parent if filename else Path.cwd()
    try:
        graph = build(program, base, values, table)
        # What the program says about its training (`train lr=2`, the loss's prediction),
        # read here where the syntax tree is at hand (bpdebug.train.program_training reads it).
        graph.training = read_program(program, graph.nodes[graph.output].name)
    except BpError as err:
        raise err.located(text, filename)
    return graph


class _Program:
    """Where a graph came from, to build it again with other leaf values (a mini-batch)."""

    def __init__(self, text: str, filename: str | None, ops):
        self.text, self.filename, self.ops = text, filename, ops

    def load(self, values: dict):
        return load(self.text, self.filename, values, self.ops)

    def trace_fields(self) -> dict:
        if self.ops is None:
            return {}
        from .imports.python_ops import ops_table
        return {"ops": sorted(ops_table(self.ops))}


def load_file(path, values: dict | None = None, ops=None) -> "Session":
    from .files import MAX_TEXT_BYTES, read_limited

    try:
        data = read_limited(path, MAX_TEXT_BYTES, f"program {path}")
    except OSError as err:
        raise BpError(f"cannot read {path}: {err.strerror or err}", filename=str(path)) from None
    except BpError as err:
        raise BpError(err.message, filename=str(path)) from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark some editors write is not text
    except UnicodeDecodeError as err:
        raise BpError(f"this is not a text file (byte {err.start} is not UTF-8); a bpdebug program "
                      "is plain text", filename=str(path)) from None
    return load(text, str(path), values, ops)


def __getattr__(name):
    if name == "Session":
        from .engine import Session
        return Session
    if name == "op":
        from .imports.python_ops import op
        return op
    raise AttributeError(name)
