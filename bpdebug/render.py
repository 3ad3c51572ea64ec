"""Rich renderables for nodes, values and tables, shared by the CLI and the TUI. No state."""
from __future__ import annotations


import numpy as np
from rich.table import Table
from rich.text import Text

from .graph import format_number, format_value
from .kernel import zero_gradient
from .report import finite as is_finite

INLINE_ELEMENTS = 6
# Colours by role. The terminal's own colours here; the TUI passes its theme's (tui.colours).
COLOURS = {"bad": "bold white on red", "nonfinite": "bold red", "positive": "green",
           "strong-positive": "bold green", "negative": "blue", "strong-negative": "bold bright_blue"}


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


def value_text(x, style: str = "", colours: dict = COLOURS) -> Text:
    """A value as one line of text: numbers and small tensors inline, large ones summarised;
    anything non-finite in bold red. Never parsed as markup."""
    if x is None:
        return Text("—", style="dim")
    if np.ndim(x) == 0 or np.size(x) <= INLINE_ELEMENTS:
        text = format_value(x, INLINE_ELEMENTS)
    else:
        text = summary(x)
    return Text(text, style=colours.get("nonfinite", colours["bad"]) if not is_finite(x) else style)


def node_table(session, title: str | None = None, rows=None) -> Table:
    """The nodes (all, or the indices in `rows`): name, op, shape, value, gradient; the output
    and non-finite ones marked; a gap in `rows` shows as one row saying how many were left out."""
    g = session.graph
    table = Table(title=title, header_style="bold", expand=False)
    table.add_column("node", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("gradient", overflow="fold")
    previous = -1
    for index in range(len(g.nodes)) if rows is None else rows:
        if index > previous + 1:
            table.add_row(Text(f"… {index - previous - 1} more", style="dim"), "", "", "", "")
        previous = index
        node = g.nodes[index]
        v, grad = session.values[node.index], session.grads[node.index]
        if grad is None and node.needs_grad and session.t >= session.total:
            grad = zero_gradient(node.shape)
        name = Text(node.name, style="bold" if node.index == g.output else "")
        if not (is_finite(v) and is_finite(grad)):
            name.append(" !", style="bold red")
        table.add_row(name, Text(g.op_label(node), style="cyan"), Text(str(node.shape) if node.shape else "",
                      style="dim"), value_text(v), value_text(grad, "green" if node.is_leaf else ""))
    if rows is not None and previous < len(g.nodes) - 1:
        table.add_row(Text(f"… {len(g.nodes) - previous - 1} more", style="dim"), "", "", "", "")
    return table


# ---- compact cells and coloured tensors (used by the TUI) ---------------------------------------

TENSOR_ROWS, TENSOR_COLS = 8, 8


def short_value(x, width: int | None = None) -> str:
    """A value in a few characters, for a table cell or an edge label: numbers as such,
    tensors in full where they fit, else their norm ‖·‖ (or their nan/inf count). Given a
    `width`, fewer significant digits until it fits, and "…" if nothing does: never a number
    cut short."""
    if x is None:
        return "·"
    if np.ndim(x) == 0:
        candidates = [format_value(x)] + [f"{float(x):.{d}g}" for d in (4, 3, 2)]
    else:
        arr = np.asarray(x, dtype=float)
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        norm = float(np.linalg.norm(arr)) if not bad else 0.0
        size = np.size(x)
        candidates = [format_value(x, size)] if size <= 3 or width is not None and size <= width // 2 else []
        candidates += [f"{bad} nan/inf", f"{bad}!"] if bad else \
            [f"‖{_cell_number(norm)}‖"] + [f"‖{norm:.{d}g}‖" for d in (3, 2, 1)]
    if width is None:
        return candidates[0]
    return next((c for c in candidates if len(c) <= width), "…")


def number_style(x: float, scale: float, colours: dict = COLOURS) -> str:
    """Colour by sign (green positive, blue negative), brightness by magnitude against `scale`;
    nan and inf in white on red."""
    if not np.isfinite(x):
        return colours["bad"]
    if x == 0 or scale == 0:
        return "dim"
    strong = "strong-" if abs(x) >= 0.5 * scale else ""
    return colours[strong + ("positive" if x > 0 else "negative")]


def tensor_table(x, max_rows: int = TENSOR_ROWS, max_cols: int = TENSOR_COLS, colours: dict = COLOURS):
    """A tensor as a grid coloured by sign and magnitude, with its shape; large ones show their
    corners (rows and columns elided with ⋯) and a summary line."""
    from rich.console import Group

    arr = np.asarray(x, dtype=float)
    grid = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])
    finite = np.abs(arr[np.isfinite(arr)])
    scale = float(finite.max()) if finite.size else 0.0
    rows = _elided(grid.shape[0], max_rows)
    cols = _elided(grid.shape[1], max_cols)
    table = Table(show_header=False, box=None, padding=(0, 1, 0, 0), pad_edge=False)
    for _ in cols:
        table.add_column(justify="right", no_wrap=True)
    for r in rows:
        cells = []
        for c in cols:
            if r is None or c is None:
                cells.append(Text("⋯", style="dim"))
            else:
                v = float(grid[r, c])
                cells.append(Text(_cell_number(v), style=number_style(v, scale, colours)))
        table.add_row(*cells)
    parts = [Text(f"shape {arr.shape}", style="dim"), table]
    if len(rows) < grid.shape[0] or len(cols) < grid.shape[1] or arr.ndim > 2 \
            or not is_finite(arr):
        parts.append(Text(summary(arr), style="dim" if is_finite(arr) else colours.get("nonfinite", colours["bad"])))
    return Group(*parts)


def _cell_number(v: float) -> str:
    """Four significant digits: a tensor grid is read for its pattern, `print` gives all digits."""
    return format_number(v) if not np.isfinite(v) or v == int(v) else f"{v:.4g}"


def _elided(size: int, limit: int) -> list:
    """Indices to show out of `size`: all of them, or the first and last few with None between."""
    if size <= limit:
        return list(range(size))
    head = (limit - 1) // 2 + (limit - 1) % 2
    tail = limit - 1 - head
    return list(range(head)) + [None] + list(range(size - tail, size))
