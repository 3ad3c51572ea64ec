"""Training: the update phase, gradient descent and mini-batch SGD, the examples it trains."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError
from bpdebug.engine import BACKWARD, FORWARD, StepEvent
from bpdebug.train import Trainer, Update, plot_lines

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

XOR_ROWS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_TARGETS = np.array([[0], [1], [1], [0]], float)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def xor_loss(p: dict) -> float:
    """The XOR network's quadratic cost, written out in numpy."""
    h = sigmoid(XOR_ROWS @ p["h.W"] + p["h.b"])
    out = sigmoid(h @ p["out.W"] + p["out.b"])
    return 0.5 * np.sum((out - XOR_TARGETS) ** 2) / 4


def central_difference(loss, params: dict, name: str, eps=1e-6) -> np.ndarray:
    grad = np.zeros_like(params[name])
    for k in np.ndindex(grad.shape):
        plus = {n: v.copy() for n, v in params.items()}
        minus = {n: v.copy() for n, v in params.items()}
        plus[name][k] += eps
        minus[name][k] -= eps
        grad[k] = (loss(plus) - loss(minus)) / (2 * eps)
    return grad


def linreg_program(tmp_path, rows: np.ndarray) -> Path:
    text = "id,x1,x2,y\n" + "".join(f"{i},{float(a)!r},{float(b)!r},{float(c)!r}\n" for i, (a, b, c) in enumerate(rows))
    (tmp_path / "d.csv").write_text(text)
    prog = tmp_path / "lin.bp"
    prog.write_text('data X = csv("d.csv", cols=["id", "x1", "x2"])\ndata Y = csv("d.csv", cols=["y", "id"])\n'
                    "param w = zeros(3, 2)\npred = X @ w\nloss C = quadratic(pred, Y)\n")
    return prog


# ---- the update phase --------------------------------------------------------------------
def test_an_update_subtracts_lr_times_the_gradient_of_the_loss():
    t = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=0.5)
    before = {n: np.array(v) for n, v in t.param_values().items()}
    t.finish_step()
    assert len(t.updates) == 4 and t.losses == [pytest.approx(xor_loss(before))]
    for u in t.updates:
        expected = central_difference(xor_loss, before, u.param)
        np.testing.assert_allclose(u.grad, expected, rtol=1e-5, atol=1e-9)
        np.testing.assert_array_equal(u.old, before[u.param])
        np.testing.assert_allclose(u.new, before[u.param] - 0.5 * expected, rtol=1e-6, atol=1e-10)
        np.testing.assert_array_equal(t.param_values()[u.param], u.new)
        assert u.lr == 0.5 and u.formula == f"{u.param} = {u.param} - 0.5 * dC/d{u.param}"


def test_stepping_through_a_training_step_forward_backward_then_one_update_per_param():
    t = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=1.0)
    n = len(t.session.graph)
    assert (t.phase, t.t) == (FORWARD, 0) and t.position() == (FORWARD, 0, 2 * n)
    kinds, positions = [], []
    while t.phase != "done":
        kinds.append(t.advance())
        positions.append(t.position())
    assert [type(k) for k in kinds] == [StepEvent] * (2 * n) + [Update] * 4
    assert [e.pass_ for e in kinds[:2 * n]] == [FORWARD] * n + [BACKWARD] * n
    assert [u.param for u in kinds[2 * n:]] == ["h.W", "h.b", "out.W", "out.b"]
    assert [u.position for u in kinds[2 * n:]] == [0, 1, 2, 3]
    # One step count, as the Session's (step 7 of 2N), and the updates counted apart.
    assert [p[1:] for p in positions[:2 * n]] == [(k, 2 * n) for k in range(1, 2 * n + 1)]
    assert "update" not in {p[0] for p in positions[:2 * n]}       # 34 of 34 until an update
    assert positions[2 * n:] == [("update", k, 4) for k in (1, 2, 3, 4)]
    assert t.steps_done == 1 and len(t.losses) == 1 and t.t == 2 * n + 4
    # The next step's forward pass uses the updated params.
    new_W = t.param_values()["h.W"]
    event = t.advance()
    assert t.steps_done == 1 and t.session.t == 1 and t.phase == FORWARD
    assert event.node.name == "X"
    t.session.until("h.W")
    np.testing.assert_array_equal(t.session.value("h.W"), new_W)


def test_upcoming_update_previews_without_applying():
    t = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=1.0)
    assert t.upcoming_update() is None and t.update() is None  # not before the backward pass
    t.session.run()
    assert t.phase == "update"
    preview = t.upcoming_update()
    assert t.applied == 0
    done = t.update()
    assert preview.param == done.param
    np.testing.assert_array_equal(preview.new, done.new)


