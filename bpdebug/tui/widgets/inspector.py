"""Everything about one node: its formula and source line, input values and output; in the
backward pass the upstream gradient, each input's local derivative (symbolic and numeric), the
contribution upstream x local, and the input's gradient once that contribution was added, with
the contributions it had received by then ("dC/da so far = 0.01  (from z3 -0.057, from z4
+0.067)": x*x reads 3, then 6). Gradients are named after the output (`df/dq`). Tensors are
shown as coloured tables.

`inspect(session, i)` builds the Rich renderables from the session; the widget only shows them.
"""
from __future__ import annotations

from bisect import bisect_left

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...check import kinks
from ...events import arrived_count, call_event, enclosing_call
from ...graph import format_number, format_value
from ...render import is_finite, short_value, tensor_table
from ..status import backward_done
from ..colours import style, styles

RECEIVED_SHOWN = 6


def _value(x, colour: str = ""):
    """A scalar as text, a tensor as a coloured table, in red where not finite."""
    if x is None:
        return Text("—", style="dim")
    if np.ndim(x) == 0:
        return Text(format_value(x), style=colour if is_finite(x) else style("bad"))
    return tensor_table(x, colours=styles())


def _signed(x) -> str:
    if np.ndim(x) == 0:
        text = format_value(x)
        return text if text.startswith(("-", "n")) else "+" + text
    return short_value(x)


def received(session, j: int, limit: int = RECEIVED_SHOWN, until: tuple | None = None) -> tuple[list, int]:
    """([(consumer name, contribution)] in the order they arrived, how many more consumers'
    arrived). Reads at most `limit` consumers' steps, so a node with 10,000 consumers costs no
    more; `until` = (consumer, slot): only what had arrived once that slot's share was added."""
    got = session.received(j, limit, until)
    arrived = arrived_count(session, j)
    if until is not None:
        consumers = session.graph.consumers[j]
        arrived -= bisect_left(consumers, until[0]) - bisect_left(consumers, session.total - session.t)
    return got, max(0, arrived - limit)


def received_text(session, j: int, until: tuple | None = None) -> Text:
    got, more = received(session, j, until=until)
    if not got:
        return Text("")
    text = Text("  (", style="dim")
    for k, (name, c) in enumerate(got):
        if k:
            text.append(", ", style="dim")
        text.append(f"from {name} ", style="dim")
        text.append(_signed(c), style=style("backward") if is_finite(c) else style("bad"))
    if more:
        text.append(f", and {more} more", style="dim")
    text.append(")", style="dim")
    return text


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    return grid


def _heading(text: str, colour: str) -> Text:
    return Text(text, style=f"bold {colour}")


def inspect(session, i: int, source_lines: list[str], notes=(), lead=()) -> list:
    """The renderables for node i; `source_lines` is the program split into lines (once: a
    step must not cost a pass over a 10,000-line program). Other tools add `notes` (the
    gradient check) right under the node's line, and `lead` (a training update, the step just
    taken) above it: where they are seen in a short panel."""
    graph = session.graph
    node = graph.nodes[i]
    parts: list = list(lead)
    head = Text(graph.formula(node), style="bold")
    head.append(f"   {graph.op_label(node)}", style=style("key"))
    if node.shape != ():
        head.append(f"  shape {node.shape}", style="dim")
    parts.append(head)
    mine = graph.shadowing_def(node)
    if mine is not None:
        parts.append(Text(f"your def {mine.name} (line {mine.span.line}), not the built-in {mine.name}",
                          style="yellow"))
    where = _source_line(graph, node, source_lines)
    if where is not None:
        parts.append(where)
    if node.onnx_name is not None and node.onnx_name != node.name:
        parts.append(Text(f"ONNX name: {node.onnx_name}", style="dim"))
    parts.extend(notes)
    parts.extend(_forward(session, i))
    parts.extend(_backward(session, i))
    if session.nonfinite(i):
        parts.append(Text("non-finite value or gradient here (nan/inf)", style=style("bad")))
    return parts


def _source_line(graph, node, lines: list[str]) -> Text | None:
    if node.span is None:
        return None
    if not 0 < node.span.line <= len(lines):
        return None
    source = lines[node.span.line - 1].strip()
    if source.replace(" ", "") == graph.formula(node).replace(" ", "") and enclosing_call(graph, node.index) is None:
        return None                    # the formula already says it
    text = Text(f"line {node.span.line}: ", style="dim")
    text.append(source, style="dim italic")
    call = enclosing_call(graph, node.index)
    if call is not None:
        text.append(f"   inside {call.op}({', '.join(call.args)})", style="dim")
    return text


