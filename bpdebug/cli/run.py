"""`bpdebug run`: both passes, then a table of every node (or JSON)."""
from __future__ import annotations

import json
import sys

from . import BAD_INPUT, OK, add_program_arguments, given_values, load_session
from ._training import add_weight_arguments, check_save, save, session_params

TABLE_ROWS = 200  # drawing a Rich table costs ~0.4 ms a row: 20k rows would take 8 s

NAME = "run"
HELP = "run the forward and backward pass and print every node's value and gradient"


def configure(p) -> None:
    add_program_arguments(p)
    p.add_argument("--json", action="store_true", help="print the final state as JSON")
    p.add_argument("--break", dest="breaks", action="append", default=[], metavar="SPEC",
                   help="stop at a breakpoint, as the `break` command takes it (e.g. 'backward q', "
                        "'if isnan(value)'); repeatable")
    p.add_argument("--all", action="store_true",
                   help=f"list every node (by default a graph of more than {TABLE_ROWS} nodes shows "
                        "its first and last nodes and every non-finite one)")
    p.add_argument("--trace", metavar="OUT", help="record every step to the trace file OUT "
                   "(replay it with `bpdebug replay OUT`)")
    add_weight_arguments(p)


def main(args) -> int:
    from ..commands import describe_event, execute
    from ..report import finite, nonfinite_nodes, state_dict
    from ..trace import recording

    session = load_session(args)
    check_save(args, session)
    for spec in args.breaks:
        result = execute(session, f"break {spec}")
        if result.error:
            print(f"bpdebug: error: --break {spec}: {result.text}", file=sys.stderr)
            return BAD_INPUT
    with recording(session, args.trace, given_values(args)):
        stop = session.run()
    save(args, session_params(session), session.graph)
    if args.json:
        print(json.dumps(state_dict(session, stop)))
        return OK

    from rich.console import Console

    from ..render import node_table

    console = Console(highlight=False, soft_wrap=True)  # a line of text is one line, however long
    g = session.graph
    out = g.nodes[g.output]
    if stop.reason == "breakpoint":
        console.print(f"stopped at breakpoint {stop.breakpoint.id} ({stop.breakpoint.describe(g)})"
                      + (f": {stop.detail}" if stop.detail else ""), markup=False, style="yellow")
        console.print(describe_event(session, session.event()), markup=False)
    bad = nonfinite_nodes(g, session.values, session.grads)
    rows = None
    if len(g.nodes) > TABLE_ROWS and not args.all:
        half = TABLE_ROWS // 2
        # Nodes whose value went non-finite first: a nan gradient spreads to everything upstream.
        bad_rows = sorted((g.names[name] for name in bad),
                          key=lambda i: (finite(session.values[i]), i))
        marked = set(bad_rows[:half])
        rows = sorted(set(range(half)) | set(range(len(g.nodes) - half, len(g.nodes))) | marked)
    console.print(node_table(session, title=f"{g.filename or 'program'}: {len(g.nodes)} nodes, "
                                            f"output {out.name}", rows=rows))
    if rows is not None:
        console.print(f"{len(g.nodes) - len(rows)} nodes not listed: --all lists every node, "
                      "--json prints them all", style="dim", markup=False)
    if bad:
        shown = ", ".join(bad[:8]) + (f" and {len(bad) - 8} more" if len(bad) > 8 else "")
        console.print(f"non-finite values (nan or inf) at {len(bad)} node(s): {shown}",
                      style="bold red", markup=False)
    return OK
