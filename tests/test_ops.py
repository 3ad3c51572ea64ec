"""The functions issue 9 adds, one at a time: values against numpy or math written out here,
the conventions (ties, constants, the gradient that stops), dropout's mask across stepping and
replays, every mistake a user can make with them (a located message, exit 2, a hint), `check`
calling their kinks kinks, and shapes inferred without computing anything."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bpdebug
from bpdebug import BpError
from bpdebug.check import check_session
from bpdebug.ops import OPS
from bpdebug.trace import open_trace, recording

ROOT = Path(__file__).resolve().parent.parent
X = np.array([[1.5, -2.0, 0.25], [-0.5, 3.0, 0.0]])
XL = json.dumps(X.tolist())


def run(text: str):
    s = bpdebug.load(text)
    assert s.run().reason == "end"
    return s


def erf_cdf(x):
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


# ---- values ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, want", [
    ("square(x)", X ** 2),
    ("log1p(x + 3)", np.log(1 + (X + 3))),
    ("expm1(x)", np.exp(X) - 1),
    ("sign(x)", [[1, -1, 1], [-1, 1, 0]]),
    ("leaky_relu(x)", np.where(X > 0, X, 0.01 * X)),
    ("leaky_relu(x, slope=0.2)", np.where(X > 0, X, 0.2 * X)),
    ("leaky_relu(x, 0.2)", np.where(X > 0, X, 0.2 * X)),
    ("elu(x)", np.where(X > 0, X, np.exp(X) - 1)),
    ("elu(x, alpha=0.5)", np.where(X > 0, X, 0.5 * (np.exp(X) - 1))),
    ("gelu(x)", X * erf_cdf(X)),
    ("clip(x, -1, 1)", [[1, -1, 0.25], [-0.5, 1, 0]]),
    ("where([[1, 0, 1], [0, 0, 1]], x, 10)", [[1.5, 10, 0.25], [10, 10, 0]]),
    ("stop_gradient(x)", X),
    ("detach(x)", X),
    ("max(x, axis=1)", [1.5, 3.0]),
    ("min(x, axis=0)", [-0.5, -2.0, 0.0]),
    ("max(x, 0)", np.maximum(X, 0)),              # two arguments: elementwise
    ("logsumexp(x, axis=1)", np.log(np.sum(np.exp(X), axis=1))),
    ("argmax(x, axis=1)", [0, 1]),
    ("argmin(x, axis=0)", [1, 0, 1]),
    ("argmax(x)", 4),                             # in the flattened tensor, as numpy
    ("reshape(x, [3, -1])", X.reshape(3, 2)),
    ("reshape(x, [6])", X.reshape(6)),
    ("flatten(reshape(x, [2, 3, 1]))", X),
    ("concat([x, x], axis=1)", np.concatenate([X, X], axis=1)),
    ("concat([x, x])", np.concatenate([X, X])),
    ("stack([x, x], axis=2)", np.stack([X, X], axis=2)),
    ("dot([1, 2], [3, 4])", 11),
    ("outer([1, 2], [3, 4, 5])", [[3, 4, 5], [6, 8, 10]]),
    ("transpose(reshape(x, [1, 2, 3]), axes=[2, 0, 1])", X.reshape(1, 2, 3).transpose(2, 0, 1)),
])
def test_each_function_computes_what_its_definition_says(call, want):
    s = run(f"x = {XL}\ny = {call}\nL = sum(y)")
    np.testing.assert_allclose(s.value("y"), want, rtol=1e-13, atol=1e-15)


def test_scalars_take_the_float_path_with_the_same_answers():
    s = run("x = -0.7\nL = square(x) + log1p(x) + expm1(x) + sign(x) + leaky_relu(x, 0.3) + elu(x) + gelu(x)"
            " + clip(x, -0.5, 1) + where(0, x, 2) + max(x) + logsumexp(x)")
    x = -0.7
    want = (x * x + math.log1p(x) + math.expm1(x) - 1 + 0.3 * x + math.expm1(x) + x * 0.5 * math.erfc(-x / math.sqrt(2))
            - 0.5 + 2 + x + x)
    assert s.value("L") == pytest.approx(want, rel=1e-14)
    assert s.grad("x") == pytest.approx(2 * x + 1 / (1 + x) + math.exp(x) + 0 + 0.3 + math.exp(x)
                                        + erf_cdf(x) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
                                        + 0 + 0 + 1 + 1, rel=1e-12)


def test_logsumexp_is_stable_for_large_and_minus_infinite_values():
    s = run("x = [[1000, 1000], [-1000, -999]]\nL = sum(logsumexp(x, axis=1))")
    np.testing.assert_allclose(s.value("L.1"), [1000 + math.log(2), -999 + math.log(1 + math.exp(-1))])
    np.testing.assert_allclose(s.grad("x"), [[0.5, 0.5], [1 / (1 + math.e), math.e / (1 + math.e)]])


def test_a_tie_sends_the_gradient_to_the_first_index_and_argmax_picks_it():
    s = run("x = [[2, 5, 5], [7, 1, 7]]\nm = max(x, axis=1)\nn = min(x)\na = argmax(x, axis=1)\nL = sum(m) + n")
    assert s.value("a").tolist() == [1, 0]
    assert s.grad("x").tolist() == [[0, 1, 0], [1, 1, 0]]          # min's one 1 is x[1, 1]


def test_argmax_is_a_constant_with_no_gradient():
    s = run("x = [[2, 5, 3], [7, 1, 8]]\na = argmax(x, axis=1)\nL = sum(a * sum(x, axis=1))")
    a = s.graph.node("a")
    assert not a.needs_grad and s.grads[a.index] is None
    np.testing.assert_allclose(s.grad("x"), [[1, 1, 1], [2, 2, 2]])   # through sum(x, axis=1) only


def test_stop_gradient_sends_zero_and_says_the_gradient_stops_there():
    s = bpdebug.load("x = 3\ny = x * x\nz = stop_gradient(y) * x\nL = z + detach(x)")
    s.run()
    assert s.grad("x") == 9.0      # y is a constant to the backward pass: dz/dx = y
    (z1,) = [n for n in s.graph.nodes if n.op.name == "stop_gradient" and n.inputs == (s.graph.index("y"),)]
    ev = s.event(s.total - 1 - z1.index)
    (term,) = ev.terms
    assert term.contribution == 0.0 and "the gradient stops here" in term.derivative
    report = check_session(bpdebug.load("x = 3\ny = x * x\nz = stop_gradient(y) * x\nL = z + detach(x)"))
    assert report.ok
    assert {c.verdict for c in report.nodes if c.op == "stop_gradient"} == {"unchecked"}
    assert all(c.verdict == "ok" for c in report.leaves)   # the whole-graph check holds y still


def test_dropout_scales_what_it_keeps_and_keeps_one_mask_through_back_set_and_replay(tmp_path):
    text = "x = ones(40, 50)\nd = dropout(x, p=0.25, seed=7)\nL = sum(d * d)"
    s = run(text)
    d = s.value("d")
    assert set(np.unique(d)) == {0.0, 1 / 0.75}
    assert 0.2 < np.mean(d == 0) < 0.3
    np.testing.assert_array_equal(s.grad("x"), 2 * d * d)
    s.back(s.total)
    s.run()
    np.testing.assert_array_equal(s.value("d"), d)
    s.set_leaf("x", 2 * np.ones((40, 50)))
    np.testing.assert_array_equal(s.value("d"), 2 * d)
    other = run(text.replace("seed=7", "seed=8"))
    assert not np.array_equal(other.value("d"), d)
    live = bpdebug.load(text)
    with recording(live, tmp_path / "t.bpt"):
        live.run()
    replay = open_trace(tmp_path / "t.bpt")
    replay.run()
    np.testing.assert_array_equal(replay.value("d"), d)


def test_where_sends_the_gradient_to_the_branch_its_mask_picks():
    s = run("m = [1, 0, 1]\na = [1, 2, 3]\nb = [10, 20, 30]\nL = sum(where(m, a * a, b * b))")
    assert s.grad("a").tolist() == [2, 0, 6] and s.grad("b").tolist() == [0, 40, 0]
    assert s.grad("m").tolist() == [0, 0, 0]


def test_concat_and_stack_send_each_part_its_slice():
    s = run("a = [1, 2]\nb = [3]\nL = sum(concat([a, b, a]) * [1, 2, 3, 4, 5]) + sum(stack([b, b]) * [[10], [20]])")
    assert s.grad("a").tolist() == [5, 7] and s.grad("b").tolist() == [33]


def test_new_functions_read_as_code_with_their_attributes():
    s = bpdebug.load("x = [[1, -2], [3, 4]]\ny = leaky_relu(x, slope=0.2)\nm = max(x, axis=1)\n"
                     "r = reshape(x, [4])\nc = concat([x, x], axis=1)\nL = sum(y) + sum(m) + sum(r) + sum(c)")
    g = s.graph
    assert g.formula(g.node("y")) == "y = leaky_relu(x, slope=0.2)"
    assert g.local_text(g.node("y"), 0) == "1 if x > 0 else 0.2"
    assert g.formula(g.node("m")) == "m = max(x, axis=1)" and g.line(g.node("m")) == "m: (2,) = reduce_max x axis=1"
    assert g.formula(g.node("r")) == "r = reshape(x, [4])"
    assert g.formula(g.node("c")) == "c = concat([x, x], axis=1)"


def test_every_op_has_a_shape_rule_and_a_local_derivative_text():
    for op in OPS.values():
        if op.name in ("leaf", "const"):
            continue
        assert op.shape is not None or op.elementwise, op.name
        assert op.local and all(op.local), op.name


# ---- shapes without the work (issue 13) ----------------------------------------------------------

def test_building_infers_shapes_without_running_the_forward_pass():
    program = "x = ones(7000, 7000)\nf = x @ x\nL = sum(f)"
    bpdebug.load(program.replace("x @ x", "x"))   # the first 392 MB a process touches cost seconds on some machines
    start = time.perf_counter()
    s = bpdebug.load(program)
    took = time.perf_counter() - start
    assert s.graph.node("f").shape == (7000, 7000) and s.values[s.graph.index("f")] is None
    assert took < 5.0, took    # the product alone takes about 20 s; building takes ~0.1 s on an idle machine


def test_an_axis_a_scalar_does_not_have_is_a_shape_error_at_load():
    for text in ("x = 3; f = sum(x, axis=1)", "x = 2; f = sum(x, axis=0)", "x = 2; f = mean(x, axis=0)",
                 "x = 2; f = max(x, axis=0)", "x = 2; f = softmax(x)"):
        with pytest.raises(BpError) as info:
            bpdebug.load(text)
        assert "shapes do not fit" in info.value.message and "a scalar has none" in info.value.hint
    assert run("x = 2; f = sum(x) + mean(x) + max(x)").value("f") == 6


# ---- errors: located, exit 2, a hint ------------------------------------------------------------

ERRORS = [
    # (program, message fragment, hint fragment)
    ("x = [1, 2]\nf = sum(x, axis=1e309)", "axis must be a whole number from -2147483647 to 2147483647, got inf", "axes count from 0"),
    ("x = [1, 2]\nf = sum(x, axis=0.5)", "axis must be a whole number from -2147483647 to 2147483647, got 0.5", "axes count from 0"),
    ("x = [1, 2]\nf = sum(x, axis=y)", "axis takes a number written out, not the name 'y'", "fixed when the graph"),
    ("x = [1, 2]\nf = sum(x, axis=2)", "shapes do not fit at node 'f' (sum)", "axis 2 is out of range for 1 axis"),
    ("x = [1, 2]\nf = sum(max(x, axis=[0, 0]))", "shapes do not fit", "names an axis twice"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 5, 5)\nf = sum(conv2d(x, w))", "shapes do not fit at node 'f.1' (conv2d)",
     "the kernel (5x5) is bigger than the image (4x4): pad the image"),
    ("x = randn(1, 4, 4)\nw = randn(2, 3, 3, 3)\nf = sum(conv2d(x, w))", "(conv2d)", "1 channel(s) and the weights expect 3"),
    ("x = randn(4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w))", "(conv2d)", "an image (C, H, W) or a batch"),
    ("x = randn(1, 4, 4)\nw = randn(1, 3, 3)\nf = sum(conv2d(x, w))", "(conv2d)", "weights of shape (out, in, kh, kw)"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, stride=0))", "stride must be a whole number from 1 to 2147483647, got 0",
     "how far the window moves"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, padding=-1))", "padding must be a whole number from 0 to 2147483647, got -1",
     "zeros added around the image"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, padding=1e12))", "padding must be a whole number from 0 to 2147483647, got 1000000000000",
     "zeros added"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, padding=[1, 2, 3]))", "padding takes 1 to 2",
     "zeros added"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, strid=1))", "conv2d() has no argument 'strid'",
     "did you mean 'stride'?"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, padding=2000000000))", "would have shape",
     "the limit is"),
    ("x = randn(1, 4, 4)\nf = sum(maxpool2d(x, size=5))", "(maxpool2d)", "the window (5x5) is bigger than the image"),
    ("x = randn(4)\nf = sum(avgpool2d(x))", "(avgpool2d)", "pools the last two axes"),
    ("x = randn(1, 4, 4)\nf = sum(maxpool2d(x, 1, 1, 1))", "maxpool2d() takes 1 to 3 argument(s), got 4",
     "usage: maxpool2d(x, size=2, stride=...)"),
    ("x = [1, 2, 3]\nf = sum(reshape(x, [2, -1]))", "(reshape)", "3 elements cannot be arranged as [2, -1]"),
    ("x = [1, 2, 3]\nf = sum(reshape(x, [-1, -1]))", "one size to be worked out", "the new sizes"),
    ("x = [1, 2, 3]\nf = sum(reshape(x))", "reshape() needs its shape", "usage: reshape(x, [2, 3])"),
    ("x = 2\nf = flatten(x)", "(flatten)", "flatten keeps axis 0"),
    ("x = [[1, 2]]\ny = [1, 2, 3]\nf = sum(concat([x, y]))", "(concat)", "differ on an axis other than 0"),
    ("x = [1, 2]\nf = sum(concat(x, x))", "concat() takes one list of tensors", "usage: concat([a, b, ...], axis=0)"),
    ("x = [1, 2]\nf = sum(stack([x, [1, 2, 3]]))", "(stack)", "stack needs parts of one shape"),
    ("x = [1, 2]\nf = dot(x, [1, 2, 3])", "(dot)", "vectors of the same length"),
    ("x = [[1, 2]]\nf = sum(outer(x, x))", "(outer)", "outer takes two vectors"),
    ("x = [1, 2]\nf = max(x, x, axis=0)", "max() has no argument 'axis'", "usage: max(a, b)"),
    ("x = [[1, 2]]\nf = sum(argmax(x, axis=[0, 1]))", "(argmax)", "argmax takes one axis"),
    ("x = zeros(0)\nf = max(x)", "(reduce_max)", "max over an empty axis has no value"),
    ("x = [1, 2]\nf = sum(clip(x, 0))", "clip() takes 3 argument(s), got 2", "usage: clip(a, b, c)"),
    ("x = [1, 2]\nf = sum(dropout(x, p=1))", "p must be at least 0 and less than 1, got 1", "the share of elements"),
    ("x = [1, 2]\nf = sum(dropout(x, seed=-1))", "seed must be a whole number from 0 to 4294967295, got -1", "the same seed"),
    ("x = [1, 2]\nf = sum(dropout(x, seed=1e309))", "seed must be a whole number from 0 to 4294967295, got inf", "the same seed"),
    ("x = [1, 2]\nf = sum(leaky_relu(x, slope=0.1, slope=0.2))", "is given 'slope' twice", "usage: leaky_relu"),
    ("x = [1, 2]\nf = sum(elu(x, alpha=true))", "alpha takes a number written out", "fixed when the graph"),
    ("x = [[1, 2]]\nf = sum(transpose(x, axes=[0]))", "(transpose)", "the new order of all 2 axes, each once"),
    ("x = [[1, 2]]\nf = sum(transpose(x, axes=[0, 2]))", "(transpose)", "axis 2 is out of range"),
]


@pytest.mark.parametrize("text, message, hint", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_every_mistake_with_a_new_function_is_a_located_error_with_a_hint(text, message, hint):
    with pytest.raises(BpError) as info:
        bpdebug.load(text, "prog.bp")
    err = info.value
    assert message in err.message and err.hint and hint in err.hint, (err.message, err.hint)
    assert err.line == text.count("\n") + 1 and str(err).startswith(f"prog.bp:{err.line}:{err.column}: error: ")


def test_the_cli_exits_2_with_the_message_and_the_hint():
    done = subprocess.run([sys.executable, "-m", "bpdebug", "run", "-e", "x = 3; f = sum(x, axis=1)"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "<-e>:1:12: error: shapes do not fit at node 'f' (sum): 'x' ()" in done.stderr
    assert "hint: axis 1 is out of range for 0 axes (a scalar has none)" in done.stderr


# ---- check: kinks are kinks ----------------------------------------------------------------------

@pytest.mark.parametrize("program, op, rule", [
    ("x = 0\ny = leaky_relu(x, 0.2)", "leaky_relu", "leaky_relu'(0) = slope"),
    ("x = 0\ny = elu(x, alpha=0.5)", "elu", "elu'(0) = alpha"),
    ("x = [0, 0]\ny = sum(sign(x))", "sign", "sign jumps at 0"),
    ("x = 1\ny = clip(x, 1, 2)", "clip", "at a bound the gradient goes to x"),
    ("x = 2\ny = clip(x, 1, 2)", "clip", "at a bound the gradient goes to x"),
    ("x = [3, 1, 3]\ny = max(x)", "reduce_max", "a tie sends the gradient to the first max"),
    ("x = [[3, 1, 2], [0, 1, 2]]\ny = sum(min(x, axis=0))", "reduce_min", "the first min"),
    ("x = [[3, 1, 3]]\ny = sum(argmax(x, axis=1) * x)", "argmax", "a tie gives the first index"),
    ("m = [1, 0]\nx = [2, 3]\ny = sum(where(m, x, 5))", "where", "reads cond as true unless it is 0"),
])
def test_check_reports_each_new_kink_as_a_kink_with_its_convention(program, op, rule):
    report = check_session(bpdebug.load(program))
    found = [c for c in report.nodes if c.op == op]
    assert found and all(c.verdict == "kink" and c.ok is True and rule in c.hint for c in found)
    assert report.ok and not any(c.verdict == "mismatch" for c in report.nodes)


EVERY_NEW = ("x = [[1.5, -2, 0.25], [-0.5, 3, 0.7]]\nv = [0.3, -1.2]\n"
             "a = square(x) + log1p(sigmoid(x)) + expm1(x) + leaky_relu(x) + elu(x, alpha=0.5) + gelu(x) "
             "+ clip(x, -1, 1) + where([[1, 0, 1], [0, 1, 0]], x, x * x) + dropout(x, seed=3) + sign(x)\n"
             "b = max(a, axis=1) + min(a, axis=1) + logsumexp(a, axis=1) + v + argmax(a, axis=1)\n"
             "c = reshape(concat([a, x]), [3, 4]) @ flatten(stack([v, v, v, v]))\n"
             "i = randn(2, 1, 5, 5, seed=0)\nk = randn(3, 1, 2, 2, seed=1)\n"
             "p = maxpool2d(conv2d(i, k, stride=[1, 2], padding=1), size=2, stride=1)\nq = avgpool2d(i, 2, 1)\n"
             "L = sum(b) + dot(v, v) + sum(outer(v, v)) + sum(c * c) + sum(p * p) + sum(q * q) + sum(stop_gradient(v))")


def test_a_replay_of_every_new_function_has_the_live_values_and_gradients(tmp_path):
    live = bpdebug.load(EVERY_NEW)
    with recording(live, tmp_path / "t.bpt"):
        live.run()
    replay = open_trace(tmp_path / "t.bpt")
    replay.run()
    for i, node in enumerate(live.graph.nodes):
        for got, want in ((replay.values[i], live.values[i]), (replay.grads[i], live.grads[i])):
            assert (got is None) == (want is None), node.name
            if want is not None:
                np.testing.assert_array_equal(got, want, err_msg=node.name)


def test_check_passes_every_new_function_away_from_kinks():
    report = check_session(bpdebug.load(EVERY_NEW))
    assert report.ok, [(c.name, c.verdict, c.hint) for c in report.nodes if c.verdict != "ok"]
    assert all(c.verdict == "ok" for c in report.nodes if c.op not in ("sign", "stop_gradient", "argmax"))
    (index,) = [c for c in report.nodes if c.op == "argmax"]
    assert index.verdict == "unchecked" and index.hint == "an index: no gradient flows through it"
    assert all(c.verdict == "ok" for c in report.leaves)


def test_where_on_a_mask_that_needs_no_gradient_has_no_kink():
    # the mask is a constant: its zeros are not places where a step of it could jump
    report = check_session(bpdebug.load("x = [2, -3]\ny = sum(where([1, 0], x, x * x))"))
    (w,) = [c for c in report.nodes if c.op == "where"]
    assert w.verdict == "ok"


def test_the_readme_shows_every_function_with_an_example_that_runs():
    from bpdebug.ops import FUNCTIONS
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("**Functions**"):readme.index("Arguments such as")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    for name in FUNCTIONS:
        assert name in table, name
    for row in rows:
        example = row.rstrip(" |").rsplit("| `", 1)[1].rstrip("`")
        s = bpdebug.load(example)
        assert s.run().reason == "end", example


@pytest.mark.parametrize("call, shape", [
    ("flatten(a)", (0, 6)), ("min(a, axis=1)", (0, 2, 3)), ("max(a, axis=[1, 2])", (0, 3)),
    ("conv2d(a, randn(4, 1, 2, 2))", (0, 4, 1, 2)), ("maxpool2d(a)", (0, 1, 1, 1)), ("concat([a, a])", (0, 1, 2, 3)),
])
def test_an_empty_batch_goes_through(call, shape):
    s = run(f"a = zeros(0, 1, 2, 3)\nc = {call}\nL = sum(c)")
    assert np.shape(s.value("c")) == shape and np.shape(s.grad("a")) == (0, 1, 2, 3)


def test_softmax_over_an_empty_axis_is_a_shape_error():
    with pytest.raises(BpError) as info:
        bpdebug.load("a = zeros(2, 0)\nc = softmax(a)\nL = sum(c)")
    assert "softmax over an empty axis has no value" in info.value.hint


FUZZ_SHAPES = ["2", "3", "0", "2, 3", "1, 3", "3, 1", "2, 1, 4, 4", "1, 5, 5", "0, 1, 3, 3", "4, 4", "1, 1, 1, 1"]
FUZZ_CALLS = ["square(a)", "log1p(a)", "expm1(a)", "sign(a)", "leaky_relu(a, {n})", "elu(a, alpha={n})", "gelu(a)",
              "clip(a, b, {n})", "where(a, b, a)", "stop_gradient(a)", "detach(b)", "dropout(a, p={p}, seed={i})",
              "max(a)", "min(a, axis={i})", "max(a, b)", "logsumexp(a, axis={i})", "argmax(a, axis={i})", "argmin(a)",
              "dot(a, b)", "outer(a, b)", "reshape(a, [{i}, -1])", "reshape(a, [-1])", "flatten(a)",
              "concat([a, b], axis={i})", "stack([a, b], axis={i})", "conv2d(a, b, stride={s}, padding={i})",
              "maxpool2d(a, size={s}, stride={s})", "avgpool2d(a, {s})", "sum(a, axis=[{i}, 0])", "softmax(a, axis={i})"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FUZZ_SHAPES), st.sampled_from(FUZZ_SHAPES), st.sampled_from(FUZZ_CALLS),
       st.sampled_from(["0", "-1", "1e309", "0.5", "2"]), st.sampled_from(["0", "0.5", "1", "-0.1"]),
       st.sampled_from(["0", "1", "-1", "2", "3", "-5", "1e12"]), st.sampled_from(["1", "2", "3", "[1, 2]", "0"]))
def test_any_call_of_a_new_function_runs_or_is_a_located_error(sa, sb, call, n, p, i, s):
    text = (f"a = randn({sa}, seed=1)\nb = randn({sb}, seed=2)\nc = {call.format(n=n, p=p, i=i, s=s)}\n"
            "L = sum(c * c)")
    try:
        session = bpdebug.load(text)
    except BpError as err:
        assert err.line == 3 and err.hint, (text, str(err))
        return
    with np.errstate(all="ignore"):
        assert session.run().reason == "end"
