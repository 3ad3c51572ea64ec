"""The Session: stepping, next over `def` bodies, back, run, until, breakpoints, watches, set."""
from __future__ import annotations

import random

import numpy as np
import pytest

import bpdebug
from bpdebug.engine import SPECIAL_BREAKS

CHAIN = "x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n"

DEFS = """
def sq(a) = a * a + 1
x = 3
y = sq(x)
f = y * x
"""

MIXED = """
def sq(a) = a * a + 1
def twice(a) = sq(a) * 2
W = [[1, -2], [0.5, 3]]
v = [0.3, -0.7]
h = tanh(v @ W)
s = twice(sum(h))
k = sq(s)
loss L = k + mean(h * h)
"""


def snapshot(s):
    """Everything stepping may change, copied."""
    copy = lambda xs: [None if x is None else np.array(x, copy=True) for x in xs]  # noqa: E731
    return s.t, copy(s.values), copy(s.grads)


def same(a, b) -> bool:
    (ta, va, ga), (tb, vb, gb) = a, b
    if ta != tb:
        return False
    for xs, ys in ((va, vb), (ga, gb)):
        for x, y in zip(xs, ys):
            if (x is None) != (y is None):
                return False
            if x is not None and not np.array_equal(x, y, equal_nan=True):
                return False
    return True


# ---- stepping ---------------------------------------------------------------------------------

def test_steps_forward_in_topological_order_then_backward_in_reverse():
    s = bpdebug.load(CHAIN)
    assert s.total == 2 * len(s.graph.nodes) == 10
    assert s.pass_ == "forward" and s.current is None and s.upcoming == 0
    names = []
    while s.t < s.total:
        ev = s.step()
        names.append((ev.pass_, ev.node.name))
    assert names == [("forward", n) for n in "xyzqf"] + [("backward", n) for n in "fqzyx"]
    assert s.pass_ == "done" and s.step() is None


def test_forward_event_shows_inputs_and_value():
    s = bpdebug.load(CHAIN)
    s.step(4)
    ev = s.event()
    assert (ev.step, ev.pass_, ev.node.name, ev.formula) == (3, "forward", "q", "q = x + y")
    assert ev.inputs == [("x", -2.0), ("y", 5.0)] and ev.value == 3.0
    assert ev.upstream is None and ev.terms == []
    assert s.value("q") == 3.0 and s.values[s.graph.index("f")] is None


def test_backward_event_shows_upstream_local_derivatives_and_contributions():
    s = bpdebug.load(CHAIN)
    s.until("f")
    ev = s.step()  # backward step of f = q*z
    assert ev.pass_ == "backward" and ev.node.name == "f" and ev.upstream == 1.0
    (tq, tz) = ev.terms
    assert (tq.input, tq.derivative, tq.local, tq.contribution, tq.accumulated) == \
        ("q", "d(q*z)/dq = z", -4.0, -4.0, -4.0)
    assert (tz.input, tz.derivative, tz.local, tz.contribution, tz.accumulated) == \
        ("z", "d(q*z)/dz = q", 3.0, 3.0, 3.0)


def test_accumulated_gradient_grows_with_each_consumer():
    s = bpdebug.load("x = 3\na = x * 2\nb = x * x\nf = a + b")  # df/dx = 2 + 2x = 8
    s.run(limit=s.n)
    seen = []
    while s.t < s.total:
        ev = s.step()
        for t in ev.terms:
            if t.input == "x":
                seen.append((ev.node.name, t.contribution, t.accumulated))
    # b = x*x sends two contributions; `accumulated` is the running sum, term by term
    assert seen == [("b", 3.0, 3.0), ("b", 3.0, 6.0), ("a", 2.0, 8.0)]
    assert s.grad("x") == 8.0


def test_value_and_grad_are_floats_for_scalars_and_arrays_for_tensors():
    s = bpdebug.load("v = [1, 2]\nc = 3\nf = sum(v * c)")
    s.run()
    assert type(s.value("c")) is float and type(s.grad("c")) is float
    assert isinstance(s.value("v"), np.ndarray) and s.grad("v").shape == (2,)
    np.testing.assert_array_equal(s.grad("v"), [3.0, 3.0])
    assert s.grad("c") == 3.0


def test_output_gradient_is_seeded_before_the_first_step():
    s = bpdebug.load(CHAIN)
    assert s.grad("f") == 1.0 and s.grad("x") == 0.0


def test_step_with_a_count_and_the_module_level_names():
    s = bpdebug.load(CHAIN)
    ev = s.step(3)
    assert ev.node.name == "z" and s.t == 3
    for name in ("load", "load_file", "BpError", "Session"):
        assert hasattr(bpdebug, name)
    for name in ("run", "step", "value", "grad"):
        assert callable(getattr(s, name))


