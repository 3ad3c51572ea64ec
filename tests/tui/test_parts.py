"""The TUI's pure parts, without Textual running: marks, the circuit, completion, cells."""
from __future__ import annotations

import numpy as np
from rich.console import Console

from bpdebug.render import short_value, tensor_table
from bpdebug.tui.status import FLAGS, breakpoint_marks, node_flags, node_status
from bpdebug.tui.widgets.command_line import Completer, common_prefix
from bpdebug.tui.widgets.inspector import received
from bpdebug.tui.widgets.neighbourhood import circuit, draw

from .conftest import FANOUT, NAN, SEED, load


def test_status_follows_the_position():
    s = load(SEED)                                  # x y z q f
    assert [node_status(s, i) for i in range(5)] == ["pending"] * 5
    s.run(limit=4)
    assert [node_status(s, i) for i in range(5)] == ["value"] * 3 + ["current", "pending"]
    s.run(limit=3)                                  # backward steps of f and q
    assert [node_status(s, i) for i in range(5)] == ["value"] * 3 + ["current", "grad"]
    s.run()
    assert [node_status(s, i) for i in range(5)] == ["current"] + ["grad"] * 4


def test_flags_breakpoints_nonfinite_and_other_tools():
    s = load(NAN)
    s.add_breakpoint("y")
    b = s.add_breakpoint("w")
    b.enabled = False
    marks = breakpoint_marks(s)
    assert marks == {2: "breakpoint", 1: "disabled"}
    s.run(limit=3)
    assert node_flags(s, 2, marks, {}) == ["breakpoint", "nonfinite"]
    FLAGS["check-failed"] = FLAGS["nonfinite"]       # how the gradient checker adds its mark
    try:
        assert node_flags(s, 0, marks, {0: ["check-failed"]}) == ["check-failed"]
    finally:
        del FLAGS["check-failed"]


def _lines(c, width=70, height=10):
    console = Console(width=200)
    with console.capture() as cap:
        for line in draw(c, width, height):
            console.print(line)
    return cap.get().splitlines()


def test_circuit_of_the_add_gate_in_the_backward_pass():
    s = load(SEED)
    s.run(limit=7)                                  # backward step of q
    c = circuit(s, 3)
    assert [(w.name, w.value, w.grad) for w in c.inputs] == [("x", -2.0, -4.0), ("y", 5.0, -4.0)]
    assert [(w.name, w.value, w.grad) for w in c.consumers] == [("f", 3.0, -4.0)]
    lines = _lines(c)
    assert all(len(line) <= 70 for line in lines)
    assert "x ─" in lines[1] and " -2 " in lines[1] and lines[1].rstrip().endswith("f")
    assert "◀" in lines[2] and " -4 " in lines[2]
    assert "│ q = x + y" in lines[1]


def test_circuit_before_the_backward_pass_has_pending_edges_and_fits_small_sizes():
    s = load(SEED)
    s.run(limit=4)
    c = circuit(s, 3)
    assert [w.grad for w in c.inputs] == [None, None] and c.consumers[0].grad is None
    assert "┄" in "\n".join(_lines(c))
    for width, height in [(10, 3), (1, 1), (40, 5)]:
        assert len(draw(c, width, height)) <= height


def test_circuit_counts_what_does_not_fit():
    text = "x = 1\n" + "".join(f"y{i} = x * {i}\n" for i in range(10)) + "L = " + \
        " + ".join(f"y{i}" for i in range(10)) + "\n"
    s = load(text)
    c = circuit(s, 0, limit=4)
    assert len(c.consumers) == 4 and c.more_consumers == 6
    assert any("+6 more" in line for line in _lines(c, height=14))
    assert any("+7 more" in line for line in _lines(c, height=10))   # room for 3 wires only


def test_received_reads_at_most_a_few_consumers():
    s = load(FANOUT)
    s.run()
    got, more = received(s, s.graph.index("a"))
    assert got == [("z4", -1.0), ("z3", 3.0)] and more == 0
    text = "x = 1\n" + "".join(f"y{i} = x * {i}\n" for i in range(10)) + "L = " + \
        " + ".join(f"y{i}" for i in range(10)) + "\n"
    s = load(text)
    s.run()
    got, more = received(s, 0, limit=3)
    assert [name for name, _ in got] == ["y9", "y8", "y7"] and more == 7
    assert [c for _, c in got] == [9.0, 8.0, 7.0]


def test_completion_of_commands_and_names():
    s = load(SEED)
    complete = Completer(s).complete
    assert complete("unt") == ["until"]
    assert complete("until ") == ["until f", "until q", "until x", "until y", "until z"]
    assert complete("break back") == ["break backward"]
    assert complete("break backward q if gr") == ["break backward q if grad"]
    assert complete("p value(") == [f"p value({n})" for n in sorted("fqxyz")]
    assert complete("info w") == ["info watches"]
    assert complete("frob") == []
    assert common_prefix(["until xa", "until xb"]) == "until x"


