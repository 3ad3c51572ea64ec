"""Every worked example of the source texts (../shared/seeds/README.md), with its numbers.

Each example lives in examples/ as a learner would write it; these tests load that file and
check the values and gradients the texts give.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.commands import execute

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def finished(name: str, values: dict | None = None):
    s = bpdebug.load_file(EXAMPLES / name, values)
    stop = s.run()
    assert stop.reason == "end"
    return s


def test_product_gate():
    s = finished("product_gate.bp")
    assert s.value("f") == -12.0
    assert s.grad("x") == -3.0  # df/dx = y
    assert s.grad("y") == 4.0   # df/dy = x


@pytest.mark.parametrize("x, y", [(4.0, -3.0), (10.0, 7.0), (-0.5, 123.0)])
def test_add_gate_passes_the_gradient_through_unchanged(x, y):
    s = finished("add_gate.bp", {"x": x, "y": y})
    assert s.value("f") == x + y
    assert s.grad("x") == 1.0 and s.grad("y") == 1.0


def test_add_gate_file_values():
    s = finished("add_gate.bp")
    assert (s.value("x"), s.value("y"), s.value("f")) == (4.0, -3.0, 1.0)


def test_max_gate_routes_the_gradient_to_the_larger_input():
    s = finished("max_gate.bp")
    assert s.value("f") == 4.0
    assert s.grad("x") == 1.0
    assert s.grad("y") == 0.0


def test_max_gate_other_winner():
    s = finished("max_gate.bp", {"y": 5.0})
    assert s.value("f") == 5.0
    assert (s.grad("x"), s.grad("y")) == (0.0, 1.0)


def test_max_gate_tie_goes_to_the_first_argument():
    s = finished("max_gate.bp", {"x": 3.0, "y": 3.0})
    assert s.value("f") == 3.0
    assert (s.grad("x"), s.grad("y")) == (1.0, 0.0)


def test_max_gate_tie_on_tensors_goes_to_the_first_argument():
    s = bpdebug.load("a = [1, 2, 3]\nb = [1, 5, 0]\nf = sum(max(a, b))")
    s.run()
    np.testing.assert_array_equal(s.grad("a"), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(s.grad("b"), [0.0, 1.0, 0.0])


def test_chain_rule():
    s = finished("chain_rule.bp")
    assert s.value("q") == 3.0
    assert s.value("f") == -12.0
    assert s.grad("z") == 3.0    # df/dz = q
    assert s.grad("q") == -4.0   # df/dq = z
    assert s.grad("x") == -4.0
    assert s.grad("y") == -4.0


def test_chain_rule_backward_runs_in_reverse_order():
    s = bpdebug.load_file(EXAMPLES / "chain_rule.bp")
    s.run(limit=s.n)
    order = [s.step().node.name for _ in range(s.n)]
    assert order == ["f", "q", "z", "y", "x"]


def test_computational_graph():
    s = finished("computational_graph.bp")
    assert s.value("p") == 4.0
    assert s.value("g") == -12.0
    assert s.grad("g") == 1.0    # dg/dg = 1
    assert s.grad("z") == 4.0    # dg/dz = p
    assert s.grad("p") == -3.0   # dg/dp = z
    assert s.grad("x") == -3.0   # dg/dp * dp/dx
    assert s.grad("y") == -3.0


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_neuron_fanout_gradients_add():
    s = finished("neuron_fanout.bp")
    v = {n: s.value(n) for n in ("x1", "w1", "x2", "w2", "b", "w3", "b3", "w4", "b4")}
    z = v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]
    a = _sigmoid(z)
    u, w = a * v["w3"] + v["b3"], a * v["w4"] + v["b4"]
    assert s.value("z") == pytest.approx(0.5, abs=1e-15)
    assert s.value("a") == pytest.approx(a, rel=1e-14)
    assert s.value("L") == pytest.approx(u * w, rel=1e-14)
    # L = u*v: dL/du = v, dL/dv = u
    assert s.grad("u") == pytest.approx(w, rel=1e-14)
    assert s.grad("v") == pytest.approx(u, rel=1e-14)
    # dL/dz = sigmoid'(z) * (w3 dL/dz' + w4 dL/dz'')
    expected = a * (1 - a) * (v["w3"] * s.grad("u") + v["w4"] * s.grad("v"))
    assert s.grad("z") == pytest.approx(expected, rel=1e-12)
    assert s.grad("z") == pytest.approx(-0.3031165594659171, rel=1e-12)
    # dz/dw1 = x1, so dL/dw1 = x1 * dL/dz
    assert s.grad("w1") == pytest.approx(v["x1"] * s.grad("z"), rel=1e-14)


def test_neuron_fanout_agrees_with_numerical_differentiation():
    s = finished("neuron_fanout.bp")
    h = 1e-6
    for leaf in ("x1", "w1", "b", "w3", "b4"):
        x0 = s.value(leaf)
        up = finished("neuron_fanout.bp", {leaf: x0 + h}).value("L")
        down = finished("neuron_fanout.bp", {leaf: x0 - h}).value("L")
        assert s.grad(leaf) == pytest.approx((up - down) / (2 * h), rel=1e-7, abs=1e-9)


def test_neuron_fanout_received_shows_both_contributions():
    s = bpdebug.load_file(EXAMPLES / "neuron_fanout.bp")
    a = s.graph.index("a")
    s.until("a")           # forward step of a
    assert s.received(a) == []
    s.until("a")           # backward step of a: both branches have been stepped
    got = dict(s.received(a))
    assert len(got) == 2
    w3, w4, u, v = s.value("w3"), s.value("w4"), s.value("u"), s.value("v")
    from_u = next(c for n, c in got.items() if n.startswith("u"))
    from_v = next(c for n, c in got.items() if n.startswith("v"))
    assert from_u == pytest.approx(w3 * v, rel=1e-14)   # w3 * dL/du
    assert from_v == pytest.approx(w4 * u, rel=1e-14)   # w4 * dL/dv
    assert s.grad("a") == pytest.approx(from_u + from_v, rel=1e-14)
    text = execute(s, "print a").text
    assert "received:" in text and text.count("from ") == 2


def test_neuron_fanout_received_grows_as_branches_are_stepped():
    s = bpdebug.load_file(EXAMPLES / "neuron_fanout.bp")
    a = s.graph.index("a")
    s.run(limit=s.n)
    seen = []
    while s.current != a:
        s.step()
        seen.append(len(s.received(a)))
    assert seen[0] == 0 and seen[-1] == 2 and 1 in seen


def test_gradient_2d():
    s = finished("gradient_2d.bp")
    assert s.value("f") == 20.0
    grad = np.array([s.grad("x"), s.grad("y")])
    np.testing.assert_array_equal(grad, [-4.0, 8.0])         # (2x, 2y)
    np.testing.assert_array_equal(-grad, [4.0, -8.0])        # downhill
    assert np.linalg.norm(-grad) == pytest.approx(math.sqrt(80))
    assert math.sqrt(80) == pytest.approx(8.944, abs=5e-4)


def test_gradient_2d_direction_from_the_command_line_language():
    s = bpdebug.load_file(EXAMPLES / "gradient_2d.bp")
    execute(s, "continue")
    assert execute(s, "print -grad(x)").text == "-grad(x) = 4"
    assert execute(s, "print -grad(y)").text == "-grad(y) = -8"
    norm = execute(s, "print sqrt(grad(x)^2 + grad(y)^2)").text
    assert norm == f"sqrt(grad(x)^2 + grad(y)^2) = {math.sqrt(80):.6g}"


# ---- the 2-3-2 network against the four backprop equations ------------------------------------

def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_network_232_matches_the_four_equations():
    s = finished("network_232.bp")
    x, E = s.value("x"), s.value("E")
    W1, b1, W2, b2 = (s.value(n) for n in ("hidden.W", "hidden.b", "out.W", "out.b"))
    assert W1.shape == (2, 3) and W2.shape == (3, 2)
    # forward, row-vector convention: z = x @ W + b
    z1 = x @ W1 + b1
    a1 = _np_sigmoid(z1)
    z2 = a1 @ W2 + b2
    a2 = _np_sigmoid(z2)
    C = 0.5 * np.sum((a2 - E) ** 2)
    np.testing.assert_allclose(s.value("hidden.z"), z1, rtol=1e-14)
    np.testing.assert_allclose(s.value("hidden"), a1, rtol=1e-14)
    np.testing.assert_allclose(s.value("out.a"), a2, rtol=1e-14)
    assert s.value("C") == pytest.approx(C, rel=1e-14)
    # (1) delta^L = (a^L - E) * sigmoid'(z^L)
    delta2 = (a2 - E) * a2 * (1 - a2)
    # (2) delta^l = (delta^(l+1) W^(l+1)^T) * sigmoid'(z^l)
    delta1 = (delta2 @ W2.T) * a1 * (1 - a1)
    # (3) dC/dW^l = a^(l-1)^T delta^l;  (4) dC/db^l = delta^l
    np.testing.assert_allclose(s.grad("out.z"), delta2, rtol=1e-12)
    np.testing.assert_allclose(s.grad("hidden.z"), delta1, rtol=1e-12)
    np.testing.assert_allclose(s.grad("out.W"), np.outer(a1, delta2), rtol=1e-12)
    np.testing.assert_allclose(s.grad("hidden.W"), np.outer(x, delta1), rtol=1e-12)
    np.testing.assert_allclose(s.grad("out.b"), delta2, rtol=1e-12)
    np.testing.assert_allclose(s.grad("hidden.b"), delta1, rtol=1e-12)
    # the numbers quoted in the example's comments
    assert s.value("C") == pytest.approx(0.294912, abs=5e-7)
    np.testing.assert_allclose(delta2, [0.142207, -0.0554659], rtol=1e-5)


def test_network_232_layer_sugar_expands_into_named_nodes():
    s = bpdebug.load_file(EXAMPLES / "network_232.bp")
    g = s.graph
    for layer, width, fan_in in (("hidden", 3, 2), ("out", 2, 3)):
        assert g.node(f"{layer}.W").kind == "param" and g.node(f"{layer}.W").shape == (fan_in, width)
        assert g.node(f"{layer}.b").kind == "param" and g.node(f"{layer}.b").shape == (width,)
        assert g.line(g.node(f"{layer}.z")) == f"{layer}.z: ({width},) = add {layer}.xW {layer}.b"
        assert g.node(f"{layer}.a").op.name == "sigmoid"
        assert g.index(layer) == g.index(f"{layer}.a")
    assert g.line(g.node("hidden.xW")) == "hidden.xW: (3,) = matmul x hidden.W"
    assert g.nodes[g.output].name == "C"


def test_network_232_gradient_descent_step_lowers_the_cost():
    s = finished("network_232.bp")
    eta = 0.5
    new = {n: s.value(n) - eta * s.grad(n) for n in ("hidden.W", "hidden.b", "out.W", "out.b")}
    before = s.value("C")
    for name, value in new.items():
        s.set_leaf(name, value)
    assert s.value("C") < before


SEEDS = ("product_gate.bp", "add_gate.bp", "max_gate.bp", "chain_rule.bp", "computational_graph.bp",
         "neuron_fanout.bp", "gradient_2d.bp", "network_232.bp")


@pytest.mark.parametrize("name", SEEDS)
def test_every_seed_example_is_commented_for_a_learner(name):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert text.startswith("#")
    assert sum(1 for line in text.splitlines() if line.startswith("#")) >= 4