# ---- next / step over `def` bodies ------------------------------------------------------------

def test_step_enters_a_def_body_and_next_steps_over_it():
    stepped = bpdebug.load(DEFS)
    order = []
    while stepped.pass_ == "forward":
        order.append(stepped.step().node.name)
    assert order == ["x", "y.1", "y.2", "y.3", "y", "f"]     # body nodes, then the return node

    s = bpdebug.load(DEFS)
    s.next()
    assert s.graph.nodes[s.current].name == "x"
    stop = s.next()                                          # over sq(x): four nodes in one
    assert s.graph.nodes[s.current].name == "y" and s.t == 5 and stop.reason == "limit"
    assert s.value("y") == 10.0
    s.next()
    s.next()                                                 # backward f
    assert s.graph.nodes[s.current].name == "f" and s.pass_ == "backward"
    stop = s.next()                                          # backward over the call of sq
    assert s.graph.nodes[s.current].name == "y" and s.t == 11      # the call, not y.1 inside it
    assert stop.event.over is not None and stop.event.formula == "y = sq(x)"
    assert [(t.input, t.contribution, t.accumulated) for t in stop.event.terms] == [("x", 18.0, 28.0)]
    assert s.frames() == [s.graph.index("y")]                # not inside sq any more
    s.next()
    assert s.pass_ == "done"
    assert s.grad("x") == 3 * 3 * 2 + 10.0                  # d(x*(x^2+1))/dx = 3x^2 + 1
    assert s.next() is None


def test_next_over_nested_calls_takes_the_outermost():
    s = bpdebug.load("def sq(a) = a * a\ndef quad(a) = sq(a) * sq(a)\nx = 2\nf = quad(x)")
    s.next()
    s.next()
    assert s.graph.nodes[s.current].name == "f" and s.pass_ == "backward"
    s.next()
    s.next()
    assert s.graph.nodes[s.current].name == "x"
    assert s.grad("x") == pytest.approx(4 * 2 ** 3)


def test_next_stops_at_a_breakpoint_inside_the_body():
    s = bpdebug.load(DEFS)
    s.next()
    s.add_breakpoint("y.3", "forward")
    stop = s.next()
    assert stop.reason == "breakpoint" and s.graph.nodes[s.current].name == "y.3"


def test_graph_records_inline_calls():
    g = bpdebug.load(DEFS).graph
    (call,) = g.calls
    assert (call.op, call.args) == ("sq", ("x",))
    assert [g.nodes[i].name for i in range(call.start, call.end + 1)] == ["y.1", "y.2", "y.3", "y"]
    assert g.formula(g.node("y")) == "y = sq(x)"
    assert g.op_label(g.node("y")) == "sq"


# ---- custom ops with grad lines ---------------------------------------------------------------

CUSTOM = """
def cube(a) = a * a * a
grad cube wrt a = 2 * a^2
x = 3
f = cube(x)
"""


def test_custom_op_with_grad_line_is_one_node_and_uses_the_handwritten_derivative():
    s = bpdebug.load(CUSTOM)
    assert [n.name for n in s.graph.nodes] == ["x", "f"]
    assert s.graph.op_label(s.graph.node("f")) == "cube"
    s.run()
    assert s.value("f") == 27.0
    assert s.grad("x") == 18.0        # the (wrong) hand-written 2a^2, not the true 3a^2 = 27


def test_custom_op_grad_line_with_dout_is_the_whole_vjp():
    s = bpdebug.load("def scale(a, k) = a * k\ngrad scale wrt a = dout * k * 10\n"
                     "x = 3\nw = 2\nf = scale(x, w)")
    s.run()
    assert s.grad("x") == 20.0        # hand-written: dout * k * 10
    assert s.grad("w") == 3.0         # no grad line for k: through the body, dout * a


def test_custom_op_grad_line_without_dout_is_multiplied_by_upstream():
    s = bpdebug.load("def sq(a) = a * a\ngrad sq wrt a = 2 * a\nx = 3\ny = sq(x)\nf = 5 * y")
    s.run()
    assert s.grad("x") == 30.0        # 5 * 2x


def test_custom_op_grad_line_may_use_out():
    s = bpdebug.load("def sg(a) = 1 / (1 + exp(-a))\ngrad sg wrt a = out * (1 - out)\n"
                     "v = [0.5, -1]\nf = sum(sg(v))")
    s.run()
    sig = 1 / (1 + np.exp(-np.array([0.5, -1.0])))
    np.testing.assert_allclose(s.grad("v"), sig * (1 - sig), rtol=1e-14)


