"""A scene as Graphviz DOT: the same boxes, wires and labels as the TUI and the SVG, laid out
left to right by Graphviz itself (`dot -Tpng`), values in green and gradients in red.

Every label is an HTML-like label with its text escaped, so no name (quotes, brackets, `<`,
backslashes) can end a string or open a tag; node ids are bpdebug's own (`b3`).
"""
from __future__ import annotations

from html import escape

from .layout import box_lines, label
from .scene import Scene

VALUE, GRAD, PENDING = "#1a7f37", "#cf222e", "#8c959f"
ROLE_COLOURS = {"grad": GRAD, "partial": GRAD, "pending": PENDING}


def _html(text: str, colour: str | None = None) -> str:
    text = escape(text, quote=True)
    return f'<font color="{colour}">{text}</font>' if colour and text else text


def dot(scene: Scene, title: str) -> str:
    out = ["digraph bpdebug {",
           f'  graph [rankdir=LR, labelloc=t, fontname="Helvetica", nodesep=0.35, ranksep=0.8, '
           f'label=<<b>{_html(title)}</b><br/>{_html("values", VALUE)} go forward (above a wire), '
           f'{_html("gradients " + scene.d("…"), GRAD)} come back (below it)>];',
           '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=12];',
           '  edge [fontname="Helvetica", fontsize=11, color="#57606a", arrowsize=0.7];']
    for box in scene.boxes:
        lines = "<br/>".join(_html(text, ROLE_COLOURS.get(role)) for text, role in box_lines(scene, box, label))
        attrs = ""
        if box.current:
            attrs = ', style="rounded,filled", fillcolor="#fff8c5", color="#bf8700", penwidth=2.5'
        elif box.collapsed:
            attrs = ', style="rounded,filled", fillcolor="#f6f8fa", penwidth=2.5'
        out.append(f"  b{box.key} [label=<{lines}>{attrs}];")
    for k, wire in enumerate(scene.wires):
        value, grad = label(wire.value), label(wire.grad)
        below = grad or wire.note
        text = _html(value, VALUE) + "<br/>" + _html(below, GRAD if grad else PENDING)
        style = ", style=dashed" if wire.value is None else ""
        if wire.target is None:
            out.append(f'  exit{k} [shape=point, width=0.04, label=""];')
            out.append(f"  b{wire.source} -> exit{k} [label=<{text}>{style}];")
        else:
            out.append(f"  b{wire.source} -> b{wire.target} [label=<{text}>{style}];")
    out.append("}")
    return "\n".join(out) + "\n"
