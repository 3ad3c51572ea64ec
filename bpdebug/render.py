"""Rich renderables for nodes, values and tables, shared by the CLI and the TUI. No state."""
from __future__ import annotations


import numpy as np
from rich.table import Table
from rich.text import Text

from .graph import format_number, format_value

INLINE_ELEMENTS = 6


def is_finite(x) -> bool:
    return x is None or bool(np.all(np.isfinite(x)))


def summary(x) -> str:
    """min, max, mean, norm and the count of nan/inf of a tensor."""
    arr = np.asarray(x, dtype=float)
    finite = arr[np.isfinite(arr)]
    parts = [f"shape {arr.shape}"]
    if finite.size:
        parts += [f"min {format_number(finite.min())}", f"max {format_number(finite.max())}",
                  f"mean {format_number(finite.mean())}", f"norm {format_number(float(np.linalg.norm(finite)))}"]
    nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    if nan or inf:
        parts.append(f"{nan} nan, {inf} inf")
    return ", ".join(parts)


def value_text(x, style: str = "") -> Text:
    """A value as one line of text: numbers and small tensors inline, large ones summarised;
    anything non-finite in bold red. Never parsed as markup."""
    if x is None:
        return Text("—", style="dim")
    if np.ndim(x) == 0 or np.size(x) <= INLINE_ELEMENTS:
        text = format_value(x, INLINE_ELEMENTS)
    else:
        text = summary(x)
    return Text(text, style="bold red" if not is_finite(x) else style)


def node_table(session, title: str | None = None) -> Table:
    """Every node: name, op, shape, value, gradient; the output and non-finite ones marked."""
    g = session.graph
    table = Table(title=title, header_style="bold", expand=False)
    table.add_column("node", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("gradient", overflow="fold")
    for node in g.nodes:
        v, grad = session.values[node.index], session.grads[node.index]
        if grad is None and node.needs_grad and session.t >= session.total:
            grad = np.zeros(node.shape) if node.shape else 0.0
        name = Text(node.name, style="bold" if node.index == g.output else "")
        if not (is_finite(v) and is_finite(grad)):
            name.append(" !", style="bold red")
        table.add_row(name, Text(g.op_label(node), style="cyan"), Text(str(node.shape) if node.shape else "",
                      style="dim"), value_text(v), value_text(grad, "green" if node.is_leaf else ""))
    return table


