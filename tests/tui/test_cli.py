"""`bpdebug FILE` / `bpdebug tui`: the options reach the app; bad input is a message and exit
code 2, before any screen."""
from __future__ import annotations

from pathlib import Path

from bpdebug.cli import main
from bpdebug.tui.app import BpDebugApp


def test_bad_programs_exit_2_without_starting_the_app(tmp_path, capsys):
    assert main(["tui", "-e", "f = (x +"]) == 2
    assert "<-e>:1:" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.bp")]) == 2          # `bpdebug FILE` is `bpdebug tui FILE`
    assert "cannot read" in capsys.readouterr().err
    assert main(["tui", "-e", "f = x * 2", "--set", "x"]) == 2
    assert "--set expects NAME=VALUE" in capsys.readouterr().err


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_program_with_params_gets_a_trainer_with_the_options(monkeypatch):
    started = []
    monkeypatch.setattr(BpDebugApp, "run", lambda app, *args, **kwargs: started.append(app))
    assert main(["tui", str(EXAMPLES / "xor.bp"), "--lr", "0.5", "--batch", "2", "--seed", "3"]) == 0
    trainer = started[0].training.trainer
    assert trainer.lr == 0.5 and trainer.batch == 2
    assert started[0].session is trainer.session and trainer.session.graph.node("X").shape == (2, 2)
    assert main(["tui", "-e", "f = x * 2", "--set", "x=1"]) == 0       # no params: no training
    assert started[1].training is None


def exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exit:            # usage errors exit from argparse
        return exit.code


def test_bad_training_options_exit_2(capsys):
    xor = str(EXAMPLES / "xor.bp")
    assert exit_code(["tui", xor, "--lr", "0"]) == 2
    assert "argument --lr: must be a positive number, got 0" in capsys.readouterr().err
    assert exit_code(["tui", xor, "--optimizer", "adamw"]) == 2
    assert "must be one of sgd, momentum, adam, got 'adamw' (did you mean 'adam'?)" in capsys.readouterr().err
    assert main(["tui", xor, "--batch", "9"]) == 2
    assert "between 1 and the number of rows (4)" in capsys.readouterr().err
    assert main(["tui", "-e", "f = x * 2", "--set", "x=1", "--batch", "2"]) == 2
    assert "nothing to train" in capsys.readouterr().err
