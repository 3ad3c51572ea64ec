"""Fixtures shared by the tests: every test keeps its state (the TUI's command history) in a
directory of its own, never in the user's ~/.local/state; `cli` runs the command line."""
from __future__ import annotations

import pytest

from bpdebug.cli import main


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory, monkeypatch):
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(path))
    return path


@pytest.fixture
def cli(capsys):
    """bpdebug's command line in this process: cli("train", FILE, "--json") gives (exit code,
    stdout, stderr); usage errors, which argparse exits with, give their exit code too."""
    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit:
            code = exit.code
        out, err = capsys.readouterr()
        return code, out, err
    return run
