"""Fixtures shared by the tests of the headless commands."""
from __future__ import annotations

import pytest

from bpdebug.cli import main


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
