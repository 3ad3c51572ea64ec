"""`bpdebug diff A B`: where two recorded runs start to disagree."""
from __future__ import annotations

import json

from . import OK, PROBLEM, number_option
from ..numbers import real
from .replay import add_rebuilding

NAME = "diff"
HELP = ("compare two traces step by step, nodes aligned by name: exit 0 when they agree, 1 at the "
        "first divergence (step, pass, node, field, both values) and the count of steps that differ")


def configure(p) -> None:
    p.add_argument("a", metavar="A", help="a trace")
    p.add_argument("b", metavar="B", help="the trace to compare it with")
    p.add_argument("--json", action="store_true",
                   help='print {"same", "first_divergence": {"step", "pass", "node", "field", "a", "b"}, '
                        '"differences"}')
    p.add_argument("--rtol", type=number_option(real, 0), default=1e-9, metavar="R",
                   help="relative tolerance (default 1e-9)")
    p.add_argument("--atol", type=number_option(real, 0), default=1e-12, metavar="A",
                   help="absolute tolerance (default 1e-12); values agree when |a - b| <= atol + rtol*|b|")
    add_rebuilding(p)      # both traces recorded from the same Python ops or ONNX model; --max-elements


def main(args) -> int:
    from ..graph import format_value
    from ..report import json_value
    from ..trace.diff import compare
    from .replay import open_replay

    result = compare(open_replay(args.a, args.ops, args.model), open_replay(args.b, args.ops, args.model),
                     args.rtol, args.atol)
    first = result.first
    if args.json:
        where = None
        if first is not None:
            where = {"step": first.step, "pass": first.pass_, "node": first.node, "field": first.field,
                     "a": _plain(first.a, json_value), "b": _plain(first.b, json_value)}
        print(json.dumps({"same": result.same, "first_divergence": where,
                          "differences": result.differences}))
        return OK if result.same else PROBLEM
    if result.same:
        print(f"the traces agree: {result.steps} steps (rtol {args.rtol:g}, atol {args.atol:g})")
        return OK
    print(f"the traces differ at {result.differences} of {result.steps} steps; the first:")
    print(f"  step {first.step} ({first.pass_} {first.node}), {first.field}")
    print(f"    A: {_plain(first.a, format_value)}")
    print(f"    B: {_plain(first.b, format_value)}")
    return PROBLEM


def _plain(x, show):
    """A value through `show`; a name or a list of names as it is."""
    if isinstance(x, str) or (isinstance(x, list) and all(isinstance(v, str) for v in x)):
        return x
    return show(x)
