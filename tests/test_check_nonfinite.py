"""Where nan or inf is born: the first node, in either pass, that makes one out of finite
reads — in `check`, in the engine (`break nonfinite`), and for front ends."""
from __future__ import annotations

import math

import pytest

import bpdebug
from bpdebug.check import check_session, nonfinite_origin
from bpdebug.cli import main as cli_main

LOG_OF_NEGATIVE = "a = 3\nb = 5\nx = a - b\ny = log(x)\nz = y * 2\nw = exp(z) + x"
ZERO_OVER_ZERO = "a = 2\nb = a - 2\nq = b / b\nL = q * 3 + a"
SQRT_AT_ZERO = "a = 1\nx = a - 1\ny = sqrt(x)\nz = y * 3\nL = z + a"


@pytest.mark.parametrize("program, node, pass_, produced", [
    (LOG_OF_NEGATIVE, "y", "forward", "y"),
    (ZERO_OVER_ZERO, "q", "forward", "q"),
    (SQRT_AT_ZERO, "y", "backward", "dL/dx"),
])
def test_origin_is_the_node_that_made_it_not_the_ones_downstream(program, node, pass_, produced):
    report = check_session(bpdebug.load(program))
    o = report.origin
    assert (o.name, o.pass_) == (node, pass_)
    assert [w for w, _ in o.produced] == [produced]
    assert all(math.isfinite(v) for _, v in o.reads)
    assert not report.ok and report.first_bad.name == node and report.first_bad.verdict == "nonfinite"
    # everything downstream only passes the nan on, and is not blamed
    assert all(c.ok is not False for c in report.nodes if c.name != node)


def test_origin_lists_the_values_it_read():
    o = check_session(bpdebug.load(LOG_OF_NEGATIVE)).origin
    assert o.reads == [("x", -2.0)]
    assert math.isnan(o.produced[0][1])
    o = check_session(bpdebug.load(SQRT_AT_ZERO)).origin
    assert o.reads == [("dL/dy", 3.0), ("y", 0.0), ("x", 0.0)]
    assert o.produced == [("dL/dx", math.inf)]
    assert "backward step of y = sqrt(x) made dL/dx = inf" in o.describe()


def test_origin_in_a_tensor_node():
    program = "v = [1.0, 0.0, 4.0]\nr = sqrt(v)\nL = sum(r)"
    o = check_session(bpdebug.load(program)).origin
    assert (o.name, o.pass_) == ("r", "backward")


def test_break_nonfinite_stops_at_the_origin_step_in_the_forward_pass():
    s = bpdebug.load(LOG_OF_NEGATIVE)
    s.add_breakpoint(special="nonfinite")
    stop = s.run()
    assert stop.reason == "breakpoint" and s.graph.nodes[s.current].name == "y" and s.pass_ == "forward"
    assert "forward step of y = log(x)" in stop.detail and "x = -2" in stop.detail
    # z and w are nan too, but they only read it: continuing does not stop at them
    assert s.run().reason == "end"


def test_break_nonfinite_stops_at_the_origin_step_in_the_backward_pass():
    s = bpdebug.load(SQRT_AT_ZERO)
    s.add_breakpoint(special="nonfinite")
    stop = s.run()
    assert stop.reason == "breakpoint" and s.pass_at(s.t - 1) == "backward"
    assert s.graph.nodes[s.current].name == "y" and math.isinf(s.grad("x"))


def test_nonfinite_origin_for_front_ends_sees_only_the_steps_taken():
    s = bpdebug.load(SQRT_AT_ZERO)
    s.goto(s.n)                      # the forward pass is all finite
    assert nonfinite_origin(s) is None
    s.goto(s.total)
    assert nonfinite_origin(s).name == "y"


def test_finite_program_has_no_origin_and_break_nonfinite_never_stops():
    s = bpdebug.load("x = 2\ny = log(x) * x")
    s.add_breakpoint(special="nonfinite")
    assert s.run().reason == "end"
    assert check_session(bpdebug.load("x = 2\ny = log(x) * x")).origin is None


def test_cli_names_the_origin_and_exits_1(capsys):
    assert cli_main(["check", "-e", SQRT_AT_ZERO]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "non-finite origin: backward step of y = sqrt(x) made dL/dx = inf from finite dL/dy = 3, y = 0, x = 0" in out


def test_script_break_nonfinite(capsys):
    assert cli_main(["script", "-e", ZERO_OVER_ZERO, "-c", "break nonfinite", "-c", "continue"]) == 0
    out = capsys.readouterr().out
    assert "stopped at breakpoint 1 (nonfinite): nan or inf is born here: forward step of q = b/b" in out
