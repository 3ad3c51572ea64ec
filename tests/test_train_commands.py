"""The command language on a program that trains (`bpdebug script`, the TUI's command line):
train N, lr, restart to the initial params, and stepping into the update phase."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.cli import main
from bpdebug.train.commands import execute
from bpdebug.train.optimizers import make_optimizer
from bpdebug.train.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
XOR = str(EXAMPLES / "xor.bp")
SQUARE = "param w = 3\nloss C = (w - 1)^2"


def script(capsys, *argv):
    code = main(["script", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_n_works_in_script_and_trains_as_the_trainer_does(capsys):
    code, out, err = script(capsys, XOR, "-c", "train 50", "-c", "p C")
    t = Trainer(bpdebug.load_file(XOR), 4.0)                  # xor.bp's own `train lr=4`
    t.run(50)
    assert code == 0 and err == ""
    assert f"50 training steps done (to step 50): C 0.127769 -> {t.losses[-1]:.6g}" in out
    assert f"value: {t.losses[-1]:.6g}"[:14] in out


def test_script_takes_the_training_flags(capsys):
    code, out, _ = script(capsys, XOR, "--optimizer", "adam", "--lr", "0.05", "-c", "lr", "-c", "train 3")
    assert code == 0 and "lr 0.05 (adam (beta1 0.9, beta2 0.999, eps 1e-08))" in out


def trainer(text=SQUARE, **kwargs) -> Trainer:
    return Trainer(bpdebug.load(text), 0.5, **kwargs)


def test_step_goes_on_past_the_backward_pass_one_update_at_a_time():
    t = trainer(optimizer=make_optimizer("momentum", momentum=0.9))
    out = execute(t, "continue").text
    assert "done: C = 4; every gradient is final" in out
    assert "the updates are next: `step` applies one, `continue` all of them" in out
    out = execute(t, "step").text.splitlines()
    assert out[0] == "[update 1/1] w = w - 0.5 * v"
    assert out[1] == "  w was 3; dC/dw = 4"
    assert out[2] == "  v = 0.9 * v + dC/dw = 0.9 * 0 + 4 = 4"
    assert out[3] == "  w = w - 0.5 * v = 3 - 0.5 * 4 = 1"
    assert out[4] == "training step 1 done: C = 4"
    assert t.param_values()["w"] == 1.0
    assert execute(t, "step").text.startswith("[forward 1/10] w = 1")     # the next training step


def test_lr_shows_and_sets_the_rate_of_the_updates_to_come():
    t = trainer()
    assert execute(t, "lr").text == "lr 0.5 (sgd)"
    assert execute(t, "lr 0.25").text == "lr 0.25 (sgd)"
    execute(t, "train 1")
    assert t.rates == [0.25] and t.param_values()["w"] == 3 - 0.25 * 4
    result = execute(t, "lr -1")
    assert result.error and result.text == "lr must be a positive number, got -1"


def test_restart_goes_back_to_the_initial_params_and_restart_step_to_this_steps_start():
    t = trainer(optimizer=make_optimizer("adam"))
    execute(t, "train 3")
    execute(t, "step 4")
    assert t.steps_done == 3 and t.param_values()["w"] != 3
    out = execute(t, "restart step").text
    assert out == "back to the start of training step 4" and t.t == 0 and t.steps_done == 3
    out = execute(t, "restart").text
    assert out.startswith("restarted: the initial params, before training step 1")
    assert t.param_values()["w"] == 3 and t.losses == [] and t.state[t.params[0]] is None
    execute(t, "train 3")
    again = trainer(optimizer=make_optimizer("adam"))
    again.run(3)
    assert t.losses == again.losses                       # the optimizer's state started again too
    assert execute(t, "restart now").error


def test_back_stays_within_the_training_step():
    t = trainer()
    execute(t, "train 1")
    execute(t, "step")
    assert execute(t, "back").text == "at the start: nothing stepped yet"
    assert "an earlier training step cannot be taken back" in execute(t, "back").text


def test_set_waits_for_the_updates_and_where_says_where_training_is():
    t = trainer()
    execute(t, "continue")
    assert execute(t, "where").text == ("training step 1 (sgd, lr 0.5), update phase: 0 of 1 updates "
                                        "applied; next: w")
    execute(t, "step")
    for command in ("set w = 2", "jump 1"):          # the passes stay as the update found them
        result = execute(t, command)
        assert result.error and f"before a `{command.split()[0]}`" in result.text
    assert t.session.t == t.session.total and t.applied == 1
    assert execute(t, "where").text.startswith("training step 1 (sgd, lr 0.5) done: C = 4")
    execute(t, "back")
    assert not execute(t, "jump 1").error and t.session.t == 1


def test_help_names_the_training_commands_once_each_in_columns():
    lines = execute(trainer(), "help").text.splitlines()
    assert [line.split()[0] for line in lines].count("restart") == 1
    assert "restart [step]    (run) back to the initial params" in "\n".join(lines)
    assert lines[-2:] == [line for line in lines if line.startswith(("train [N]", "lr [LR]"))]


def test_quit_ends_a_script_that_trains(capsys):
    code, out, err = script(capsys, "-e", SQUARE, "-c", "train 2", "-c", "quit", "-c", "train 5")
    assert code == 0 and err == "" and "(bpdebug) train 5" not in out


def test_help_lists_the_training_commands_and_other_commands_still_work():
    t = trainer()
    text = execute(t, "help").text
    assert "train [N]" in text and "lr [LR]" in text and "restart [step]" in text and "watch EXPR" in text
    assert execute(t, "help train").text.startswith("train [N]")
    assert execute(t, "print w").text.startswith("w = 3")
    assert execute(t, "nosuch").error


def test_train_reports_divergence_as_an_error():
    t = Trainer(bpdebug.load("param w = 1e300\nloss C = (w - 1e300) * 2"), 1e308)
    result = execute(t, "train 5")
    assert result.error and "training stopped at step 1" in result.text


def test_a_program_without_params_has_no_train_command(capsys):
    code, out, err = script(capsys, "-e", "x = 3; y = x * x", "-c", "train 2")
    assert code == 2 and "unknown command 'train'" in err


@pytest.mark.parametrize("arg", ["0", "x", "²", "9" * 40, "inf", "-1", "1e309", "10^12", "1e10"])
def test_train_counts_are_checked(arg):
    result = execute(trainer(), f"train {arg}")
    assert result.error and "the number of steps must be a whole number from 1 to 1000000000" in result.text
    assert np.isfinite(trainer().rate)
