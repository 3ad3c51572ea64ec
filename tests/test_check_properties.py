"""No false alarms on random correct programs, no missed mistakes on random wrong grad lines."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpdebug
from bpdebug.check import check_session

SMOOTH = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "tanh({a})", "sigmoid({a})", "sin({a}) * {b}",
          "exp(tanh({a}))", "softplus({a})", "{a} / (1 + {b} * {b})", "({a} * {a} + 1)^0.5"]


@st.composite
def programs(draw):
    tensor = draw(st.booleans())
    value = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 3))
    lines, names = [], []
    for k in range(3):
        if tensor:
            lines.append(f"x{k} = [{', '.join(str(draw(value)) for _ in range(4))}]")
        else:
            lines.append(f"x{k} = {draw(value)}")
        names.append(f"x{k}")
    for k in range(draw(st.integers(2, 8))):
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        lines.append(f"n{k} = " + draw(st.sampled_from(SMOOTH)).format(a=a, b=b))
        names.append(f"n{k}")
    lines.append(f"L = sum({names[-1]} * {names[-2]})")
    return "\n".join(lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_no_false_alarm_on_correct_programs(program):
    report = check_session(bpdebug.load(program))
    assert report.ok, [(c.name, c.verdict, c.hint) for c in report.nodes if c.ok is False]


@settings(max_examples=30, deadline=None)
@given(st.floats(-2.5, 2.5).filter(lambda v: abs(v - 1) > 0.05), st.floats(-2, 2).filter(lambda v: abs(v) > 0.1))
def test_a_grad_line_scaled_by_any_wrong_factor_is_named(factor, x):
    program = (f"def cube(a) = a * a * a\ngrad cube wrt a = {factor!r} * 3 * a * a\n"
               f"x = {x!r}\ny = tanh(x)\nz = cube(y)\nL = z * 2")
    report = check_session(bpdebug.load(program))
    assert report.first_bad is not None and report.first_bad.name == "z"
    assert [c.name for c in report.nodes if c.ok is False] == ["z"]