def test_custom_op_backward_step_names_the_handwritten_formula():
    s = bpdebug.load(CUSTOM)
    s.until("f")
    ev = s.step()
    (term,) = ev.terms
    assert "2 * a^2" in term.derivative and term.local == 18.0 and term.contribution == 18.0


# ---- back --------------------------------------------------------------------------------------

@pytest.mark.parametrize("program", [CHAIN, DEFS, MIXED, CUSTOM], ids=["chain", "defs", "mixed", "custom"])
def test_back_restores_every_value_and_gradient_exactly(program):
    s = bpdebug.load(program)
    states = [snapshot(s)]
    while s.t < s.total:
        s.step()
        states.append(snapshot(s))
    for t in range(s.total - 1, -1, -1):
        s.back()
        assert same(snapshot(s), states[t]), f"after back to step {t}"


def test_back_and_forth_at_random_matches_a_straight_run():
    s = bpdebug.load(MIXED)
    states = [snapshot(s)]
    while s.t < s.total:
        s.step()
        states.append(snapshot(s))
    s.restart()
    rng = random.Random(7)
    for _ in range(200):
        if rng.random() < 0.5:
            s.back(rng.randint(1, 5))
        else:
            s.step(rng.randint(1, 5))
        assert same(snapshot(s), states[s.t])


def test_back_returns_the_event_of_the_new_last_step():
    s = bpdebug.load(CHAIN)
    s.run()
    ev = s.back(3)
    assert s.t == 7 and ev.node.name == "q" and ev.pass_ == "backward"
    assert s.back(100) is None and s.t == 0


def test_goto_moves_both_ways():
    s = bpdebug.load(MIXED)
    s.goto(s.total - 2)
    g = s.grad("W")
    s.goto(3)
    assert s.t == 3 and s.values[5] is None
    s.goto(s.total - 2)
    np.testing.assert_array_equal(s.grad("W"), g)


# ---- run, until, breakpoints -------------------------------------------------------------------

def test_run_to_the_end():
    s = bpdebug.load(CHAIN)
    stop = s.run()
    assert (stop.reason, stop.step) == ("end", 10) and stop.event.node.name == "x"


def test_run_with_a_limit():
    s = bpdebug.load(CHAIN)
    stop = s.run(limit=7)
    assert (stop.reason, s.t) == ("limit", 7)


def test_until_stops_at_the_next_step_of_the_node():
    s = bpdebug.load(CHAIN)
    stop = s.until("q")
    assert (stop.reason, s.t, s.pass_at(s.t - 1)) == ("until", 4, "forward")
    stop = s.until("q")
    assert (stop.reason, s.t, s.pass_at(s.t - 1)) == ("until", 7, "backward")
    with pytest.raises(bpdebug.BpError, match="already been stepped"):
        s.until("q")
    with pytest.raises(bpdebug.BpError, match="did you mean 'q'"):
        s.until("qq")


def test_breakpoint_on_a_node_in_one_pass():
    s = bpdebug.load(CHAIN)
    b = s.add_breakpoint("q", "backward")
    stop = s.run()
    assert stop.reason == "breakpoint" and stop.breakpoint is b and b.hits == 1
    assert s.t == 7 and stop.event.node.name == "q" and stop.event.pass_ == "backward"
    assert s.run().reason == "end"


def test_breakpoint_on_a_node_in_both_passes():
    s = bpdebug.load(CHAIN)
    s.add_breakpoint("z")
    assert (s.run().step, s.run().step, s.run().reason) == (3, 8, "end")


def test_breakpoint_with_a_condition_on_the_gradient():
    # h5 = h4*3 = ... = h0*3: dh5/dh_k = 3^(5-k), so h1 gets 81 and h0 is the first over 100
    s = bpdebug.load("h0 = 0.5\n" + "".join(f"h{k} = h{k - 1} * 3\n" for k in range(1, 6)))
    s.add_breakpoint(pass_="backward", condition="abs(grad) > 100")
    stop = s.run()
    assert stop.reason == "breakpoint" and stop.event.node.name == "h0"
    assert s.grad("h0") == 243.0


def test_conditional_breakpoint_on_a_node_with_norm():
    s = bpdebug.load(MIXED)
    s.add_breakpoint("h", "backward", condition="norm(grad) > 0.5 and not isnan(value)")
    stop = s.run()
    assert stop.reason == "breakpoint" and s.graph.nodes[s.current].name == "h"
    assert np.linalg.norm(s.grad("h")) > 0.5


