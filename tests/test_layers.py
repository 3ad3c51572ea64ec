"""Layer sugar issue 9 adds (conv layers; dense with b=NUMBER, b=NAME, bias=false,
train=false) and the two examples built on it: Mazur's step-by-step network, number for number,
and the small CNN on 8x8 images, which builds, runs, steps, checks and trains; the digits CNN, which
trains on the UCI digits in mini-batches."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError
from bpdebug.check import check_session
from bpdebug.commands import execute
from bpdebug.train import Trainer
from bpdebug.train.program import program_training
from bpdebug.train.settings import Settings

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def mazur_error(w: list, b1=0.35, b2=0.60) -> float:
    """Mazur's E_total from his own formulas: w = [w1, ..., w8]."""
    i1, i2 = 0.05, 0.10
    h1 = sigmoid(w[0] * i1 + w[1] * i2 + b1)
    h2 = sigmoid(w[2] * i1 + w[3] * i2 + b1)
    o1 = sigmoid(w[4] * h1 + w[5] * h2 + b2)
    o2 = sigmoid(w[6] * h1 + w[7] * h2 + b2)
    return 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2


MAZUR_W = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
# where w1..w8 sit in the row-vector layers: h.W = [[w1, w3], [w2, w4]], o.W = [[w5, w7], [w6, w8]]
PLACE = {0: ("h.W", (0, 0)), 1: ("h.W", (1, 0)), 2: ("h.W", (0, 1)), 3: ("h.W", (1, 1)),
         4: ("o.W", (0, 0)), 5: ("o.W", (1, 0)), 6: ("o.W", (0, 1)), 7: ("o.W", (1, 1))}


def test_mazur_step_by_step_numbers():
    s = bpdebug.load_file(EXAMPLES / "mazur.bp")
    s.run()
    assert s.value("E") == pytest.approx(0.298371109, abs=1e-9)
    np.testing.assert_allclose(s.value("o"), [0.75136507, 0.772928465], atol=1e-8)
    assert s.grad("o.W")[0, 0] == pytest.approx(0.082167041, abs=1e-9)       # dE/dw5
    assert s.grad("h.W")[0, 0] == pytest.approx(0.000438568, abs=1e-9)       # dE/dw1
    for k, (param, at) in PLACE.items():    # every weight against central differences of his formulas
        up, down = list(MAZUR_W), list(MAZUR_W)
        up[k] += 1e-6
        down[k] -= 1e-6
        want = (mazur_error(up) - mazur_error(down)) / 2e-6
        assert s.grad(param)[at] == pytest.approx(want, rel=1e-6), f"w{k + 1}"
    b1 = (mazur_error(MAZUR_W, b1=0.35 + 1e-6) - mazur_error(MAZUR_W, b1=0.35 - 1e-6)) / 2e-6
    assert np.shape(s.value("h.b")) == () and s.grad("h.b") == pytest.approx(b1, rel=1e-6)   # shared: summed
    t = Trainer(bpdebug.load_file(EXAMPLES / "mazur.bp"), lr=0.5)
    t.finish_step()
    new = t.param_values()
    assert new["o.W"][0, 0] == pytest.approx(0.35891648, abs=1e-8)           # w5 after one update
    assert new["h.W"][0, 0] == pytest.approx(0.149780716, abs=1e-9)          # w1


def test_a_bias_named_by_the_program_is_used_and_not_copied():
    s = bpdebug.load("x = [[0.1, 0.2], [0.3, -0.4]]\nparam c = [0.5, -0.5, 1]\n"
                     "layer h = dense(x, 3, b=c, act=tanh, seed=0)\nloss L = sum(h)")
    s.run()
    g = s.graph
    assert "h.b" not in g.names and g.nodes[g.node("h.z").inputs[1]].name == "c"
    np.testing.assert_allclose(s.grad("c"), np.sum(1 - s.value("h") ** 2, axis=0))


def test_bias_false_leaves_the_bias_out():
    s = bpdebug.load("x = [0.1, 0.2]\nlayer h = dense(x, 3, bias=false, act=relu, seed=0)\nL = sum(h)")
    g = s.graph
    assert "h.b" not in g.names and "h.z" not in g.names and g.nodes[g.node("h.a").inputs[0]].name == "h.xW"