def _forward(session, i: int) -> list:
    graph = session.graph
    node = graph.nodes[i]
    value = session.values[i]
    heading = _heading("forward", style("forward"))
    if value is None:
        heading.append("  not computed yet", style="dim")
        return [heading]
    inputs = [(graph.nodes[j].name, session.values[j]) for j in node.inputs]
    if all(np.ndim(v) == 0 for _, v in inputs) and np.ndim(value) == 0:
        line = heading                  # scalars: one line, forward  x = -2, y = 5  →  q = 3
        line.append("  ")
        for k, (name, v) in enumerate(inputs):
            line.append(", " if k else "")
            line.append(f"{name} = ")
            line.append_text(_value(v))
        line.append("  →  " if inputs else "")
        line.append(f"{node.name} = ", style="bold")
        line.append_text(_value(value, "bold"))
        out = [line]
    else:
        grid = _grid()
        for name, v in inputs:
            grid.add_row(f"  {name} =", _value(v))
        grid.add_row(Text(f"  {node.name} =", style="bold"), _value(value, "bold"))
        out = [heading, grid]
    kink = _kink(session, i)
    if kink:
        out.append(Text(f"  {kink}", style=style("backward")))
    return out


def _kink(session, i: int) -> str:
    """The op's convention, when an input sits where its derivative is not defined."""
    graph = session.graph
    node = graph.nodes[i]
    if node.kind != "op" or session.values[i] is None:
        return ""
    moving = [k for k, j in enumerate(node.inputs) if graph.nodes[j].needs_grad]
    at_kink, rule = kinks.exact(node, [session.values[j] for j in node.inputs], moving)
    return f"at a kink: {rule}" if at_kink is not None else ""


def _backward(session, i: int) -> list:
    graph = session.graph
    node = graph.nodes[i]
    d = session.grad_label
    heading = _heading("backward", style("backward"))
    if not node.needs_grad:
        heading.append(f"  no gradient: {node.op.constant or 'a constant'}", style="dim")
        return [heading]
    grad = session.grads[i]
    if not backward_done(session, i):
        if session.t > session.n and grad is not None:
            line = Text(f"  {d(node.name)} so far = ")
            line.append_text(_value(grad, style("backward")) if np.ndim(grad) == 0 else Text(short_value(grad)))
            line.append_text(received_text(session, i))
            return [heading, line]
        heading.append("  not reached yet", style="dim")
        return [heading]
    out: list = [heading]
    seed = i == graph.output
    heading.append(f"  upstream {d(node.name)} = ")
    note = Text("  (the seed)", style="dim") if seed else received_text(session, i)
    if np.ndim(grad) == 0:
        heading.append_text(_value(grad, style("backward")))
        heading.append_text(note)
    else:
        out.extend([tensor_table(grad, colours=styles()), note])
    ev = session.event(session.total - 1 - i)
    grid = _grid()
    for k, term in enumerate(ev.terms if ev is not None else []):
        grid.add_row(Text(f"  → {term.input}", style="bold"), _term(session, term, grad, (i, k)))
    if grid.row_count:
        out.append(grid)
    out.extend(_whole_call(session, i))
    if node.is_leaf and not seed:
        out.append(Text(f"  {d(node.name)} is final: every consumer has sent its share", style="dim"))
    if node.kind == "op" and node.op.stops_gradient:
        out.append(Text("  the gradient stops here: stop_gradient sends 0 to its input", style=style("bold backward")))
    return out


def _whole_call(session, i: int) -> list:
    """At the return node of a `def` call whose body the backward pass has been through: what
    the whole call sent back to each of its arguments (what `next` steps over)."""
    node = session.graph.nodes[i]
    if node.op.name != "return" or node.kind != "op":
        return []
    call = session.graph.calls[node.call]
    if not backward_done(session, call.start):
        return []
    ev = call_event(session, call, session.total - 1 - call.start)
    lines = [Text(f"  the whole call {call.op}({', '.join(call.args)}) sent back:", style="dim")]
    for term in ev.terms:
        if term.contribution is None:
            continue
        line = Text(f"    → {term.input} ", style="bold")
        line.append_text(Text(_signed(term.contribution), style=style("backward")))
        lines.append(line)
    return lines if len(lines) > 1 else []