def test_condition_that_never_holds_runs_to_the_end():
    s = bpdebug.load(CHAIN)
    s.add_breakpoint(condition="value > 1000")
    assert s.run().reason == "end"


def test_forward_condition_on_value():
    s = bpdebug.load(CHAIN)
    s.add_breakpoint(pass_="forward", condition="value < -3")
    stop = s.run()
    assert stop.event.node.name == "z"
    stop = s.run()
    assert stop.event.node.name == "f"


def test_condition_on_another_node():
    s = bpdebug.load(CHAIN)
    s.add_breakpoint(condition="grad(x) != 0")
    stop = s.run()
    assert stop.event.node.name == "q" and stop.event.pass_ == "backward"


def test_temporary_breakpoint_deletes_itself():
    s = bpdebug.load(CHAIN)
    b = s.add_breakpoint("z", temporary=True)
    assert s.run().breakpoint is b
    assert b not in s.breakpoints
    assert s.run().reason == "end"


def test_disable_enable_delete():
    s = bpdebug.load(CHAIN)
    b = s.add_breakpoint("q", "forward")
    s.breakpoint(b.id).enabled = False
    assert s.run().reason == "end"
    s.restart()
    s.breakpoint(b.id).enabled = True
    assert s.run().reason == "breakpoint"
    s.delete_breakpoint(b.id)
    assert s.run().reason == "end"
    with pytest.raises(bpdebug.BpError, match="no breakpoint number"):
        s.breakpoint(b.id)


def test_breakpoints_survive_restart_and_count_hits():
    s = bpdebug.load(CHAIN)
    b = s.add_breakpoint("x")
    s.run()
    s.restart()
    s.run()
    assert b.hits == 2 and s.breakpoints == [b]


def test_breakpoint_on_an_unknown_node_suggests_one():
    s = bpdebug.load(CHAIN)
    with pytest.raises(bpdebug.BpError, match="did you mean 'q'"):
        s.add_breakpoint("qq")


def test_special_breakpoint_registered_by_another_module():
    SPECIAL_BREAKS["test_nonzero_grad"] = lambda sess, step: (
        "gradient reached x" if sess.node_at(step) == sess.graph.index("x")
        and sess.pass_at(step) == "backward" else "")
    try:
        s = bpdebug.load(CHAIN)
        s.add_breakpoint(special="test_nonzero_grad")
        stop = s.run()
        assert stop.reason == "breakpoint" and stop.detail == "gradient reached x" and s.t == 10
    finally:
        del SPECIAL_BREAKS["test_nonzero_grad"]


def test_continue_from_a_breakpoint_does_not_stop_at_the_same_step():
    s = bpdebug.load(CHAIN)
    s.add_breakpoint(pass_="forward")
    assert [s.run().step for _ in range(6)] == [1, 2, 3, 4, 5, 10]


# ---- watches, set, restart, lookup -------------------------------------------------------------

def test_watch_expressions_follow_the_position():
    s = bpdebug.load(CHAIN)
    s.add_watch("grad(x)")
    s.add_watch("value(q) * 2")
    s.add_watch("value")
    assert s.watch_values() == [("grad(x)", None), ("value(q) * 2", None), ("value", None)]
    s.until("q")
    assert s.watch_values() == [("grad(x)", None), ("value(q) * 2", 6.0), ("value", 3.0)]
    s.run()
    assert s.watch_values() == [("grad(x)", -4.0), ("value(q) * 2", 6.0), ("value", -2.0)]


def test_watch_on_an_unknown_name_is_refused():
    s = bpdebug.load(CHAIN)
    with pytest.raises(bpdebug.BpError, match="did you mean 'q'"):
        s.add_watch("grad(qq)")


def test_set_leaf_recomputes_up_to_the_current_position():
    s = bpdebug.load(CHAIN)
    s.until("q")
    s.until("q")
    t = s.t
    s.set_leaf("x", 10.0)
    assert s.t == t and s.value("q") == 15.0 and s.grad("x") == -4.0
    s.run()
    assert s.value("f") == -60.0 and s.grad("z") == 15.0
    s.restart()
    s.run()
    assert s.value("f") == -60.0       # the new value stays


def test_set_leaf_checks_shape_and_kind():
    s = bpdebug.load("v = [1, 2]\nf = sum(v * v)")
    s.set_leaf("v", np.array([3.0, 4.0]))
    s.run()
    np.testing.assert_array_equal(s.grad("v"), [6.0, 8.0])
    with pytest.raises(bpdebug.BpError, match=r"shape \(2,\)"):
        s.set_leaf("v", np.array([1.0, 2.0, 3.0]))
    with pytest.raises(bpdebug.BpError, match="only leaves can be set"):
        s.set_leaf("f", 1.0)


