"""`bpdebug train`: output, --json, --save, and a clear message with exit 2 for bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpdebug.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
XOR = str(EXAMPLES / "xor.bp")


def run(capsys, *argv):
    """Exit code, stdout and stderr of `bpdebug train ARGV` (usage errors exit from argparse)."""
    try:
        code = main(["train", *argv])
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_json_reports_steps_losses_and_params(capsys):
    code, out, err = run(capsys, XOR, "--steps", "5", "--lr", "2", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["steps"] == 5 and len(result["losses"]) == 5
    assert result["losses"][0] == pytest.approx(0.127769, abs=1e-6)
    assert result["losses"][-1] < result["losses"][0]
    assert set(result["params"]) == {"h.W", "h.b", "out.W", "out.b"}
    assert np.shape(result["params"]["h.W"]) == (2, 3)


def test_save_writes_the_trained_params_without_pickle(capsys, tmp_path):
    out_file = tmp_path / "trained.npz"
    code, out, _ = run(capsys, XOR, "--steps", "3", "--lr", "2", "--json", "--save", str(out_file))
    assert code == 0
    params = json.loads(out)["params"]
    with np.load(out_file, allow_pickle=False) as saved:
        assert set(saved.files) == set(params)
        for name in params:
            np.testing.assert_allclose(saved[name], params[name])


def test_the_summary_has_a_param_table_and_a_loss_plot(capsys):
    code, out, _ = run(capsys, XOR, "--steps", "300", "--lr", "4", "--batch", "2", "--seed", "1")
    assert code == 0
    assert "300 steps, sgd, lr 4, mini-batches of 2 rows" in " ".join(out.split())   # wrapped after a long path
    for name in ("h.W", "h.b", "out.W", "out.b"):
        assert name in out
    assert "C: " in out and " at step 300" in out
    assert any(0x2800 <= ord(c) <= 0x28FF for c in out)   # the braille loss curve


def test_set_values_are_kept_when_the_program_is_built_again_for_a_batch(capsys, tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n3,6\n4,8\n")
    prog = tmp_path / "p.bp"
    prog.write_text('data X = csv("d.csv", cols=["x"])\ndata Y = csv("d.csv", cols=["y"])\n'
                    "param w = zeros(1, 1)\nloss C = quadratic(X @ w * k, Y)\n")
    code, out, _ = run(capsys, str(prog), "--set", "k=2", "--steps", "200", "--lr", "0.02", "--batch", "2", "--json")
    assert code == 0
    assert json.loads(out)["params"]["w"] == [[pytest.approx(1.0, abs=1e-3)]]  # y = 2x = k * w * x


def test_a_loss_that_grows_a_thousandfold_stops_training_with_exit_1(capsys):
    code, out, err = run(capsys, str(EXAMPLES / "linreg.bp"), "--steps", "2000", "--lr", "100", "--json")
    assert code == 1
    result = json.loads(out)
    assert result["steps"] == 2 and result["losses"][1] > 1000 * result["losses"][0]
    assert result["diverged"]["step"] == 2
    assert "training stopped at step 2: C grew past 1000 times its first value" in err
    assert "smaller learning rate" in err


@pytest.mark.parametrize("extra, message", [
    (["--lr", "0"], "argument --lr: must be a positive number, got 0"),
    (["--lr", "-0.5"], "argument --lr: must be a positive number, got -0.5"),
    (["--lr", "nan"], "argument --lr: must be a positive number, got nan"),
    (["--lr", "1", "--steps", "0"], "argument --steps: must be a whole number from 1 to 1000000000, got 0"),
    (["--lr", "1", "--batch", "5"], "the batch size must be between 1 and the number of rows (4), got 5"),
    (["--lr", "1", "--batch", "0"], "argument --batch: must be a whole number from 1 to 1000000000, got 0"),
])
def test_bad_options_exit_2(capsys, extra, message):
    argv = [XOR, *extra] + ([] if "--steps" in extra else ["--steps", "3"])
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and out == "" and "Traceback" not in err


def write(tmp_path, program: str, files: dict) -> str:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "p.bp").write_text(program + "\nparam w = zeros(2, 1)\nloss C = sum(X @ w)\n")
    return str(tmp_path / "p.bp")


@pytest.mark.parametrize("program, files, message", [
    ('data X = csv("gone.csv")', {}, "cannot read data file 'gone.csv'"),
    ('data X = csv("d.csv", cols=[0, 7])', {"d.csv": "a,b\n1,2\n"}, "has no column 7"),
    ('data X = csv("d.csv", cols=["a", "c"])', {"d.csv": "a,b\n1,2\n"}, "has no column 'c'"),
    ('data X = csv("d.csv")', {"d.csv": "a,b\n1,2\n3,x\n"}, "'d.csv' line 3, column 'b' (index 1): 'x' is not a number"),
    ('data X = csv("d.csv")', {"d.csv": "a,b\n1,2\nnan,4\n"}, "line 3, column 'a' (index 0): nan is not a finite number"),
    ('data X = csv("d.csv")\ndata Z = csv("e.csv")', {"d.csv": "1,2\n3,4\n", "e.csv": "1\n"},
     "data 'Z' has 1 rows but 'X' has 2"),
])
def test_bad_data_exits_2_with_the_place(capsys, tmp_path, program, files, message):
    code, _, err = run(capsys, write(tmp_path, program, files), "--steps", "2", "--lr", "0.1")
    assert code == 2
    assert message in err and "p.bp:" in err and "Traceback" not in err


def test_the_command_in_a_subprocess_exits_2_and_never_loads_textual(tmp_path):
    code = ("import sys\nfrom bpdebug.cli import main\n"
            f"code = main(['train', {XOR!r}, '--steps', '2', '--lr', '1', '--json'])\n"
            "assert 'textual' not in sys.modules, 'train imported textual'\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    bad = subprocess.run([sys.executable, "-m", "bpdebug", "train", write(tmp_path, 'data X = csv("no.csv")', {}),
                          "--steps", "2", "--lr", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "cannot read data file 'no.csv'" in bad.stderr and bad.stdout == ""
