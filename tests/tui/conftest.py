"""Helpers for the TUI tests: programs, and the screen (or one widget) as plain text."""
from __future__ import annotations

from pathlib import Path

import bpdebug

SEED = "x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n"      # f = (x + y) * z, the first seed example
FANOUT = "x = 2\nw = 0.5\na = x * w\nz3 = a * 3\nz4 = a * -1\nL = z3 + z4\n"
NAN = "x = -1\nw = 3\ny = log(x)\nf = y * w\n"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(text: str, name: str = "seed.bp"):
    return bpdebug.load(text, name)


def chain(n: int) -> str:
    """n scalar nodes in a line: x0, then x_i = sin(x_(i-1))."""
    return "x0 = 0.5\n" + "".join(f"x{i} = sin(x{i - 1})\n" for i in range(1, n))


def screen_text(app) -> str:
    """What the terminal shows, as text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def log_text(app) -> str:
    """Everything written to the log panel, scrolled out of view or not."""
    return "\n".join(strip.text for strip in app.log_panel.lines)


def row_text(app, name: str) -> str:
    """The node list's row for node `name` (it must be on screen)."""
    for line in screen_text(app).splitlines():
        cells = line.split("│")
        if len(cells) > 1 and f" {name} " in cells[1]:
            return cells[1]
    raise AssertionError(f"no row for {name} on screen:\n{screen_text(app)}")


def flat(text: str) -> str:
    """Text with its line wrapping undone (the log wraps long lines)."""
    return " ".join(text.split())


def training_app(name="xor.bp", lr=0.1):
    """(the app over an example that trains, stepping its Trainer; the Trainer)."""
    from bpdebug.train import Trainer
    from bpdebug.tui.app import BpDebugApp

    trainer = Trainer(bpdebug.load_file(EXAMPLES / name), lr, all_gradients=True)
    return BpDebugApp(trainer.session, trainer=trainer), trainer
