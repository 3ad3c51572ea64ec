"""The gradient checker names exactly the wrong node of each mistake example, passes each fixed
version, reports kinks as kinks, and its CLI has the documented output and exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.check import check_session
from bpdebug.cli import main as cli_main

MISTAKES = Path(__file__).resolve().parent.parent / "examples" / "mistakes"

# example -> (the wrong node, words the hint must contain, the leaves whose gradient it spoils)
EXPECTED = {
    "factor": ("e", "off by a factor of 2", ["w", "x", "t"]),
    "transpose": ("h", "missing transpose of 'a'", ["W"]),
    "sigmoid_sign": ("a", "grad sig wrt z", ["x1", "x2", "w1", "w2", "b"]),
    "broadcast": ("y", "not summed back over axis 1", ["c"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_names_exactly_the_wrong_node_of_each_mistake(name):
    node, words, affects = EXPECTED[name]
    report = check_session(bpdebug.load_file(MISTAKES / f"{name}.bp"))
    assert not report.ok
    assert [c.name for c in report.nodes if c.ok is False] == [node]
    assert report.first_bad.name == node and report.first_bad.verdict == "mismatch"
    assert words in report.first_bad.hint
    assert report.affects == affects
    # the whole-graph check confirms: exactly the spoiled leaves disagree
    assert sorted(c.name for c in report.leaves if c.ok is False) == sorted(affects)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_passes_each_fixed_version(name):
    report = check_session(bpdebug.load_file(MISTAKES / f"{name}_fixed.bp"))
    assert report.ok and report.first_bad is None
    assert all(c.verdict == "ok" for c in report.nodes)
    assert all(c.verdict == "ok" for c in report.leaves)


def test_three_answers_for_the_factor_mistake_match_the_closed_form():
    # L = 0.5 * e, e = square(p - t), p = w * x = 1.2, t = 2: dL/de = 0.5, p - t = -0.8.
    # True contribution to (p - t): 0.5 * 2 * (-0.8) = -0.8; the grad line `x` gives 0.5 * -0.8.
    report = check_session(bpdebug.load_file(MISTAKES / "factor.bp"))
    (check, (answer,)), = report.custom
    assert check.name == "e" and answer.rule == "hand-written"
    assert answer.given == pytest.approx(-0.4)
    assert answer.autodiff == pytest.approx(-0.8)
    assert answer.numerical == pytest.approx(-0.8, rel=1e-7)
    assert answer.disagree == "hand-written disagrees with autodiff and numerical"


def test_broadcast_mistake_answers_against_a_hand_computed_gradient():
    report = check_session(bpdebug.load_file(MISTAKES / "broadcast.bp"))
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]])
    c = np.array([0.5, -1.0, 2.0])
    dout = x * c[:, None]                       # L = 0.5 * sum(y^2), y = x * c per row
    (_, answers), = report.custom
    wrt_c = next(a for a in answers if a.input == "c")
    assert np.allclose(wrt_c.numerical, np.sum(x * dout, axis=1), rtol=1e-7)
    assert np.allclose(wrt_c.given, np.sum(x * dout, axis=0))     # summed over the wrong axis


def test_a_rule_off_by_a_sign_is_called_a_wrong_sign():
    report = check_session(bpdebug.load("def f(a) = a * a * a\ngrad f wrt a = -3 * a * a\nx = 1.5\ny = f(x)"))
    assert report.first_bad.name == "y" and "wrong sign" in report.first_bad.hint


def test_custom_op_without_a_grad_line_for_a_parameter_uses_autodiff_and_passes():
    report = check_session(bpdebug.load("def f(a, b) = a * b + a\ngrad f wrt a = b + 1\nx = 2\ny = 3\nz = f(x, y)"))
    assert report.ok
    (_, answers), = report.custom
    assert [a.rule for a in answers] == ["hand-written", "autodiff"]


@pytest.mark.parametrize("program, rule", [
    ("x = 0\ny = relu(x)", "relu'(0) = 0"),
    ("x = 0\ny = abs(x)", "abs'(0) = 0"),
    ("x = 2\ny = max(x, 2)", "a tie sends the gradient to the first argument"),
    ("x = 2\ny = 2\nz = min(x, y)", "a tie sends the gradient to the first argument"),
])
def test_kinks_are_reported_as_kinks_with_their_convention(program, rule):
    report = check_session(bpdebug.load(program))
    (c,) = [c for c in report.nodes if c.op in ("relu", "abs", "max", "min")]
    assert c.verdict == "kink" and c.ok is True and rule in c.hint
    assert report.ok


def test_a_kink_in_some_elements_checks_the_others():
    report = check_session(bpdebug.load("v = [-1.0, 0.0, 2.0]\nr = relu(v)\nL = sum(r * r)"))
    r = next(c for c in report.nodes if c.name == "r")
    assert r.verdict == "kink" and "1 of 3 elements" in r.hint and r.max_rel_err < 1e-6


def test_a_value_a_hair_from_a_kink_is_not_a_mismatch():
    # The central difference straddles relu's kink at 0: the step, not the rule, is at fault.
    report = check_session(bpdebug.load("x = 1e-12\ny = relu(x)\nv = [1e-12, -3e-13, 1.0, -2.0]\nL = y + sum(relu(v))"))
    assert report.ok
    assert all(c.verdict in ("ok", "kink") for c in report.nodes)


def test_kink_inside_a_custom_op_is_a_kink():
    report = check_session(bpdebug.load("def r(a) = max(a, 0)\ngrad r wrt a = 1\nx = 0\ny = r(x)"))
    (c,) = report.nodes
    assert c.verdict == "kink" and "inside r" in c.hint


def test_wrong_rule_next_to_a_kink_is_still_a_mismatch():
    # relu at 0 in one element must not hide a wrong grad line in another node.
    program = "def f(a) = a * a\ngrad f wrt a = a\nv = [0.0, 1.5]\nr = relu(v)\ny = f(r)\nL = sum(y)"
    report = check_session(bpdebug.load(program))
    assert report.first_bad.name == "y"
    assert next(c for c in report.nodes if c.name == "r").verdict == "kink"


def test_large_leaves_are_checked_along_directions_and_small_ones_per_element():
    program = "param W = randn(6, 5, seed=1)\nparam b = [0.1, -0.2, 0.3, 0.0, 0.5]\n" \
              "x = randn(4, 6, seed=2)\nh = tanh(x @ W + b)\nL = sum(h * h)"
    report = check_session(bpdebug.load(program))
    modes = {c.name: c.mode for c in report.leaves}
    assert modes == {"W": "directional", "b": "per element", "x": "directional"}
    assert report.ok


def test_tolerances_are_used_and_reported():
    from bpdebug.check import Tolerances
    report = check_session(bpdebug.load("x = 0.7\ny = sin(x) * x"), Tolerances(1e-5, 1e-6, 1e-10))
    assert report.as_dict()["tolerances"] == {"eps": 1e-5, "rtol": 1e-6, "atol": 1e-10}
    assert report.ok


# ---- the command ------------------------------------------------------------------------------

def test_cli_json_has_the_documented_keys(capsys):
    code = cli_main(["check", str(MISTAKES / "transpose.bp"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["ok"] is False and data["first_bad"] == "h"
    assert {"name", "op", "ok", "verdict", "max_abs_err", "max_rel_err"} <= set(data["nodes"][0])
    h = next(n for n in data["nodes"] if n["name"] == "h")
    assert h["op"] == "mm" and h["verdict"] == "mismatch" and h["max_rel_err"] > 0.1


def test_cli_exit_codes(capsys, tmp_path):
    assert cli_main(["check", str(MISTAKES / "factor_fixed.bp")]) == 0
    assert cli_main(["check", str(MISTAKES / "factor.bp")]) == 1
    assert cli_main(["check", str(tmp_path / "missing.bp")]) == 2
    assert cli_main(["check", "-e", "f = x *"]) == 2
    for flag, value, words in (("--eps", "0", "must be between 0 and 1"), ("--eps", "x", "expected a number"),
                               ("--rtol", "-1", "must be a number of at least 0")):
        with pytest.raises(SystemExit) as stop:   # usage errors leave through argparse, exit 2
            cli_main(["check", "-e", "f = 2 * x", "--set", "x=3", flag, value])
        assert stop.value.code == 2 and f"argument {flag}: {words}" in capsys.readouterr().err


def test_cli_report_names_the_first_bad_node_what_it_affects_and_the_tolerances(capsys):
    cli_main(["check", str(MISTAKES / "transpose.bp")])
    out = " ".join(capsys.readouterr().out.split())  # undo Rich's line wrapping
    assert "first bad node: h = mm(x, W) (line 10)" in out
    assert "wrong gradients because of it: W" in out
    assert "rtol 1e-05" in out and "atol 1e-08" in out and "eps 1e-06" in out
    assert "hand-written disagrees with autodiff and numerical" in out


def test_cli_lists_only_the_nodes_to_look_at_in_a_big_graph(capsys):
    program = "\n".join(["x0 = 0.3"] + [f"x{i} = sin(x{i - 1}) * 1.1" for i in range(1, 60)])
    assert cli_main(["check", "-e", program]) == 0
    out = capsys.readouterr().out
    assert "more nodes check ok (--all lists them)" in out
    assert cli_main(["check", "-e", program, "--all"]) == 0
    assert "x59.1" in capsys.readouterr().out


# Every op of the op table, on scalars and on broadcasting tensors: its built-in rule must pass
# its own check (this checks ops.py's VJPs against central differences), with no false alarm.
A = "A = [[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]]"
P = "P = [[0.4, 1.3, 2.2], [0.9, 0.6, 1.7]]"       # positive, for log, sqrt and pow
R = "r = [0.2, -0.4, 1.1]"
M = "M = [[0.3, -1.0], [0.8, 0.5], [-0.6, 1.4]]"


@pytest.mark.parametrize("program", [
    "x = 0.7\ny = -1.3\nf = x + y - x * y / (y * y + 1)",
    "x = 1.7\ny = 0.6\nf = x ^ y",
    f"{P}\n{R}\nf = sum(P ^ r)",
    f"{A}\n{R}\nf = sum(A * r + A / (r * r + 1) - r)",
    f"{A}\nf = sum(-A + exp(A) + sin(A) * cos(A) + tan(A * 0.3) + tanh(A) + sigmoid(A) + softplus(A))",
    f"{P}\nf = sum(log(P) + sqrt(P))",
    f"{A}\nf = sum(relu(A) + abs(A))",
    f"{A}\n{R}\nf = sum(max(A, r) + min(A, r))",
    f"{A}\n{M}\nf = sum(tanh(A @ M))",
    f"{M}\nv = [0.5, -2.0]\nf = sum(M @ v)",
    f"{A}\nf = sum(mean(A, axis=0)) * sum(sum(A, axis=1))",
    f"{A}\nf = mean(A * A)",
    f"{A}\n{M}\nf = sum(transpose(A) * M)",
    f"{A}\nt = [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]\nf = sum(softmax(A) * t) + sum(log_softmax(A, axis=0) * t)",
    "def sq(a) = a * a + 1\nx = 0.4\nf = sq(sq(x))",
])
def test_every_built_in_rule_passes_its_check(program):
    report = check_session(bpdebug.load(program))
    assert report.ok, [(c.name, c.verdict, c.hint) for c in report.nodes if c.verdict != "ok"]
    assert all(c.verdict == "ok" for c in report.nodes)


def test_a_node_check_evaluates_that_node_alone_a_few_times():
    from bpdebug.check import Tolerances, check_node
    s = bpdebug.load("\n".join(["x0 = 0.3"] + [f"x{i} = sin(x{i - 1}) + x{i - 1}" for i in range(1, 40)]))
    s.goto(s.total)
    calls = [0] * len(s.graph.nodes)

    def counted(j, f):
        def wrapper(*args):
            calls[j] += 1
            return f(*args)
        return wrapper

    s.kernel.fwd = [f if f is None else counted(j, f) for j, f in enumerate(s.kernel.fwd)]
    i = s.graph.index("x20")
    assert check_node(s.graph, s.kernel, s.values, i, Tolerances(), np.random.default_rng(0)).verdict == "ok"
    assert [j for j, n in enumerate(calls) if n] == [i] and calls[i] <= 4
