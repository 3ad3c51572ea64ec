"""Training settings: a program's own `train` statement, the flags that override it, and one
clear message with exit 2 for every bad value, whichever way it came."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError
from bpdebug.train.program import program_training

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
XOR = str(EXAMPLES / "xor.bp")
SQUARE = "param w = 3\nloss C = (w - 1)^2\n"



def test_the_train_statement_is_read_and_the_loss_names_what_it_compares():
    s = bpdebug.load_file(XOR)
    t = program_training(s.graph)
    assert t.given == {"lr": 4.0, "steps": 2000}
    assert (t.prediction, t.target) == ("out", "Y")
    s = bpdebug.load(SQUARE + 'train optimizer=adam, schedule="step:5:0.5", nesterov=false, eval_every=3\n')
    assert program_training(s.graph).given == {"optimizer": "adam", "schedule": "step:5:0.5",
                                               "nesterov": False, "eval_every": 3}
    assert program_training(s.graph).prediction is None       # the loss is no cost of names


def test_a_program_trains_with_its_own_settings_and_the_flags_override_them(cli):
    code, out, _ = cli("train", XOR, "--json")
    result = json.loads(out)
    assert code == 0 and result["steps"] == 2000 and set(result["lrs"]) == {4.0}
    assert result["losses"][-1] < 0.001                     # the documented loss: about 0.0005
    code, out, _ = cli("train", XOR, "--steps", "3", "--lr", "0.5", "--json")
    result = json.loads(out)
    assert result["steps"] == 3 and result["lrs"] == [0.5, 0.5, 0.5]


def test_without_steps_anywhere_train_asks_for_them(cli):
    code, _, err = cli("train", "-e", SQUARE)
    assert code == 2 and "how many steps? give --steps N, or `train steps=N` in the program" in err


def test_the_default_rate_depends_on_the_optimizer(cli):
    for optimizer, rate in (("sgd", 0.1), ("momentum", 0.1), ("adam", 0.001)):
        code, out, _ = cli("train", "-e", SQUARE, "--steps", "1", "--optimizer", optimizer, "--json")
        assert code == 0 and json.loads(out)["lrs"] == [rate]


@pytest.mark.parametrize("statement, message, caret", [
    ("train lrr=2", "train has no setting 'lrr'", "lrr"),
    ("train lr=-2", "lr must be a positive number, got -2", "-2"),
    ("train optimizer=adamw", "optimizer must be one of sgd, momentum, adam, got 'adamw' (did you mean 'adam'?)", "adamw"),
    ("train momentum=1", "momentum must be at least 0 and less than 1, got 1", "1"),
    ("train steps=1e12", "steps must be a whole number from 1 to 1000000000, got 1000000000000", "1e12"),
    ("train steps=2.5", "steps must be a whole number", "2.5"),
    ("train val=1", "val must be between 0 and 1 (such as 0.2), got 1", "1"),
    ("train seed=-1", "seed must be a whole number from 0", "-1"),
    ("train metric=f1", "metric must be one of accuracy, got 'f1'", "f1"),
    ("train schedule=warmup", "unknown schedule 'warmup'", "warmup"),
    ('train schedule="step:0:2"', "EVERY in step:EVERY:FACTOR", '"step:0:2"'),
    ("train nesterov=2", "nesterov must be true or false, got 2", "2"),
    ("train lr=2 * 3", "train lr= takes a number or a name", "2 * 3"),
    ("train lr=2, lr=3", "train sets 'lr' twice", "lr=3"),
])
def test_bad_settings_in_the_program_are_located(cli, statement, message, caret):
    code, out, err = cli("run", "-e", SQUARE + statement)
    assert code == 2 and out == "" and message in err and "Traceback" not in err
    line = err.splitlines()
    at = line[1].index(statement) + statement.index(caret)
    assert line[0].startswith("<-e>:3:") and line[2].index("^") == at


def test_a_second_train_statement_is_an_error():
    with pytest.raises(BpError, match=r"a second train statement \(the first is at line 3\)"):
        bpdebug.load(SQUARE + "train lr=1\ntrain steps=2")


@pytest.mark.parametrize("flags, message", [
    (["--optimizer", "rmsprop"], "argument --optimizer: must be one of sgd, momentum, adam, got 'rmsprop'"),
    (["--schedule", "exp"], "argument --schedule: unknown schedule 'exp'; the schedules are constant, linear"),
    (["--momentum", "1"], "argument --momentum: must be at least 0 and less than 1, got 1"),
    (["--momentum", "-0.1"], "argument --momentum: must be at least 0 and less than 1"),
    (["--val", "0"], "argument --val: must be between 0 and 1 (such as 0.2)"),
    (["--val", "1.5"], "argument --val: must be between 0 and 1 (such as 0.2)"),
    (["--val", "inf"], "argument --val: must be between 0 and 1 (such as 0.2)"),
    (["--steps", "1e309"], "argument --steps: must be a whole number from 1 to 1000000000, got 1e309"),
    (["--steps", "10^12"], "argument --steps: must be a whole number from 1 to 1000000000, got 10^12"),
    (["--batch", "-1"], "argument --batch: must be a whole number"),
    (["--seed", "1e30"], "argument --seed: must be a whole number from 0"),
    (["--weight-decay", "-1"], "argument --weight-decay: must be a number of at least 0"),
    (["--eps", "0"], "argument --eps: must be a positive number"),
    (["--metric", "accuracy"], "metric is measured on held-out rows: hold some out with val"),
    (["--eval-every", "2"], "eval_every is measured on held-out rows"),
    (["--nesterov"], "nesterov is a kind of momentum: use it with optimizer momentum"),
    (["--schedule", "cosine", "--steps", "5"], None),
    (["--val", "0.1"], "val 0.1 of 4 rows holds out no row"),
    (["--val", "0.9"], "val 0.9 of 4 rows leaves no row to train on"),
    (["--val", "0.5", "--batch", "3"], "between 1 and the number of training rows (2), got 3"),
    (["--val", "0.25", "--metric", "accuracy"], "accuracy needs one score per class in each row "
                                                "(shape (rows, classes)); the output 'out' has shape (1, 1)"),
])
def test_bad_training_flags_exit_2_with_one_message(cli, flags, message):
    code, out, err = cli("train", XOR, "--steps", "2", *flags, "--json")
    if message is None:
        assert code == 0
        return
    assert code == 2 and message in err and out == "" and "Traceback" not in err


def test_a_schedule_over_steps_needs_the_steps(cli):
    code, _, err = cli("tui", "-e", SQUARE, "--schedule", "linear")
    assert code == 2 and "a linear schedule runs over a number of steps" in err


def test_accuracy_needs_a_cost_of_two_names(cli, tmp_path):
    (tmp_path / "d.csv").write_text("a,b,c,d\n1,0,1,0\n0,1,0,1\n1,1,1,0\n0,0,0,1\n1,0,1,0\n")
    prog = tmp_path / "p.bp"
    prog.write_text('data X = csv("d.csv", cols=[0, 1])\ndata Y = csv("d.csv", cols=[2, 3])\n'
                    "layer o = dense(X, 2, seed=1)\nloss C = softmax_cross_entropy(o * 1, Y)\n")
    code, _, err = cli("train", str(prog), "--steps", "2", "--val", "0.4", "--metric", "accuracy")
    assert code == 2 and "accuracy compares the model's output with its labels" in err


def test_settings_checked_in_the_api_too():
    from bpdebug.train.trainer import Trainer
    with pytest.raises(BpError, match="a metric and eval_every are measured on held-out rows"):
        Trainer(bpdebug.load_file(XOR), 0.1, metric="accuracy")
    with pytest.raises(BpError, match="val holds out rows of the data, and the program has no data"):
        Trainer(bpdebug.load(SQUARE), 0.1, val=0.5)
    assert np.isclose(Trainer(bpdebug.load(SQUARE), 0.1).rate, 0.1)
