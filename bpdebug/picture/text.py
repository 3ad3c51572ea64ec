"""A drawing as a grid of characters: boxes in box-drawing characters, wires as lines with an
arrow into their box, labels as text. Each cell has a role ("value", "grad", "wire", "current"
...) that the caller turns into a style, so the grid knows no colours or themes.
"""
from __future__ import annotations

import numpy as np

from .layout import Drawing, Shape

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
GLYPHS = {
    LEFT | RIGHT: "─", UP | DOWN: "│", LEFT: "─", RIGHT: "─", UP: "│", DOWN: "│",
    DOWN | RIGHT: "╭", DOWN | LEFT: "╮", UP | RIGHT: "╰", UP | LEFT: "╯",
    UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤", LEFT | RIGHT | DOWN: "┬", LEFT | RIGHT | UP: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
}
DASHED = {"─": "┄", "│": "┆"}
_TABLE = np.array([GLYPHS.get(b, " ") for b in range(16)])
_DASHED_TABLE = np.array([DASHED.get(GLYPHS.get(b, " "), GLYPHS.get(b, " ")) for b in range(16)])
BORDERS = {"plain": "╭╮╰╯─│", "group": "┏┓┗┛━┃", "selected": "╔╗╚╝═║"}


class Grid:
    """Rows of (character, role) cells."""

    def __init__(self, drawing: Drawing, selected: int | None = None) -> None:
        self.width, self.height = drawing.width, drawing.height
        self.chars, self.roles = self._wires(drawing)
        for shape in drawing.shapes:
            self._box(shape, shape.box.key == selected)
        for label in drawing.labels:
            self.put(label.x, label.y, label.text, label.role)

    def put(self, x: int, y: int, text: str, role) -> None:
        if not 0 <= y < self.height:
            return
        row, roles = self.chars[y], self.roles[y]
        for k, ch in enumerate(text):
            if 0 <= x + k < self.width:
                row[x + k] = ch
                roles[x + k] = role

    def _wires(self, drawing: Drawing) -> tuple:
        """The wires on an empty grid: each cell's line directions, then their glyphs (with
        numpy: a long program's picture is a few hundred thousand cells)."""
        bits = np.zeros((self.height, self.width), dtype=np.uint8)
        dashed = np.zeros((self.height, self.width), dtype=bool)
        for path in drawing.paths:
            for (x0, y0), (x1, y1) in zip(path.points, path.points[1:]):
                if y0 == y1:
                    lo, hi = min(x0, x1), max(x0, x1)
                    bits[y0, lo:hi] |= RIGHT
                    bits[y0, lo + 1:hi + 1] |= LEFT
                    dashed[y0, lo:hi + 1] |= path.pending
                else:
                    lo, hi = min(y0, y1), max(y0, y1)
                    bits[lo:hi, x0] |= DOWN
                    bits[lo + 1:hi + 1, x0] |= UP
                    dashed[lo:hi + 1, x0] |= path.pending
            x, y = path.points[0]
            bits[y, x] |= LEFT                        # from the box's edge
        chars = np.where(dashed, _DASHED_TABLE[bits], _TABLE[bits])
        roles = np.where(bits == 0, None, np.where(dashed, "pending", "wire"))
        for path in drawing.paths:
            x, y = path.points[-1]
            chars[y, x], roles[y, x] = "▶", "pending" if path.pending else "wire"
        return chars.tolist(), roles.tolist()

    def _box(self, shape: Shape, selected: bool) -> None:
        box = shape.box
        kind = "selected" if selected else "group" if box.collapsed else "plain"
        tl, tr, bl, br, h, v = BORDERS[kind]
        role = "current" if box.current else "selected" if selected else "group" if box.collapsed else "box"
        x, y, w = shape.x, shape.y, shape.w
        self.put(x, y, tl + h * (w - 2) + tr, role)
        for r in range(1, shape.h - 1):
            self.put(x, y + r, v + " " * (w - 2) + v, role)
        self.put(x, y + shape.h - 1, bl + h * (w - 2) + br, role)
        for r, (text, line_role) in enumerate(shape.lines):
            self.put(x + 2, y + 1 + r, text, "current" if box.current and r == 0 else line_role)

    def runs(self, y: int) -> list:
        """Row y as [(text, role)], one item per run of cells with the same role."""
        out: list = []
        for ch, role in zip(self.chars[y], self.roles[y]):
            if out and out[-1][1] == role:
                out[-1][0].append(ch)
            else:
                out.append(([ch], role))
        return [("".join(chars), role) for chars, role in out]

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.chars)
