"""`bpdebug FILE` / `bpdebug tui`: bad input is a message and exit code 2, before any screen."""
from __future__ import annotations

from bpdebug.cli import main


def test_bad_programs_exit_2_without_starting_the_app(tmp_path, capsys):
    assert main(["tui", "-e", "f = (x +"]) == 2
    assert "<-e>:1:" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.bp")]) == 2          # `bpdebug FILE` is `bpdebug tui FILE`
    assert "cannot read" in capsys.readouterr().err
    assert main(["tui", "-e", "f = x * 2", "--set", "x"]) == 2
    assert "--set expects NAME=VALUE" in capsys.readouterr().err
