"""A session's state as plain text, for the command language's results (`bpdebug script`,
`run --break`, the TUI's log): a step, a node, the def calls around it. Numbers are written
as everywhere else in bpdebug (graph.format_number); gradients are named after the program's
output (`df/dq`), as the TUI names them."""
from __future__ import annotations

import numpy as np

from .events import FORWARD, StepEvent
from .graph import format_number, format_value

FULL_ELEMENTS = 200       # `print` writes a tensor of up to this many numbers in full


def full_value(x) -> str:
    """A value in full: every number of a tensor up to FULL_ELEMENTS (then numpy's corners),
    each written as bpdebug writes numbers."""
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):  # `p isnan(grad)` reads True, not 1
        return str(bool(x))
    if np.ndim(x) == 0:
        return format_value(x)
    arr = np.asarray(x, dtype=float)
    shown = arr if arr.size <= FULL_ELEMENTS else arr.flat[:FULL_ELEMENTS]
    width = max((len(format_number(v)) for v in np.ravel(shown).tolist()), default=1)
    # images (N, C, H, W): two items at each end of each axis keep a summary on one screen
    return np.array2string(arr, separator=", ", threshold=FULL_ELEMENTS, max_line_width=100,
                           edgeitems=3 if arr.ndim <= 2 else 2,
                           formatter={"float_kind": lambda v: format_number(v).rjust(width)})


def _received(received: list) -> str:
    return ", ".join(f"from {n} {format_value(c)}" for n, c in received)


def describe_node(session, i: int) -> str:
    g = session.graph
    node = g.nodes[i]
    lines = [g.formula(node), f"  op {g.op_label(node)}, shape {node.shape}"]
    lines.append(f"  value: {_indented(full_value(session.values[i]))}")
    grad = session.grads[i]
    lines.append(f"  grad:  {_indented(full_value(grad))}"
                 + ("" if session.t > session.n or grad is None else " (seed)"))
    received = session.received(i)
    if received:
        lines.append("  received: " + _received(received))
    return "\n".join(lines)


def _indented(text: str, width: int = 9) -> str:
    """A tensor's later lines under its first one, after `  value: ` (`width` cells)."""
    return text.replace("\n", "\n" + " " * width)


def describe_event(session, ev: StepEvent) -> str:
    head = f"[{ev.pass_} {ev.step + 1}/{ev.total}] {ev.formula}"
    if ev.over is not None:
        head += "   (the whole call, stepped over)"
    lines = [head]
    if ev.pass_ == FORWARD:
        if ev.inputs:
            lines.append("  " + ", ".join(f"{n} = {format_value(v)}" for n, v in ev.inputs))
            lines.append(f"  {ev.node.name} = {format_value(ev.value)}")
        return "\n".join(lines)
    d = session.grad_label
    if not ev.node.needs_grad:
        lines.append(f"  {ev.node.name} is {ev.node.op.constant or 'a constant'}: no gradient")
        return "\n".join(lines)
    lines.append(f"  upstream {d(ev.node.name)} = {format_value(ev.upstream)}")
    for t in ev.terms:
        if t.contribution is None:
            continue
        local = f" = {format_value(t.local)}" if t.local is not None else ""
        if t.derivative.endswith(local):  # `d(x + y)/dx = 1`, not `= 1 = 1`
            local = ""
        lines.append(f"  {t.derivative}{local};  contribution {format_value(t.contribution)}"
                     f"  ->  {d(t.input)} = {format_value(t.accumulated)}")
    if not ev.node.inputs:
        received = session.received(ev.node.index)
        lines.append(f"  {d(ev.node.name)} = {format_value(ev.upstream)}"
                     + (f" ({_received(received)})" if len(received) > 1 else ""))
    return "\n".join(lines)


def where_text(session) -> str:
    """The pass and the step, the current node and the `def` calls around it (innermost
    first, `>` at the one `up` went to), and what comes next."""
    g = session.graph
    lines = [f"{session.pass_} pass, {session.t} of {session.total} steps taken"]
    frames, chosen = session.frames(), session.frame
    for k, i in enumerate(frames):
        node = g.nodes[i]
        at = f"   (line {node.span.line})" if node.span else ""
        text = f"current: {g.formula(node)}{at}" if k == 0 else f"  inside {g.formula(node)}{at}"
        if k == chosen and chosen:
            text = ">" + text[1:]
        lines.append(text)
    if session.upcoming is not None:
        lines.append(f"next: {session.pass_at(session.t)} {g.nodes[session.upcoming].name}")
    return "\n".join(lines)
