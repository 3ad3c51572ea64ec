"""Layer sugar issue 9 adds (conv layers; dense with b=NUMBER, b=NAME, bias=false,
train=false) and the two examples built on it: Mazur's step-by-step network, number for number,
and the small CNN on 8x8 images, which builds, runs, steps, checks and trains."""
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
