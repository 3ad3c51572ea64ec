"""A drawing as a standalone SVG: the grid of cells the TUI draws, scaled to pixels, with
vector boxes and wires, values in green and gradients in red (the tutorials' colours). Text is
monospaced and each cell is wider than a monospaced glyph, so no label runs into another.
No Graphviz, no fonts to embed: a file to put on a slide or in a README.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from .layout import Drawing
from .scene import Scene

CELL_W, CELL_H = 9, 20        # pixels a cell; a 14 px monospaced glyph is about 8.4 px wide
HEADER_ROWS = 3
MARGIN = 12
STYLE = """
  text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 14px; fill: #1f2328; }
  .value { fill: #1a7f37; } .grad { fill: #cf222e; } .partial { fill: #cf222e; font-style: italic; }
  .pending, .note { fill: #8c959f; } .head { font-weight: bold; }
  .bad { fill: #cf222e; font-weight: bold; text-decoration: underline; }
  .box { fill: #ffffff; stroke: #57606a; stroke-width: 1.5; }
  .group { fill: #f6f8fa; stroke: #57606a; stroke-width: 3; }
  .current { fill: #fff8c5; stroke: #bf8700; stroke-width: 3; }
  .wire { fill: none; stroke: #57606a; stroke-width: 1.5; }
  .wire.pending { stroke: #8c959f; stroke-dasharray: 5 4; }
"""


def _x(cell: float) -> float:
    return MARGIN + cell * CELL_W


def _y(row: float) -> float:
    return MARGIN + (row + HEADER_ROWS) * CELL_H


def _text(x: float, row: int, text: str, cls: str) -> str:
    """Text whose cells start at column x on `row` (baseline a little below the row's middle)."""
    return (f'<text x="{_x(x):.1f}" y="{_y(row) + CELL_H * 0.7:.1f}" class="{cls}" '
            f'xml:space="preserve">{escape(text)}</text>')


def svg(scene: Scene, drawing: Drawing, title: str) -> str:
    width = 2 * MARGIN + max(drawing.width, len(title), 80) * CELL_W
    height = 2 * MARGIN + (drawing.height + HEADER_ROWS) * CELL_H
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}">',
           f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
           _text(0, -HEADER_ROWS, title, "head"),
           f'<text x="{_x(0):.1f}" y="{_y(1 - HEADER_ROWS) + CELL_H * 0.7:.1f}" class="note">'
           f'<tspan class="value">values</tspan> go forward (above a wire), '
           f'<tspan class="grad">gradients {escape(scene.d("…"))}</tspan> come back (below it)</text>']
    for path in drawing.paths:
        points = [(_x(x + 0.5), _y(y + 0.5)) for x, y in path.points]
        points[0] = (_x(path.points[0][0]), points[0][1])                  # from the box's edge
        points[-1] = (_x(path.points[-1][0] + 1.5), points[-1][1])         # to the next box's edge
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        cls = "wire pending" if path.pending else "wire"
        out.append(f'<path d="{d}" class="{cls}" marker-end="url(#arrow)"/>')
    for shape in drawing.shapes:
        box = shape.box
        cls = "current" if box.current else "group" if box.collapsed else "box"
        out.append(f'<g><title>{escape(_tooltip(scene, box))}</title>'
                   f'<rect x="{_x(shape.x + 0.5):.1f}" y="{_y(shape.y + 0.5):.1f}" '
                   f'width="{(shape.w - 1) * CELL_W:.1f}" height="{(shape.h - 1) * CELL_H:.1f}" '
                   f'rx="6" class="{cls}"/>')
        for r, (text, role) in enumerate(shape.lines):
            out.append(_text(shape.x + 2, shape.y + 1 + r, text, role))
        out.append("</g>")
    for label in drawing.labels:
        out.append(_text(label.x, label.y, label.text, label.role))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _tooltip(scene: Scene, box) -> str:
    if not box.collapsed:
        return box.title
    return f"{box.title}: {len(box.members)} nodes (bpdebug graph --expand draws them)"