def test_train_false_weights_are_left_alone_by_training():
    text = ("x = [[0.1, 0.2], [0.3, -0.4]]\ny = [[1], [0]]\n"
            "layer h = dense(x, 3, act=tanh, seed=0, train=false)\nlayer o = dense(h, 1, act=sigmoid, seed=1)\n"
            "loss L = quadratic(o, y)")
    s = bpdebug.load(text)
    assert s.graph.node("h.W").kind == s.graph.node("h.b").kind == "leaf"
    assert s.graph.node("o.W").kind == "param"
    before = s.graph.node("h.W").value.copy()
    t = Trainer(s, lr=0.5)
    t.run(3)
    assert sorted(t.param_values()) == ["o.W", "o.b"]
    np.testing.assert_array_equal(t.session.value("h.W"), before)
    assert t.losses[-1] < t.losses[0]


@pytest.mark.parametrize("text, message", [
    ("x = [1, 2]\nlayer h = dense(x, 0)", "units must be a whole number of at least 1, got 0"),
    ("x = [1, 2]\nlayer h = dense(x, 1e309)", "units must be a whole number of at least 1, got inf"),
    ("x = [1, 2]\nlayer h = dense(x, 2.5)", "units must be a whole number of at least 1, got 2.5"),
    ("x = [1, 2]\nlayer h = dense(x, 3, seed=-1)", "seed must be a whole number from 0 to 4294967295, got -1"),
    ("x = [1, 2]\nlayer h = dense(x, 3, seed=y)", "seed takes a number written out, not the name 'y'"),
    ("x = [1, 2]\nlayer h = dense(x, 3, bias=maybe)", "bias takes true or false"),
    ("x = [1, 2]\nlayer h = dense(x, 3, train=1)", "train takes true or false"),
    ("x = [1, 2]\nlayer h = dense(x, 3, b=nope)", "the bias 'nope' is not defined above"),
    ("x = [1, 2]\nparam c = [1, 2]\nlayer h = dense(x, 3, b=c)", "the bias 'c' has shape (2,)"),
    ("x = [1, 2]\nlayer h = dense(x, 3, b=[1, 2])", "b must be one number (shared by the 3 units)"),
    ("x = [1, 2]\nlayer h = dense(x, 3, b=1, bias=false)", "b= gives a bias and bias=false asks for none"),
    ("x = [1, 2]\nlayer h = dense(x, 3, kernel=3)", "dense() has no argument 'kernel'"),
    ("x = [1, 2]\nlayer h = pool(x, 3)", "unknown layer 'pool'"),
    ("x = [1, 2]\nlayer h = conv(x, 3, kernel=3)", "conv() needs an image (C, H, W) or a batch"),
    ("x = randn(1, 5, 5)\nlayer h = conv(x, 3)", "conv() needs kernel="),
    ("x = randn(1, 5, 5)\nlayer h = conv(x, kernel=3)", "conv() needs the number of channels"),
    ("x = randn(1, 5, 5)\nlayer h = conv(x, 3, kernel=7)", "the kernel (7x7) is bigger than the image (5x5)"),
    ("x = randn(1, 5, 5)\nlayer h = conv(x, 3, kernel=3, stride=0)", "stride must be a whole number from 1 to 2147483647, got 0"),
    ("x = randn(1, 5, 5)\nlayer h = conv(x, 3, kernel=[3, 3, 3])", "kernel takes 1 to 2 numbers"),
    ("x = randn(2, 5, 5)\nlayer h = conv(x, W=randn(3, 1, 3, 3))", "W must have shape (out, 2, kh, kw)"),
])
def test_layer_mistakes_are_located_errors_with_hints(text, message):
    with pytest.raises(BpError) as info:
        bpdebug.load(text, "prog.bp")
    err = info.value
    assert message in str(err) and err.line == text.count("\n") + 1 and err.hint, (str(err), err.hint)


# ---- softmax cross-entropy: one node ------------------------------------------------------------

