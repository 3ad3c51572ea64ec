"""The command line's history, kept between sessions in the user's state directory
($XDG_STATE_HOME/bpdebug/history, else ~/.local/state/bpdebug/history), one command a line.
A directory that cannot be written only means the history is not kept."""
from __future__ import annotations

import os
from pathlib import Path

KEPT = 1000               # commands kept in the file (the latest)


def history_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "bpdebug" / "history"


def load() -> list[str]:
    try:
        lines = history_path().read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip()][-KEPT:]


def save(lines: list[str]) -> None:
    """Write the latest KEPT commands (called after each command, so a crash loses nothing)."""
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines[-KEPT:]), encoding="utf-8")
    except OSError:
        pass
