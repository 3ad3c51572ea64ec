"""`break mismatch` stops at nodes failing their check during the backward pass and shows the
answers side by side; front ends can ask which nodes fail."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np

import bpdebug
from bpdebug.check import failing_nodes, mismatch_reason
from bpdebug.cli import main as cli_main

MISTAKES = Path(__file__).resolve().parent.parent / "examples" / "mistakes"


def test_break_mismatch_stops_at_the_wrong_node_in_the_backward_pass_only():
    s = bpdebug.load_file(MISTAKES / "transpose.bp")
    s.add_breakpoint(special="mismatch")
    stop = s.run()
    assert stop.reason == "breakpoint" and s.pass_at(s.t - 1) == "backward"
    assert s.graph.nodes[s.current].name == "h"
    for words in ("missing transpose", "wrt b (W): hand-written disagrees with autodiff and numerical",
                  "hand-written", "autodiff", "numerical"):
        assert words in stop.detail
    assert s.run().reason == "end"


def test_break_mismatch_answers_use_the_real_upstream_gradient():
    s = bpdebug.load_file(MISTAKES / "factor.bp")
    s.add_breakpoint(special="mismatch")
    stop = s.run()
    # dL/de = 0.5 and e.1 = -0.8: hand-written 0.5 * -0.8, true 0.5 * 2 * -0.8
    assert "hand-written -0.4" in stop.detail and "autodiff     -0.8" in stop.detail
    assert "numerical    -0.8" in stop.detail


def test_break_mismatch_never_stops_on_a_correct_program():
    s = bpdebug.load_file(MISTAKES / "transpose_fixed.bp")
    s.add_breakpoint(special="mismatch")
    assert s.run().reason == "end"


def test_built_in_op_rule_shows_two_answers_when_it_is_wrong(monkeypatch):
    # Break the op table's exp rule for this test: the checker must name it, with two answers.
    from bpdebug import ops
    wrong = lambda g, out, x: (2 * g * out,)  # noqa: E731
    broken = dataclasses.replace(ops.OPS["exp"], vjp=wrong, vjps=wrong)
    monkeypatch.setitem(ops.OPS, "exp", broken)
    monkeypatch.setitem(ops.FUNCTIONS, "exp", broken)
    s = bpdebug.load("x = 0.5\ny = exp(x)\nL = y * 3")
    s.add_breakpoint(special="mismatch")
    stop = s.run()
    assert s.graph.nodes[s.current].name == "y"
    assert "built-in" in stop.detail and "autodiff" not in stop.detail
    assert "off by a constant factor: the numerical derivative is 0.5 times its answer" in stop.detail
    assert "built-in disagrees" not in stop.detail and "built-in and numerical disagree" in stop.detail


def test_failing_nodes_for_front_ends_covers_computed_nodes_only():
    s = bpdebug.load_file(MISTAKES / "broadcast.bp")
    assert failing_nodes(s) == {}
    s.goto(s.n)
    assert list(failing_nodes(s)) == [s.graph.index("y")]
    assert mismatch_reason(s, s.graph.index("L")) == ""


def test_check_is_redone_after_set_changes_the_inputs():
    s = bpdebug.load("def f(a) = a * a\ngrad f wrt a = 2 * a * (a - 1) + 2 * a\nx = 1\ny = f(x)")
    s.goto(s.total)
    assert failing_nodes(s) == {}          # right at a = 1 only, where the extra term vanishes
    s.set_leaf("x", 3.0)
    assert list(failing_nodes(s)) == [s.graph.index("y")]
    assert np.isclose(s.grad("x"), 2 * 3 * 2 + 6)


def test_script_reports_the_failing_node(capsys):
    code = cli_main(["script", str(MISTAKES / "sigmoid_sign.bp"), "-c", "break mismatch", "-c", "continue"])
    out = capsys.readouterr().out
    assert code == 0
    assert "stopped at breakpoint 1 (mismatch): a fails its gradient check" in out
    assert "grad sig wrt z = exp(z) / (1 + exp(-z))^2" in out


def test_engine_import_with_the_checker_registered_leaves_rich_and_textual_out():
    code = ("import sys, bpdebug\ns = bpdebug.load('x = 2\\ny = x * x')\n"
            "from bpdebug.engine import SPECIAL_BREAKS\n"
            "assert {'nonfinite', 'mismatch'} <= set(SPECIAL_BREAKS)\n"
            "assert 'rich' not in sys.modules and 'textual' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_command_lists_failing_computed_nodes_and_shows_one_nodes_answers():
    from bpdebug.commands import execute
    s = bpdebug.load_file(MISTAKES / "broadcast.bp")
    assert "no node is computed yet" in execute(s, "check").text
    execute(s, "until y")
    assert execute(s, "check").text == "y: mismatch: grad scale_rows wrt c: not summed back over axis 1"
    text = execute(s, "check y").text
    assert "wrt c: hand-written disagrees with autodiff and numerical" in text
    assert "numerical    [6, 15, 25]" in text      # sum(x * 1, axis=1) for dout = ones: 6, 15, 25
    assert execute(s, "check L").error and execute(s, "check nope").error
    execute(s, "continue")
    assert execute(s, "check L").text.startswith("L: ok")
