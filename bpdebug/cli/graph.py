"""`bpdebug graph`: the whole program at one step as a picture: Graphviz DOT, a Mermaid
flowchart, or a standalone SVG (drawn from the TUI's layout; no Graphviz needed)."""
from __future__ import annotations

from pathlib import Path

from . import OK, add_program_arguments, load_session
from ..lang import BpError
from ..numbers import whole

NAME = "graph"
HELP = "draw the whole program at a step as Graphviz DOT, a Mermaid flowchart or an SVG"
FORMATS = ("dot", "mermaid", "svg")
SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg"}


def configure(p) -> None:
    add_program_arguments(p)
    p.add_argument("--at", metavar="STEP", help="the number of steps taken (0 to the program's "
                   "total; default: the end of the backward pass)")
    p.add_argument("--format", choices=FORMATS, help="dot, mermaid or svg (default: from the "
                   "suffix of -o, else dot)")
    p.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of the terminal")
    p.add_argument("--expand", action="store_true",
                   help="draw the nodes of every def call and layer instead of one box each")


def main(args) -> int:
    from ..picture.dot import dot
    from ..picture.layout import arrange, box_lines, label
    from ..picture.mermaid import mermaid
    from ..picture.scene import Picture
    from ..picture.svg import svg

    fmt = args.format
    if fmt is None and args.output is not None:
        fmt = SUFFIXES.get(Path(args.output).suffix.lower())
        if fmt is None:
            raise BpError(f"cannot tell the format from the name '{args.output}': give --format "
                          "dot, mermaid or svg, or name it .dot, .mmd or .svg")
    session = load_session(args)
    step = _step(args.at, session.total)
    session.goto(step)
    picture = Picture(session.graph)
    picture.toggle_all(args.expand)
    scene = picture.scene(session, highlight=0 < step < session.total)
    name = Path(session.graph.filename).name if session.graph.filename else "<-e>"
    title = f"{name}: {scene.where()}, {scene.extent()}"
    if fmt == "svg":
        text = svg(scene, arrange(scene, lambda b: box_lines(scene, b, label), label, spacing=4), title)
    else:
        text = (mermaid if fmt == "mermaid" else dot)(scene, title)
    if args.output is None:
        print(text, end="")
        return OK
    try:
        Path(args.output).write_text(text, encoding="utf-8", errors="backslashreplace")   # a file name not in UTF-8
    except OSError as err:
        raise BpError(f"cannot write {args.output}: {err.strerror or err}") from None
    return OK


def _step(text: str | None, total: int) -> int:
    """--at as a step count between 0 and `total`."""
    if text is None:
        return total
    try:
        return whole(text, 0, total)
    except ValueError:
        raise BpError(f"--at expects a step number from 0 to {total} (this program has {total} "
                      f"steps), got '{text}'") from None
