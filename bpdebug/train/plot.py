"""The loss curve as text: a braille line plot any front end can print."""
from __future__ import annotations

import math

from ..graph import format_number

# Braille characters hold 2x4 dots: bit for the dot at (row, column) of a cell.
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
POINT = "•"


def plot_lines(values, width: int = 60, height: int = 8, points=()) -> list[str]:
    """A line plot of a series (a loss curve) in braille, as plain lines for any front end:
    the y axis labelled with the largest and smallest value, a log scale (said in the last
    line) when the values span more than two decades. Non-finite values leave gaps.
    `points`: (step, value) pairs marked POINT on the same axes (the held-out loss), step 1
    being the series' first value."""
    ys = [float(v) for v in values]
    marks = [(k, float(v)) for k, v in points if math.isfinite(v)]
    finite = [y for y in ys if math.isfinite(y)] + [v for _, v in marks]
    if not finite:
        return ["(nothing to plot)"]
    lo, hi = min(finite), max(finite)
    log = lo > 0 and hi > 100 * lo
    scale = math.log10 if log else float
    bottom = scale(lo)
    half_span = (scale(hi) / 2 - bottom / 2) or 1.0    # halves: hi - lo overflows from -1e308 to 1e308

    def height_of(y: float) -> float:      # 0 at the bottom, 1 at the top
        return (scale(y) / 2 - bottom / 2) / half_span
    cols, rows = min(2 * width, len(ys)), 4 * height
    grid = [[0] * ((cols + 1) // 2) for _ in range(height)]
    previous = None
    for x in range(cols):
        bucket = [y for y in ys[x * len(ys) // cols:(x + 1) * len(ys) // cols] if math.isfinite(y)]
        if not bucket:
            previous = None
            continue
        levels = [round(height_of(y) * (rows - 1)) for y in bucket]
        last = levels[-1]
        if previous is not None:  # join to where the previous column ended
            levels.append(previous)
        for level in range(min(levels), max(levels) + 1):
            r = rows - 1 - level
            grid[r // 4][x // 2] |= _DOTS[r % 4][x % 2]
        previous = last
    cells = [[chr(0x2800 + bits) for bits in row] for row in grid]
    for k, v in marks:
        x = min(cols - 1, max(0, (k - 1) * cols // len(ys)))
        r = rows - 1 - round(height_of(v) * (rows - 1))
        cells[r // 4][x // 2] = POINT
    labels = [format_number(hi)] + [""] * (height - 2) + [format_number(lo)] if height > 1 else [format_number(hi)]
    pad = max(len(s) for s in labels)
    lines = [f"{s:>{pad}} ┤" + "".join(row) for s, row in zip(labels, cells)]
    last = str(len(ys)) if len(ys) > 1 else ""
    lines.append(" " * pad + " └" + "─" * len(grid[0]))
    lines.append(" " * (pad + 2) + "1" + last.rjust(max(len(grid[0]) - 1, len(last) + 1))
                 + ("   (log scale)" if log else ""))
    return lines
