"""Every test keeps its state (the TUI's command history) in a directory of its own, never in
the user's ~/.local/state."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory, monkeypatch):
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(path))
    return path