def test_back_takes_back_updates_then_steps_of_the_passes():
    t = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=1.0)
    start = {n: np.array(v) for n, v in t.param_values().items()}
    t.finish_step()
    assert t.steps_done == 1
    t.back(4)
    assert t.steps_done == 0 and t.losses == [] and t.phase == "update"
    for name, value in t.param_values().items():
        np.testing.assert_array_equal(value, start[name])
    t.back(3)
    assert t.phase == BACKWARD and t.session.t == t.session.total - 3
    t.finish_step()
    assert t.steps_done == 1 and t.losses[0] == pytest.approx(xor_loss(start))


def test_a_breakpoint_stops_a_training_run_in_the_middle_of_a_pass():
    t = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=1.0)
    t.run(3)
    t.session.add_breakpoint("h.z", BACKWARD)
    stop = t.run(5)
    assert stop is not None and stop.reason == "breakpoint" and stop.event.node.name == "h.z"
    assert t.steps_done == 3 and t.phase == BACKWARD


def test_training_computes_no_gradient_for_data_unless_asked():
    s = bpdebug.load_file(EXAMPLES / "xor.bp")
    t = Trainer(s, lr=1.0)
    t.session.run()
    assert t.session.grads[t.session.graph.index("X")] is None
    assert t.session.grads[t.session.graph.index("Y")] is None
    t2 = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=1.0, all_gradients=True)
    t2.session.run()
    assert t2.session.grad("X").shape == (4, 2) and np.any(t2.session.grad("X") != 0)
    np.testing.assert_array_equal(t.session.grad("h.W"), t2.session.grad("h.W"))


# ---- mini-batches ------------------------------------------------------------------------
def test_a_mini_batch_takes_the_same_rows_from_every_data_leaf_and_an_epoch_covers_each_row_once(tmp_path):
    rng = np.random.default_rng(1)
    rows = np.c_[rng.normal(size=(12, 2)), rng.normal(size=12)]
    t = Trainer(bpdebug.load_file(linreg_program(tmp_path, rows)), lr=0.1, batch=4, seed=3)
    seen = []
    for step in range(3):
        if step:
            assert t.phase == "done"
            t.begin_step()   # the next batch goes in when the next step begins
        t.session.run()
        X, Y = t.session.value("X"), t.session.value("Y")
        assert X.shape == (4, 3) and Y.shape == (4, 2)
        np.testing.assert_array_equal(X[:, 0], Y[:, 1])        # the same rows in X and Y
        ids = X[:, 0].astype(int)
        np.testing.assert_array_equal(X[:, 1:], rows[ids, :2])
        seen.extend(ids)
        t.finish_step()
    assert sorted(seen) == list(range(12))


def test_a_mini_batch_update_uses_the_batch_mean_gradient(tmp_path):
    rng = np.random.default_rng(2)
    rows = np.c_[rng.normal(size=(10, 2)), rng.normal(size=10)]
    t = Trainer(bpdebug.load_file(linreg_program(tmp_path, rows)), lr=0.1, batch=3, seed=0)
    t.session.run()
    X, Y = t.session.value("X"), t.session.value("Y")
    w = np.array(t.param_values()["w"])

    def loss(p):  # the cost divides by the batch's rows, 3, not the data set's 10
        return 0.5 * np.sum((X @ p["w"] - Y) ** 2) / 3
    u = t.update()
    np.testing.assert_allclose(u.grad, central_difference(loss, {"w": w}, "w"), rtol=1e-5, atol=1e-8)


def test_the_same_seed_draws_the_same_batches(tmp_path):
    rows = np.c_[np.arange(20.0), np.ones(20), np.linspace(0, 1, 20)]
    prog = linreg_program(tmp_path, rows)
    runs = []
    for seed in (5, 5, 6):
        t = Trainer(bpdebug.load_file(prog), lr=0.01, batch=5, seed=seed)
        t.run(6)
        runs.append(t.losses)
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_a_batch_as_large_as_the_data_is_plain_gradient_descent():
    full = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=2.0)
    same = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=2.0, batch=4)
    full.run(20)
    same.run(20)
    assert same.batch is None and same.losses == full.losses


# ---- the examples ------------------------------------------------------------------------
def test_xor_trains_to_a_small_loss_and_predicts_xor():
    t = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=4.0)
    t.run(2000)
    assert t.losses[0] > 0.12 and t.losses[-1] < 0.001
    p = {n: np.array(v) for n, v in t.param_values().items()}
    predictions = sigmoid(sigmoid(XOR_ROWS @ p["h.W"] + p["h.b"]) @ p["out.W"] + p["out.b"])
    assert np.round(predictions).ravel().tolist() == [0, 1, 1, 0]
    assert xor_loss(p) < 0.001