def test_restart_goes_back_to_before_the_first_step():
    s = bpdebug.load(CHAIN)
    s.run()
    s.restart()
    assert s.t == 0 and s.pass_ == "forward" and all(v is None for v in s.values)
    assert s.grad("x") == 0.0 and s.grad("f") == 1.0


def test_lookup_of_current_node_variables():
    s = bpdebug.load(CHAIN)
    assert s.lookup("value") is None
    s.until("f")
    assert s.lookup("value") == -12.0 and s.lookup("upstream") is None
    s.step()
    assert s.lookup("upstream") == 1.0 and s.lookup("step") == 6
    assert s.lookup("value", "q") == 3.0


def test_nonfinite_is_flagged_per_node():
    s = bpdebug.load("x = -1\nw = 3\ny = log(x)\nf = y + w")
    s.run()
    assert s.nonfinite(s.graph.index("y")) and not s.nonfinite(s.graph.index("w"))
    assert np.isnan(s.value("y")) and s.grad("x") == -1.0   # 1/x is finite at x = -1


def test_local_derivatives_for_elementwise_nodes():
    s = bpdebug.load("a = [1, 2]\nb = [3, 4]\nf = sum(a * b)")
    s.run()
    da, db = s.local_derivatives(s.graph.index("f.1"))
    np.testing.assert_array_equal(da, [3.0, 4.0])
    np.testing.assert_array_equal(db, [1.0, 2.0])
    assert s.local_derivatives(s.graph.index("f")) == [None]   # sum is not elementwise


def test_a_large_graph_runs_and_steps_cheaply():
    n = 20_000
    lines = ["x0 = 0.5"] + [f"x{k} = tanh(x{k - 1}) * 1.01" for k in range(1, n)]
    s = bpdebug.load("\n".join(lines))
    s.add_breakpoint(f"x{n // 2}", "backward")
    stop = s.run()
    assert stop.reason == "breakpoint"
    s.run()
    assert s.pass_ == "done" and np.isfinite(s.grad("x0"))


# ---- which node is the output ---------------------------------------------------------------------

@pytest.mark.parametrize("program, output", [
    ("x = 2\nf = x * 3\ng = x * 5", "g"),                         # the last assignment
    ("x = 2\nloss f = x * 3\ng = x * 5", "f"),                    # a loss declares it
    ("x = 2\nloss f = x * 3\nloss g = x * 5", "g"),               # the last loss
    ("x = 2\nf = x * 3\noutput f\ng = x * 5", "f"),              # named
    ("x = 2\noutput g\nloss f = x * 3\ng = x * 5", "g"),         # named beats a loss
    ("x = [[1.0]]\nloss C = sum(x)\nlayer h = dense(x, 2)", "C"),
    ("x = [[1.0]]\nlayer h = dense(x, 1, act=tanh)", "h.a"),
])
def test_the_output(program, output):
    s = bpdebug.load(program)
    assert s.graph.nodes[s.graph.output].name == output
    s.run()
    assert s.grad(output) == 1.0


# Every kind of breakpoint, alone and mixed: node, conditional, special, pass-only, temporary.
BREAK_KINDS = ["q", "backward x", "forward f", "if value < 0", "backward if grad < -3", "nonfinite",
               "mismatch", "forward", "backward y if grad != 0"]


def _stops(program: str, specs: list, temporary=()) -> list:
    from bpdebug.commands import execute
    s = bpdebug.load(program)
    for spec in specs:
        assert not execute(s, f"{'tbreak' if spec in temporary else 'break'} {spec}").error
    stops = []
    while s.t < s.total:
        stop = s.run()
        stops.append((stop.reason, stop.step))
    return stops


@pytest.mark.parametrize("mix", [(a, b) for i, a in enumerate(BREAK_KINDS) for b in BREAK_KINDS[i + 1:]]
                         + [tuple(BREAK_KINDS)])
def test_a_mix_of_breakpoints_stops_where_each_alone_would(mix):
    # `--break q --break nonfinite` once crashed every front end (a tuple added to a list).
    alone = set()
    for spec in mix:
        alone |= {step for reason, step in _stops(CHAIN, [spec]) if reason == "breakpoint"}
    together = _stops(CHAIN, list(mix))
    assert {step for reason, step in together if reason == "breakpoint"} == alone
    assert together[-1][1] == 10


def test_a_temporary_breakpoint_mixed_with_others_stops_once():
    stops = _stops(CHAIN, ["q", "nonfinite", "backward"], temporary=("backward",))
    assert [step for reason, step in stops if reason == "breakpoint"] == [4, 6, 7]