def test_short_values_and_tensor_tables():
    assert short_value(None) == "·" and short_value(-12.0) == "-12"
    assert short_value(np.array([1.0, 2.0])) == "[1, 2]"
    assert short_value(np.array([0.123456, 0.5]), width=7) == "‖0.515‖"
    assert short_value(np.array([0.123456, 0.5]), width=6) == "‖0.52‖"   # fewer digits, not cut
    assert short_value(-0.0554659, 7) == "-0.0555" and short_value(-0.0554659, 3) == "…"
    assert short_value(np.array([np.nan, 1.0, np.inf, 2.0])) == "2 nan/inf"
    console = Console(width=100)
    with console.capture() as cap:
        console.print(tensor_table(np.arange(400.0).reshape(20, 20) - 200))
    out = cap.get()
    assert "shape (20, 20)" in out and "⋯" in out and "min -200" in out and "max 199" in out
    assert len(out.splitlines()) == 1 + 8 + 1       # shape, 8 rows (one of them ⋯), summary


def test_help_shows_the_commands_brackets_as_typed():
    from bpdebug.tui.widgets.help_screen import help_text

    console = Console(width=160)
    with console.capture() as cap:
        console.print(help_text())
    out = cap.get()
    assert "[forward|backward]" in out and "[NODE] [if COND]" in out and "[all]" in out


def test_inspector_names_a_kink_also_inside_a_def():
    from bpdebug.tui.widgets.inspector import inspect

    s = load("def r(x) = relu(x)\ngrad r wrt x = 1\nx = 0\ny = relu(x)\nL = r(y)\n")
    s.run()
    lines = [str(p) for i in (1, 2) for p in inspect(s, i, []) if "kink" in str(p)]
    assert lines == ["  at a kink: relu'(0) = 0", "  at a kink: relu'(0) = 0 (inside r)"]


def _inspected(s, name: str) -> str:
    """The inspector's text for one node, as plain text."""
    from bpdebug.tui.widgets.inspector import inspect

    console = Console(width=200, color_system=None)
    with console.capture() as cap:
        for part in inspect(s, s.graph.index(name), []):
            console.print(part)
    return cap.get()


def test_inspector_shows_each_new_ops_local_derivative_and_where_the_gradient_stops():
    s = load("x = [-1.5, 2]\na = leaky_relu(x, slope=0.2)\nm = max(a)\nd = stop_gradient(x)\n"
             "g = gelu(x)\nL = m + sum(d * x) + sum(g)\n")
    s.run()
    assert "d(leaky_relu(x, slope=0.2))/dx = 1 if x > 0 else 0.2" in _inspected(s, "a")
    assert "d(max(a))/da = 1 at the first max of each slice, else 0" in _inspected(s, "m")
    assert "d(gelu(x))/dx = Φ(x) + x*φ(x)" in _inspected(s, "g")
    stop = _inspected(s, "d")
    assert "d(stop_gradient(x))/dx = 0 (the gradient stops here)" in stop
    assert "the gradient stops here: stop_gradient sends 0 to its input" in stop
    assert "the gradient stops here" not in _inspected(s, "g")


def test_inspector_says_why_a_comparison_and_an_index_have_no_gradient():
    s = load("x = [-1.5, 2, 0.5]\nm = x > 0\na = argmax(x)\ny = x[1:3]\nL = sum(m * x) + a + sum(y)\n")
    s.run()
    assert "no gradient: a comparison" in _inspected(s, "m")
    assert "no gradient: an index" in _inspected(s, "a")
    assert "d(x[1:3])/dx = dout at x[1:3], 0 elsewhere" in _inspected(s, "y")


def test_node_list_shows_shapes_and_ops_in_full_when_there_is_room():
    from bpdebug.tui.widgets.node_list import NodeList

    nodes = NodeList(load("x = zeros(64, 8, 8, 8)\ny = softmax_cross_entropy(reshape(x, [64, 512]), "
                          "zeros(64, 512))\n"))
    columns = lambda width: (nodes.__setattr__("_columns_cache", None), nodes._columns(width))[1]  # noqa: E731
    name, op, shape, value, grad = columns(80)                     # narrow: cut, cells first
    assert shape < len("(64, 8, 8, 8)") and op < len("softmax_cross_entropy")
    name, op, shape, value, grad = columns(92)                     # the shape first
    assert shape == len("(64, 8, 8, 8)") and value >= 24
    name, op, shape, value, grad = columns(120)                    # then the op
    assert op == len("softmax_cross_entropy") and value >= 24
