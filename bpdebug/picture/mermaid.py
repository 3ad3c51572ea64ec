"""A scene as a Mermaid flowchart (code hosts render it in Markdown): the same boxes, wires
and labels, left to right. A wire's label is its value, then its gradient after ◀ (Mermaid's
labels are one colour). Text is escaped with Mermaid's entity codes (`#35;` for #), so quotes,
brackets, `<`, `*` or backticks in a name are shown as such, never read as syntax or Markdown.
"""
from __future__ import annotations

import json
import string

from .layout import box_lines, label
from .scene import Scene

SAFE = set(string.ascii_letters + string.digits + " .,:=+-/()'")


def _text(text: str) -> str:
    return "".join(ch if ch in SAFE or ord(ch) > 127 else f"#{ord(ch)};" for ch in text)


def mermaid(scene: Scene, title: str) -> str:
    out = ["---", f"title: {json.dumps(title)}", "---", "flowchart LR",
           f"  %% values go forward (first line of a wire's label), gradients {scene.d('...')} "
           "come back (after ◀)"]
    for box in scene.boxes:
        text = "<br/>".join(_text(t) for t, _ in box_lines(scene, box, label))
        out.append(f'  b{box.key}["{text}"]')
    for k, wire in enumerate(scene.wires):
        value, grad = label(wire.value), label(wire.grad)
        below = f"◀ {grad}" if grad else wire.note
        text = "<br/>".join(_text(t) for t in (value, below) if t)
        arrow = "-.->" if wire.value is None else "-->"
        target = f"b{wire.target}"
        if wire.target is None:
            target = f"exit{k}"
            out.append(f'  {target}[" "]:::exit')
        out.append(f'  b{wire.source} {arrow}|"{text or " "}"| {target}')
    out.append("  classDef exit fill:none,stroke:none")
    out.append("  classDef group fill:#f6f8fa,stroke-width:3px")
    out.append("  classDef current fill:#fff8c5,stroke:#bf8700,stroke-width:3px")
    for cls, boxes in (("group", [b for b in scene.boxes if b.collapsed and not b.current]),
                       ("current", [b for b in scene.boxes if b.current])):
        if boxes:
            out.append(f"  class {','.join(f'b{b.key}' for b in boxes)} {cls}")
    return "\n".join(out) + "\n"
