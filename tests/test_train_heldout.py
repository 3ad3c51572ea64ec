"""Held-out rows (--val, --eval-every, --metric accuracy), --predict, and the digits example."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.train.evaluate import accuracy, split_rows
from bpdebug.train.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"



def classes_program(tmp_path, rows: int = 40) -> Path:
    """Three classes of 2-d points around three centres; Y one-hot."""
    rng = np.random.default_rng(7)
    label = rng.integers(0, 3, rows)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = centres[label] + rng.normal(scale=0.6, size=(rows, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.eye(3)[label])
    prog = tmp_path / "c.bp"
    prog.write_text('data X = npy("x.npy")\ndata Y = npy("y.npy")\n'
                    "layer o = dense(X, 3, seed=1)\nloss C = softmax_cross_entropy(o, Y)\n")
    return prog


def softmax_ce(x, y, W, b) -> float:
    z = x @ W + b
    z = z - z.max(axis=1, keepdims=True)
    log_softmax = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.sum(y * log_softmax) / len(x))


def test_the_split_is_seeded_disjoint_and_covers_every_row():
    kept, held = split_rows(10, 0.3, seed=4)
    assert len(held) == 3 and len(kept) == 7
    assert sorted([*kept, *held]) == list(range(10))
    again = split_rows(10, 0.3, seed=4)
    assert np.array_equal(again[1], held) and not np.array_equal(split_rows(10, 0.3, seed=5)[1], held)


def test_accuracy_takes_one_hot_rows_or_class_indices():
    scores = np.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.3, 0.2, 0.1]])
    one_hot = np.eye(3)[[1, 0, 1, 2]]
    assert accuracy(scores, one_hot) == 0.5
    assert accuracy(scores, np.array([1, 0, 1, 2])) == 0.5
    assert accuracy(scores, np.array([[1], [0], [2], [0]], float)) == 1.0


def test_the_held_out_loss_and_accuracy_are_those_of_the_held_out_rows(tmp_path):
    prog = classes_program(tmp_path)
    t = Trainer(bpdebug.load_file(prog), 0.5, val=0.25, seed=2, metric="accuracy")
    x, y = np.load(tmp_path / "x.npy"), np.load(tmp_path / "y.npy")
    kept, held = split_rows(40, 0.25, 2)
    assert t.rows == 30 and t.session.graph.node("X").shape == (30, 2)
    np.testing.assert_array_equal(t.session.value("X") if t.session.t else t.data["X"], x[kept])
    t.run(5)
    assert [e.step for e in t.evaluations] == [1, 2, 3, 4, 5]          # full batch: an epoch a step
    p = t.param_values()
    last = t.evaluations[-1]
    assert last.loss == pytest.approx(softmax_ce(x[held], y[held], p["o.W"], p["o.b"]), rel=1e-12)
    predicted = np.argmax(x[held] @ p["o.W"] + p["o.b"], axis=1)
    assert last.metric == np.mean(predicted == np.argmax(y[held], axis=1))
    # the training loss is the one of the training rows only
    t.back(2)
    t.finish_updates()
    assert t.losses[-1] == pytest.approx(softmax_ce(x[kept], y[kept], *_before_last_step(t)), rel=1e-12)


def _before_last_step(t):
    old = {u.param: u.old for u in t.updates}
    return old["o.W"], old["o.b"]


def test_held_out_rows_are_measured_after_each_epoch_or_every_n_steps(tmp_path):
    prog = classes_program(tmp_path)
    t = Trainer(bpdebug.load_file(prog), 0.5, val=0.25, batch=10)           # 30 rows: 3 steps an epoch
    t.run(7)
    assert [e.step for e in t.evaluations] == [3, 6]
    t.evaluate()
    assert [e.step for e in t.evaluations] == [3, 6, 7]
    t = Trainer(bpdebug.load_file(prog), 0.5, val=0.25, batch=10, eval_every=2)
    t.run(4)
    assert [e.step for e in t.evaluations] == [2, 4]
    t.back(len(t.params))                  # step 4 taken back: its score goes too
    assert [e.step for e in t.evaluations] == [2]
    t.finish_updates()
    assert [e.step for e in t.evaluations] == [2, 4]


def test_json_reports_the_held_out_curves_and_the_rate_of_each_step(cli, tmp_path):
    prog = classes_program(tmp_path)
    code, out, _ = cli("train", str(prog), "--steps", "6", "--lr", "1", "--val", "0.25",
                       "--metric", "accuracy", "--eval-every", "2", "--schedule", "step:3:0.5", "--json")
    result = json.loads(out)
    assert code == 0
    assert result["lrs"] == [1, 1, 1, 0.5, 0.5, 0.5]
    assert result["val_steps"] == [2, 4, 6] and result["val_rows"] == 10
    assert len(result["val_losses"]) == 3 and result["val_losses"][-1] < result["val_losses"][0]
    assert result["metric"] == "accuracy" and all(0 <= a <= 1 for a in result["val_metric"])


def test_the_summary_plots_the_held_out_loss_and_gives_the_accuracy(cli, tmp_path):
    prog = classes_program(tmp_path)
    code, out, _ = cli("train", str(prog), "--steps", "20", "--lr", "1", "--val", "0.25",
                       "--metric", "accuracy")
    assert code == 0 and "(10 more held out)" in out
    assert "•" in out and "• on the held-out rows" in out
    assert "held out (10 rows), at step 20: C " in out and "accuracy " in out and "(best " in out


def test_predict_shows_that_xor_outputs_round_to_0_1_1_0(cli):
    code, out, _ = cli("train", str(EXAMPLES / "xor.bp"), "--predict")
    table = out[out.index("out for each row"):].splitlines()
    rows = [line.split("│")[1:4] for line in table if line.startswith("│")]
    assert code == 0 and [(int(r), int(y)) for r, y, _ in rows] == [(0, 0), (1, 1), (2, 1), (3, 0)]
    assert [round(float(o)) for _, _, o in rows] == [0, 1, 1, 0]


def test_predict_in_json_gives_every_row_output_and_target(cli, tmp_path):
    code, out, _ = cli("train", str(classes_program(tmp_path)), "--steps", "3", "--predict", "--json")
    predictions = json.loads(out)["predictions"]
    assert code == 0 and predictions["rows"] == list(range(40))
    assert np.shape(predictions["outputs"]) == (40, 3)
    np.testing.assert_array_equal(predictions["targets"], np.load(tmp_path / "y.npy"))


def test_predict_lists_the_held_out_rows_with_their_class(cli, tmp_path):
    prog = classes_program(tmp_path)
    code, out, _ = cli("train", str(prog), "--steps", "30", "--lr", "1", "--val", "0.25", "--predict")
    assert code == 0 and "o for each held-out row" in out
    held = split_rows(40, 0.25, 0)[1]
    rows = [line.split("│") for line in out.splitlines() if line.startswith("│") and line.split("│")[2].strip().isdigit()]
    assert [int(r[1]) for r in rows] == held.tolist()


def test_predict_needs_a_named_prediction(cli):
    code, _, err = cli("train", "-e", "param w = 3\nloss C = (w - 1)^2", "--steps", "1", "--predict")
    assert code == 2 and "--predict shows the model's output" in err


def test_the_readme_line_takes_the_digits_mlp_past_95_percent_in_under_30_seconds(cli):
    started = time.perf_counter()
    code, out, _ = cli("train", str(EXAMPLES / "digits_mlp.bp"), "--optimizer", "adam", "--lr", "0.01",
                       "--batch", "64", "--steps", "600", "--val", "0.2", "--metric", "accuracy", "--json")
    elapsed = time.perf_counter() - started
    result = json.loads(out)
    assert code == 0 and result["val_rows"] == 359 and result["steps"] == 600
    assert result["val_metric"][-1] >= 0.95
    assert elapsed < 30