def linreg_truth():
    d = np.loadtxt(EXAMPLES / "linreg.csv", delimiter=",", skiprows=1)
    A = np.c_[d[:, :2], np.ones(len(d))]
    return np.linalg.lstsq(A, d[:, 2], rcond=None)[0]


def test_linear_regression_recovers_the_coefficients():
    t = Trainer(bpdebug.load_file(EXAMPLES / "linreg.bp"), lr=1.0)
    t.run(200)
    w, b = np.ravel(t.param_values()["w"]), np.ravel(t.param_values()["b"])
    np.testing.assert_allclose(np.r_[w, b], linreg_truth(), atol=1e-4)  # the least-squares fit
    np.testing.assert_allclose(np.r_[w, b], [3, -2, 0.5], atol=0.05)    # the generating line
    assert all(b <= a + 1e-12 for a, b in zip(t.losses, t.losses[1:]))   # gradient descent descends


def test_linear_regression_by_mini_batch_sgd():
    t = Trainer(bpdebug.load_file(EXAMPLES / "linreg.bp"), lr=0.5, batch=10, seed=0)
    t.run(300)
    w, b = np.ravel(t.param_values()["w"]), np.ravel(t.param_values()["b"])
    np.testing.assert_allclose(np.r_[w, b], [3, -2, 0.5], atol=0.05)


# ---- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("lr", [0, -0.1, math.nan, math.inf])
def test_the_learning_rate_must_be_positive(lr):
    with pytest.raises(BpError, match="learning rate must be a positive number"):
        Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=lr)


@pytest.mark.parametrize("batch", [0, 5])
def test_the_batch_must_fit_the_data(batch):
    with pytest.raises(BpError, match=r"between 1 and the number of rows \(4\), got " + str(batch)):
        Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr=1.0, batch=batch)


def test_nothing_to_train_and_no_data_to_batch():
    with pytest.raises(BpError, match="no param"):
        Trainer(bpdebug.load("x = 3\nloss C = x * x"), lr=1.0)
    with pytest.raises(BpError, match="a batch picks rows of data leaves"):
        Trainer(bpdebug.load("param w = 3\nloss C = w * w"), lr=1.0, batch=1)


def test_a_program_without_data_trains_its_params():
    t = Trainer(bpdebug.load("param w = 3\nloss C = (w - 1) ^ 2"), lr=0.25)
    t.run(30)
    assert t.param_values()["w"] == pytest.approx(1.0, abs=1e-6)
    assert t.losses[0] == 4.0


# ---- the loss curve ----------------------------------------------------------------------
def test_plot_lines_draws_a_labelled_curve():
    lines = plot_lines([4.0, 3.0, 2.0, 1.0], width=10, height=4)
    assert len(lines) == 6
    assert lines[0].startswith("4 ┤") and lines[3].startswith("1 ┤")
    dots = "".join(line[3:] for line in lines[:4])
    assert all(0x2800 <= ord(c) <= 0x28FF for c in dots)
    assert lines[0][3] != "\u2800" and lines[3][4] != "\u2800"   # high at the left, low at the right
    assert lines[-1].split() == ["1", "4"]


def test_plot_lines_uses_a_log_scale_over_decades_and_skips_non_finite_values():
    lines = plot_lines([1000.0, math.nan, 10.0, 1.0], width=10, height=4)
    assert "(log scale)" in lines[-1] and lines[0].startswith("1000 ┤")
    assert plot_lines([math.nan]) == ["(nothing to plot)"]


def test_matmul_computes_only_the_wanted_side_with_the_same_numbers():
    from bpdebug.ops import OPS
    rng = np.random.default_rng(0)
    for a, b in [(rng.normal(size=(4, 3)), rng.normal(size=(3, 2))), (rng.normal(size=3), rng.normal(size=(3, 2))),
                 (rng.normal(size=(4, 3)), rng.normal(size=3))]:
        out = a @ b
        g = rng.normal(size=out.shape)
        full = OPS["matmul"].vjp(g, out, a, b)
        only_b = OPS["matmul"].vjp(g, out, a, b, need=(False, True))
        only_a = OPS["matmul"].vjp(g, out, a, b, need=(True, False))
        assert only_b[0] is None and only_a[1] is None
        np.testing.assert_array_equal(only_b[1], full[1])
        np.testing.assert_array_equal(only_a[0], full[0])
        # and the full one against central differences of sum(g * (a @ b))
        da = central_difference(lambda p: np.sum(g * (p["a"] @ b)), {"a": a.astype(float)}, "a")
        np.testing.assert_allclose(full[0], da, rtol=1e-6, atol=1e-8)
