"""`bpdebug check`: every node's backward rule against central differences of that node, the
first wrong node and what it spoils, where nan/inf is born, and gradient health."""
from __future__ import annotations

import json
import math

from . import OK, PROBLEM, add_program_arguments, load_session, number_option
from ..numbers import real
from ._training import add_weight_arguments, check_save, save, session_params

NAME = "check"
HELP = "check every node's derivative against central differences and name the wrong one"
TABLE_LIMIT = 40   # op nodes listed in full up to this many; past it, only the ones to look at

STYLES = {"ok": "green", "kink": "yellow", "mismatch": "bold red", "nonfinite": "bold red",
          "unchecked": "dim"}


def configure(p) -> None:
    add_program_arguments(p)
    p.add_argument("--json", action="store_true",
                   help='print {"ok", "first_bad", "nodes": [...], ...} as JSON')
    p.add_argument("--eps", type=number_option(real, 0, 1, lo_open=True, hi_open=True), default=1e-6,
                   help="relative step of central differences (1e-6)")
    p.add_argument("--rtol", type=number_option(real, 0), default=1e-5, help="relative tolerance (1e-5)")
    p.add_argument("--atol", type=number_option(real, 0), default=1e-8, help="absolute tolerance (1e-8)")
    p.add_argument("--all", action="store_true",
                   help=f"list every node, also past {TABLE_LIMIT} op nodes")
    add_weight_arguments(p)


def main(args) -> int:
    from ..check import Tolerances, check_session

    session = load_session(args)
    check_save(args, session)
    report = check_session(session, Tolerances(args.eps, args.rtol, args.atol))
    save(args, session_params(session), session.graph)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        _print(session, report, args.all)
    return OK if report.ok else PROBLEM


def _err(x) -> str:
    if x is None:
        return "—"
    return f"{x:.2e}" if math.isfinite(x) else "inf"


def _print(session, report, show_all: bool) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)  # a line of text is one line, however long
    g = session.graph
    out = g.nodes[g.output]
    from ..graph import format_value
    console.print(Text(f"check {g.filename or 'program'}: {len(report.nodes)} op nodes, "
                       f"output {out.name} = {format_value(session.values[out.index])}", style="bold"))
    console.print(Text(f"tolerances: {report.tolerances.describe()}", style="dim"))
    console.print(_node_table(report, show_all))
    _print_custom(console, g, report)
    console.print(_leaf_table(report))
    _print_health(console, report)
    _print_verdict(console, g, report)


def _node_table(report, show_all: bool):
    from rich.table import Table
    from rich.text import Text

    rows = report.nodes
    hidden = 0
    if len(rows) > TABLE_LIMIT and not show_all:
        rows = [c for c in report.nodes if c.verdict != "ok" or c.hint]
        hidden = len(report.nodes) - len(rows)
    caption = f"{hidden} more nodes check ok (--all lists them)" if hidden else None
    table = Table(title="every node's backward rule against central differences of that node",
                  caption=caption, header_style="bold")
    for col in ("node", "op", "verdict", "max abs err", "max rel err", "hint"):
        table.add_column(col, overflow="fold", no_wrap=col in ("node", "op", "verdict"))
    for c in rows:
        table.add_row(Text(c.name), Text(c.op, style="cyan"), Text(c.verdict, style=STYLES[c.verdict]),
                      _err(c.max_abs_err), _err(c.max_rel_err), Text(c.hint))
    return table


def _print_custom(console, graph, report) -> None:
    from rich.text import Text

    from ..check.nodes import describe_answers

    if not report.custom:
        return
    console.print(Text("hand-written gradients: three answers side by side "
                       "(for the upstream gradient of the backward pass)", style="bold"))
    for c, found in report.custom:
        style = "bold red" if c.ok is False else "bold"
        console.print(Text(f"  {graph.formula(graph.nodes[c.index])}", style=style))
        console.print(Text(describe_answers(found, "    ")))


def _leaf_table(report):
    from rich.table import Table
    from rich.text import Text

    table = Table(title="whole-graph check: d output / d leaf, central differences of the whole "
                        "forward pass against the backward pass", header_style="bold")
    for col in ("leaf", "mode", "verdict", "max abs err", "max rel err", "hint"):
        table.add_column(col, overflow="fold")
    for c in report.leaves:
        table.add_row(Text(c.name), c.mode, Text(c.verdict, style=STYLES[c.verdict]), _err(c.max_abs_err),
                      _err(c.max_rel_err), Text(c.hint))
    return table


def _print_verdict(console, graph, report) -> None:
    from rich.text import Text

    bad = report.first_bad
    if bad is not None:
        node = graph.nodes[bad.index]
        where = f" (line {node.span.line})" if node.span else ""
        console.print(Text(f"first bad node: {graph.formula(node)}{where}", style="bold red"))
        console.print(Text(f"  {bad.detail}"))
        if not report.affects:
            console.print(Text("  no leaf's gradient passes through it"))
        elif bad.verdict == "nonfinite":
            console.print(Text(f"  gradients it turns into nan or inf: {', '.join(report.affects)}"))
        else:
            failing = {c.name for c in report.leaves if c.ok is False}
            confirmed = [n for n in report.affects if n in failing]
            console.print(Text(f"  wrong gradients because of it: {', '.join(report.affects)}"))
            console.print(Text("  the whole-graph check " + (f"confirms it: {', '.join(confirmed)} disagree"
                               if confirmed else "does not see it (the errors cancel out here)"), style="dim"))
        others = [c.name for c in report.nodes if c.ok is False and c is not bad]
        if others:
            console.print(Text(f"  other failing nodes: {', '.join(others)}"))
    if report.origin is not None:
        console.print(Text("non-finite origin: ", style="bold red") + Text(report.origin.describe()))
    elif any(c.ok is False for c in report.leaves) and bad is None:
        console.print(Text("every node passes, but the whole-graph check disagrees: see its table",
                           style="bold red"))
    if report.ok:
        console.print(Text("every gradient checks: no node's rule disagrees with its numerical derivative",
                           style="bold green"))


def _print_health(console, report) -> None:
    from rich.table import Table
    from rich.text import Text

    if report.params:
        table = Table(title="gradient health per parameter", header_style="bold")
        for col in ("param", "shape", "grad norm", "exact zeros"):
            table.add_column(col)
        for p in report.params:
            table.add_row(Text(p.name, style="yellow" if p.flags else ""), str(p.shape), f"{p.grad_norm:.3g}",
                          f"{p.zero_share:.0%}")
        console.print(table)
    if report.layers:
        table = Table(title="gradient health per layer", header_style="bold")
        for col in ("layer", "act", "units", "grad norm", "zeros in dW", "dead units", "saturated"):
            table.add_column(col)
        for h in report.layers:
            table.add_row(Text(h.name, style="yellow" if h.flags else ""), h.act, str(h.units),
                          f"{h.grad_norm:.3g}", f"{h.zero_share:.0%}",
                          "—" if h.dead_units is None else str(h.dead_units),
                          "—" if h.saturated_share is None else f"{h.saturated_share:.0%}")
        console.print(table)
    for name, flags in [(p.name, p.flags) for p in report.params] + [(h.name, h.flags) for h in report.layers]:
        for flag in flags:
            console.print(Text(f"health: {name}: {flag}", style="yellow"))