def _term(session, term, upstream, slot: tuple):
    """One input's share: local derivative, contribution, and its gradient once this share
    was added (`slot` = (node, input position) of the share)."""
    if term.contribution is None:
        return Text(f"{term.derivative}   (no gradient: a constant)", style="dim")
    line = Text(term.derivative)
    scalar = np.ndim(term.contribution) == 0
    symbolic = term.derivative.rpartition(" = ")[2]
    if term.local is not None and np.ndim(term.local) == 0 and symbolic != format_value(term.local):
        line.append(" = ")
        line.append_text(_value(term.local, "bold"))
    rows: list = [line]
    if scalar and np.ndim(upstream) == 0 and term.local is not None:
        contrib = Text("contribution ", style="dim")
        contrib.append(f"{format_number(upstream)} × {format_value(term.local)} = ")
        contrib.append_text(_value(term.contribution, style("backward")))
    else:
        contrib = Text("contribution ", style="dim")
        contrib.append_text(_value(term.contribution, style("backward")) if scalar else Text(""))
    rows.append(contrib)
    if not scalar:
        rows.append(tensor_table(term.contribution, colours=styles()))
    j = session.graph.index(term.input)
    since = _written_since(session, j, slot[0])
    acc = Text(f"{session.grad_label(term.input)} {'was' if since else 'so far'} = ", style="dim")
    acc.append_text(_value(term.accumulated, style("backward")) if np.ndim(term.accumulated) == 0
                    else Text(short_value(term.accumulated), style=style("backward")))
    acc.append_text(received_text(session, j, until=slot))
    if since:
        acc.append(" after this step; now ", style="dim")
        acc.append(short_value(session.grads[j], 16), style=style("backward"))
    rows.append(acc)
    return Group(*rows)


def _written_since(session, j: int, i: int) -> bool:
    """Whether a consumer of j has taken its backward step after node i's."""
    consumers = session.graph.consumers[j]
    first = bisect_left(consumers, session.total - session.t)
    return first < len(consumers) and consumers[first] < i


def update_section(u, state: str) -> list:
    """A param's update, `state` being "applied" or "next" (to be applied by the next step):
    the optimizer's rule one quantity a line (sgd: the param; momentum: the velocity v; Adam:
    m, v, m-hat, v-hat), each with its value; for a scalar param, with the numbers filled in.
    The gradient is named after the loss (dC/dW)."""
    heading = _heading("update", style("update"))
    heading.append(f"  {u.formula}", style="bold")
    if state == "next":
        heading.append("   next: s applies it", style="dim")
    lines = u.explain()
    if np.ndim(u.old) == 0:
        parts: list = [heading]
        for q in lines:
            line = Text(f"  {q.name} = {q.formula} = {q.numbers} = ")
            line.append_text(_value(q.value, style("bold update") if q is lines[-1] else ""))
            parts.append(line)
        return parts
    grid = _grid()
    grid.add_row(f"  old {u.param} =", _value(u.old))
    grid.add_row(f"  d{u.loss}/d{u.param} =", _value(u.grad))
    for q in lines:
        label = f"new {q.name}" if q.name == u.param else q.name
        grid.add_row(Text(f"  {label} =", style="bold" if q is lines[-1] else ""),
                     Group(Text(q.formula, style="dim"), _value(q.value)))
    return [heading, grid]


def pending_update(param: str, loss: str) -> Text:
    text = _heading("update", style("update"))
    text.append(f"  {param}: by the optimizer from d{loss}/d{param}", style="bold")
    text.append("   after the updates before it", style="dim")
    return text


def check_section(text: str) -> Text:
    """A node failing its gradient check: the verdict and the answers side by side."""
    out = _heading("✗ ", style("check"))
    out.append(text, style=style("check"))
    return out


def origin_note(origin, here: bool) -> Text:
    if here:
        return Text(f"nan or inf is born here: {origin.describe()}", style=style("bad"))
    return Text(f"nan or inf was born at {origin.name}, in the {origin.pass_} pass (flagged ✱)", style=style("nonfinite"))


class Inspector(VerticalScroll):
    """A scrolling panel showing `inspect()` of one node."""

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.node: int | None = None
        self._body = Static("", markup=False)
        self._source_lines = (session.graph.source or "").splitlines()

    def compose(self):
        yield self._body

    def show(self, i: int, notes=(), lead=()) -> None:
        if i != self.node:
            self.scroll_home(animate=False)    # another node: from its top
        self.node = i
        self._body.update(Group(*inspect(self.session, i, self._source_lines, notes, lead)))