def test_softmax_cross_entropy_is_one_backward_step_that_sends_softmax_minus_y():
    z = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    s = bpdebug.load("z = [[1, 2, 0.5], [-1, 0, 3]]\ny = [[0, 1, 0], [1, 0, 0]]\nloss C = softmax_cross_entropy(z, y)")
    assert [n.name for n in s.graph.nodes] == ["z", "y", "C"]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    s.goto(s.n)
    assert s.value("C") == pytest.approx(-np.sum(y * np.log(p)) / 2, rel=1e-12)
    ev = s.step()                                      # the backward step of C
    assert ev.node.name == "C"
    dz, dy = ev.terms
    assert dz.derivative.startswith("d(softmax_cross_entropy(z, y))/dz = (softmax(z) - y)/rows")
    np.testing.assert_allclose(dz.contribution, (p - y) / 2, rtol=1e-12)
    np.testing.assert_allclose(dy.contribution, -np.log(p) / 2, rtol=1e-12)


# ---- the CNN example --------------------------------------------------------------------------

def test_the_cnn_example_builds_runs_steps_and_checks():
    s = bpdebug.load_file(EXAMPLES / "cnn_8x8.bp")
    g = s.graph
    assert g.node("images").shape == (12, 1, 8, 8) and g.node("c.W").shape == (4, 1, 3, 3)
    assert g.node("c").shape == (12, 4, 8, 8) and g.node("p").shape == (12, 4, 4, 4)
    assert g.node("f").shape == (12, 64) and g.node("o").shape == (12, 3)
    assert "conv2d" in execute(s, "until c.conv").text
    out = execute(s, "print c.conv").text
    assert "c.conv = conv2d(images, c.W, padding=1)" in out
    s.run()
    assert 1.0 < s.value("C") < 1.2
    report = check_session(bpdebug.load_file(EXAMPLES / "cnn_8x8.bp"))
    assert report.ok and not any(c.verdict == "mismatch" for c in report.nodes)


def test_the_cnn_example_learns_its_twelve_images():
    t = Trainer(bpdebug.load_file(EXAMPLES / "cnn_8x8.bp"), lr=0.5)
    t.run(100)
    assert t.losses[0] > 1.1 and t.losses[-1] < 0.01
    s = t.session
    s.goto(s.n)
    labels = np.argmax(s.value("Y"), axis=1)
    np.testing.assert_array_equal(s.value("predicted"), labels)


# ---- the digits CNN: real data in mini-batches ------------------------------------------------

def digits_cnn_trainer() -> Trainer:
    s = bpdebug.load_file(EXAMPLES / "digits_cnn.bp")
    return Trainer.from_settings(s, Settings().updated(program_training(s.graph).given), all_gradients=True)


def test_the_digits_cnn_steps_one_training_step_on_a_batch_of_real_images():
    t = digits_cnn_trainer()
    g = t.session.graph                    # rebuilt for a batch: reshape's -1 is the batch's 64 rows
    assert g.node("images").shape == (64, 1, 8, 8) and g.node("c").shape == (64, 8, 8, 8)
    assert g.node("p").shape == (64, 8, 4, 4) and g.node("f").shape == (64, 128) and g.node("out").shape == (64, 10)
    assert t.optimizer.name == "sgd" and t.evaluator is not None
    events = [t.advance() for _ in range(t.session.total + len(t.params))]  # every step, one at a time
    np.testing.assert_array_equal(t.session.value("images").reshape(64, 64), t.session.value("pixels") / 16)
    assert [u.param for u in events[t.session.total:]] == ["c.W", "c.b", "out.W", "out.b"]
    assert t.steps_done == 1 and math.isfinite(t.losses[0])
    (c,) = [e for e in events[t.session.n:t.session.total] if e.node.name == "C"]   # its backward step
    assert "(softmax(out.z) - Y)/rows" in c.terms[0].derivative
    z, y = t.session.value("out.z"), t.session.value("Y")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(c.terms[0].contribution, (p / p.sum(axis=1, keepdims=True) - y) / 64, rtol=1e-10)


def test_the_digits_cnn_learns_digits_it_never_trained_on():
    t = digits_cnn_trainer()
    t.run(44)                                                               # two epochs of 22 batches
    first, last = t.evaluations[0], t.evaluations[-1]
    assert last.step == 44 and len(t.evaluator.rows) == 359
    assert last.metric > 0.8                                                # chance: one digit in ten
    assert last.loss < first.loss < t.losses[0]
