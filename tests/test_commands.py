"""The pdb-like command language: text in, Result out, every command and its mistakes."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bpdebug
from bpdebug.commands import execute, parse_value

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHAIN = "x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n"


@pytest.fixture
def s():
    return bpdebug.load(CHAIN, "chain.bp")


def run(session, *lines):
    """The results of several commands; the last one returned, all asserted error-free."""
    result = None
    for line in lines:
        result = execute(session, line)
        assert not result.error, f"{line}: {result.text}"
    return result


def error(session, line) -> str:
    result = execute(session, line)
    assert result.error, f"{line} should be refused: {result.text}"
    return result.text


# ---- moving ----------------------------------------------------------------------------------------

def test_step_prints_the_forward_step(s):
    assert run(s, "step").text == "[forward 1/10] x = -2"
    text = run(s, "s 3").text
    assert text == "[forward 4/10] q = x + y\n  x = -2, y = 5\n  q = 3"
    assert s.t == 4


def test_step_into_the_backward_pass_shows_the_chain_rule(s):
    run(s, "step 5")
    text = run(s, "step").text
    assert text.splitlines() == [
        "[backward 6/10] f = q*z",
        "  upstream df/df = 1",
        "  d(q*z)/dq = z = -4;  contribution -4  ->  df/dq = -4",
        "  d(q*z)/dz = q = 3;  contribution 3  ->  df/dz = 3",
    ]


def test_continue_to_the_end(s):
    text = run(s, "continue").text
    assert text.endswith("done: f = -12; every gradient is final")
    assert "[backward 10/10] x = -2" in text
    assert run(s, "c").text.startswith("the backward pass is finished")
    assert run(s, "step").text.startswith("the backward pass is finished")


def test_back_restores_and_reports(s):
    run(s, "c")
    text = run(s, "back 4").text
    assert text.startswith("[backward 6/10] f = q*z") and s.t == 6
    assert s.grad("x") == 0.0 and s.grad("q") == -4.0
    assert run(s, "r").text.startswith("[forward 5/10]")
    run(s, "back 100")
    assert s.t == 0 and run(s, "back").text == "at the start: nothing to take back"


def test_next_over_a_def_call():
    s = bpdebug.load("def sq(a) = a * a + 1\nx = 3\ny = sq(x)\nf = y * x")
    run(s, "n")
    text = run(s, "next").text
    assert text.startswith("[forward 5/12] y = sq(x)") and s.t == 5
    assert run(s, "where").text.splitlines()[1].startswith("current: y = sq(x)")


def test_where_inside_a_def_body():
    s = bpdebug.load("def sq(a) = a * a + 1\nx = 3\ny = sq(x)\nf = y * x")
    run(s, "step 2")
    lines = run(s, "w").text.splitlines()
    assert lines[0] == "forward pass, 2 of 12 steps taken"
    assert lines[1].startswith("current: y.1 = x*x") and lines[2] == "  inside y = sq(x)   (line 3)"
    assert lines[3] == "next: forward y.2"


def test_until(s):
    assert run(s, "until q").text.startswith("[forward 4/10] q = x + y")
    assert run(s, "u q").text.startswith("[backward 7/10] q = x + y")
    assert "already been stepped" in error(s, "until q")
    assert "until needs a node name" in error(s, "until")
    assert error(s, "until qq") == "no node named 'qq' (did you mean 'q'?)"


@pytest.mark.parametrize("arg, shown", [("0", "0"), ("-1", "-1"), ("x", "x"), ("1.5", "1.5"), ("²", "²"),
                                        ("inf", "inf"), ("1e309", "1e309"), ("10^12", "10^12"),
                                        ("1e12", "1e12"), ("9" * 5000, "9" * 20 + "… (5,000 characters)")])
def test_step_counts_must_be_positive_whole_numbers(s, arg, shown):
    assert error(s, f"step {arg}") == f"the number of steps must be a whole number from 1 to 1000000000, got {shown}"


@pytest.mark.parametrize("command, what", [("back", "the number of steps"), ("delete", "a breakpoint number"),
                                           ("enable", "a breakpoint number"), ("disable", "a breakpoint number"),
                                           ("unwatch", "a watch number")])
@pytest.mark.parametrize("arg", ["²", "³", "٣", "-1", "0", "inf", "nan", "1e309", "10^12", "1_0", "0x1"])
def test_every_command_reads_its_numbers_with_one_rule(s, command, what, arg):
    run(s, "break q", "watch x", "step 3")
    assert error(s, f"{command} {arg}") == f"{what} must be a whole number from 1 to 1000000000, got {arg}"
    assert len(s.breakpoints) == 1 and len(s.watches) == 1 and s.t == 3
    s.restart()                                          # at the start, where `back` has nothing to take back
    assert error(s, f"{command} {arg}") == f"{what} must be a whole number from 1 to 1000000000, got {arg}"


def test_a_count_may_be_written_as_a_whole_float(s):
    run(s, "step 1e0")
    assert s.t == 1
    run(s, "step 2.0")
    assert s.t == 3


# ---- breakpoints -------------------------------------------------------------------------------------

def test_break_on_a_node_in_the_backward_pass(s):
    assert run(s, "break backward q").text == "breakpoint 1: backward q"
    text = run(s, "c").text
    assert text.startswith("stopped at breakpoint 1 (backward q)\n[backward 7/10] q = x + y")


def test_break_with_a_condition(s):
    assert run(s, "b if value < -3").text == "breakpoint 1: if value < -3"
    assert "[forward 3/10] z = -4" in run(s, "c").text
    assert "[forward 5/10] f = q*z" in run(s, "c").text


def test_break_on_a_node_with_a_condition_on_the_gradient(s):
    run(s, "break backward z if abs(grad) > 2.5")
    text = run(s, "continue").text
    assert text.startswith("stopped at breakpoint 1 (backward z if abs(grad) > 2.5)")
    assert "[backward 8/10] z = -4" in text


def test_tbreak_deletes_itself(s):
    assert run(s, "tbreak forward y").text == "temporary breakpoint 1: forward y"
    assert "stopped at breakpoint 1" in run(s, "c").text
    assert run(s, "info breakpoints").text == "no breakpoints"
    assert run(s, "c").text.endswith("every gradient is final")


def test_info_disable_enable_delete(s):
    run(s, "break q", "tbreak backward x if grad < 0")
    lines = run(s, "info breakpoints").text.splitlines()
    assert lines[1].split() == ["1", "on", "keep", "hits", "0", "q"]
    assert lines[2].split() == ["2", "on", "temp", "hits", "0", "backward", "x", "if", "grad", "<", "0"]
    assert run(s, "disable 1").text == "disabled breakpoint 1"
    assert run(s, "info b").text.splitlines()[1].split()[1] == "off"
    assert "stopped at breakpoint 2" in run(s, "c").text         # 1 is off
    s.restart()
    assert run(s, "enable 1").text == "enabled breakpoint 1"
    assert "stopped at breakpoint 1" in run(s, "c").text
    assert run(s, "delete 1").text == "deleted breakpoint 1"
    assert run(s, "delete").text == "deleted 0 breakpoint(s)"
    assert error(s, "delete 7") == "no breakpoint number 7"
    assert error(s, "disable x") == "a breakpoint number must be a whole number from 1 to 1000000000, got x"
    assert run(s, "break").text == "no breakpoints"


def test_bad_breakpoints_are_refused(s):
    assert error(s, "break qq") == "no node named 'qq' (did you mean 'q'?)"
    assert "unexpected 'y'" in error(s, "break x y")
    assert "unknown name 'valu'" in error(s, "break if valu > 1")
    assert "did you mean 'value'" in error(s, "break if valu > 1")
    assert "unknown function 'nrm'" in error(s, "break if nrm(grad) > 1")
    assert "expected" in error(s, "break if grad >")
    assert s.breakpoints == []


# ---- watches, print, list --------------------------------------------------------------------------

def test_watch_shows_at_every_stop(s):
    assert run(s, "watch grad(x)").text == "watch 1: grad(x) = —"
    assert run(s, "watch value(q) * 2").text == "watch 2: value(q) * 2 = —"
    text = run(s, "until q").text
    assert text.splitlines()[-2:] == ["watch grad(x): —", "watch value(q) * 2: 6"]
    assert run(s, "c").text.splitlines()[-2:] == ["watch grad(x): -4", "watch value(q) * 2: 6"]
    assert run(s, "info watches").text == "1: grad(x) = -4\n2: value(q) * 2 = 6"
    assert run(s, "unwatch 1").text == "removed watch 1: grad(x)"
    assert error(s, "unwatch 5") == "no watch number 5"
    assert "unknown name" in error(s, "watch grad(qq)") or "NODE" in error(s, "watch grad(qq)")


def test_print_a_node_and_what_it_received(s):
    run(s, "c")
    assert run(s, "p q").text.splitlines() == [
        "q = x + y", "  op add, shape ()", "  value: 3", "  grad:  -4", "  received: from f -4"]
    assert run(s, "print f").text.splitlines()[3] == "  grad:  1"


def test_print_before_anything_is_computed(s):
    assert run(s, "p").text == "nothing stepped yet"
    assert run(s, "p q").text.splitlines()[2] == "  value: —"
    assert run(s, "p -q").text == "-q = —"
    assert run(s, "p grad(q) + 1").text == "grad(q) + 1 = —"


def test_print_expressions(s):
    run(s, "c")
    assert run(s, "p q * 2").text == "q * 2 = 6"
    assert run(s, "p -grad(x)").text == "-grad(x) = 4"
    assert run(s, "p max(value(q), 10)").text == "max(value(q), 10) = 10"
    assert run(s, "p isnan(grad(x)) or grad(x) < 0").text == "isnan(grad(x)) or grad(x) < 0 = True"
    assert run(s, "p 1 / 0").text == "1 / 0 = inf"
    assert "cannot evaluate" in error(s, "p x @ x")
    assert "takes 1 argument" in error(s, "p norm()")
    assert "an expression takes numbers" in error(s, "p [1, 2]")


def test_print_a_tensor_node():
    s = bpdebug.load("v = [1, 2]\nf = sum(v * v)")
    run(s, "c")
    lines = run(s, "p v").text.splitlines()
    assert lines[1] == "  op leaf, shape (2,)" and lines[2] == "  value: [1, 2]" and lines[3] == "  grad:  [2, 4]"


def test_print_reaches_nodes_the_builder_named():
    s = bpdebug.load("x = 3\nf = x * 2 + 1")
    run(s, "c")
    assert run(s, "p f.2").text.startswith("f.2 = x*2")  # constants read by value
    assert run(s, "break backward f.2").text == "breakpoint 1: backward f.2"


def test_list_marks_the_current_node(s):
    assert run(s, "list").text == "   x = leaf -2\n   y = leaf 5\n   z = leaf -4\n   q = add x y\n   f = mul q z"
    run(s, "until q")
    assert "-> q = add x y" in run(s, "l").text.splitlines()


def test_list_of_a_large_graph_shows_a_window():
    s = bpdebug.load("x0 = 1\n" + "".join(f"x{k} = x{k - 1} * 1\n" for k in range(1, 100)))
    lines = run(s, "list").text.splitlines()
    assert len(lines) == 12 and lines[-1].strip().startswith("...")
    assert len(run(s, "list all").text.splitlines()) == len(s.graph.nodes)


def test_list_shows_def_calls_and_shapes():
    s = bpdebug.load("def sq(a) = a * a\nv = [1, 2]\nw = sq(v)\nf = sum(w)")
    assert run(s, "list").text.splitlines()[1:3] == ["   w.1: (2,) = mul v v", "   w: (2,) = sq w.1"]


# ---- set, restart --------------------------------------------------------------------------------------

def test_set_a_leaf_and_recompute(s):
    run(s, "until q")
    assert run(s, "set x = 10").text == "x = 10; recomputed 4 steps"
    assert s.value("q") == 15.0
    run(s, "c")
    assert s.grad("z") == 15.0


def test_set_a_tensor_leaf():
    s = bpdebug.load("v = [1, 2]\nf = sum(v * v)")
    run(s, "set v = [3, -1]", "c")
    assert list(s.grad("v")) == [6.0, -2.0]


@pytest.mark.parametrize("line, message", [
    ("set", "usage: set LEAF = VALUE"),
    ("set x", "usage: set LEAF = VALUE"),
    ("set x = ", "usage: set LEAF = VALUE"),
    ("set q = 1", "'q' is computed (q = x + y); only leaves can be set"),
    ("set qq = 1", "no node named 'qq'"),
    ("set x = [1, 2]", "'x' has shape (); the new value has shape (2,)"),
    ("set x = y", "expected a number or a tensor literal"),
    ("set x = [1", "expected"),
])
def test_set_mistakes(s, line, message):
    assert message in error(s, line)
    assert s.value("x") is None or s.value("x") == -2.0


def test_restart_keeps_breakpoints(s):
    run(s, "break z", "c")
    assert run(s, "restart").text == "restarted: 10 steps ahead (5 forward, 5 backward)"
    assert s.t == 0 and "stopped at breakpoint 1" in run(s, "c").text


def test_parse_value():
    assert parse_value("3") == 3.0
    assert parse_value("-2.5") == -2.5
    assert parse_value("[[1, 2], [3, 4]]").shape == (2, 2)
    with pytest.raises(bpdebug.BpError, match="ragged"):
        parse_value("[[1, 2], [3]]")


# ---- help, aliases, mistakes ---------------------------------------------------------------------------

def test_help_lists_every_command_and_explains_one(s):
    text = run(s, "help").text
    for word in ("step", "next", "continue", "back", "until", "break", "tbreak", "delete", "disable",
                 "enable", "watch", "print", "where", "list", "set", "restart", "info", "help"):
        assert any(line.startswith(word) for line in text.splitlines()), word
    assert run(s, "help s").text.startswith("step [N]")
    assert error(s, "help stpe") == "no command 'stpe' (did you mean 'step'?)"


def test_unknown_command_suggests_one(s):
    assert error(s, "contiue") == "unknown command 'contiue'; did you mean 'continue'?"
    assert error(s, "xyzzy") == "unknown command 'xyzzy'; type `help`"


def test_blank_lines_and_comments_do_nothing(s):
    for line in ("", "   ", "# a comment"):
        result = execute(s, line)
        assert result.text == "" and not result.error and s.t == 0


def test_info_needs_a_subject(s):
    assert error(s, "info") == "usage: info breakpoints | info watches"


def test_the_transcript_of_the_chain_rule_example():
    s = bpdebug.load_file(EXAMPLES / "chain_rule.bp")
    text = run(s, "break backward q", "continue").text
    assert "df/dx = -4" in text and "df/dy = -4" in text
    assert run(s, "p x").text.splitlines()[3] == "  grad:  -4"


# ---- fuzzed command lines --------------------------------------------------------------------------------

WORDS = st.sampled_from(["s", "n", "c", "b", "p", "w", "l", "r", "u", "step", "next", "back", "until",
                         "break", "tbreak", "delete", "disable", "enable", "watch", "unwatch", "print",
                         "list", "set", "restart", "info", "help", "where", "x", "q", "qq", "forward",
                         "backward", "if", "value", "grad", "upstream", "norm(grad)", ">", "<", "==", "=",
                         "1", "-1", "0", "[1, 2]", "and", "not", "(", ")", "all", "breakpoints",
                         "watches", "100", "1e400", "nonfinite", "f.1", "abs(", "isnan(value)"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(WORDS, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=8))
def test_any_sequence_of_command_lines_gives_results(lines):
    s = bpdebug.load(CHAIN)
    for line in lines:
        result = execute(s, line)
        assert isinstance(result.text, str)
        assert 0 <= s.t <= s.total


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_command_text_gives_a_result(line):
    s = bpdebug.load(CHAIN)
    s.step(3)
    result = execute(s, line)
    assert isinstance(result.text, str)


# ---- what the transcript teaches (issue 11) ------------------------------------------------------------

SQ = "def sq(a) = a * a; x = 3; y = sq(x) + 1"


def test_next_in_the_backward_pass_steps_over_a_def_call():
    s = bpdebug.load(SQ)
    run(s, "until y", "until y")                          # the backward step of y's add node
    run(s, "n")                                           # the constant 1
    text = run(s, "n").text                               # over sq(x): the whole call is one step
    assert text.splitlines() == [
        "[backward 9/10] y.2 = sq(x)   (the whole call, stepped over)",
        "  upstream dy/dy.2 = 1",
        "  d(sq(x))/dx, through the body;  contribution 6  ->  dy/dx = 6",
    ]
    where = run(s, "where").text
    assert "current: y.2 = sq(x)" in where and "inside" not in where
    assert run(s, "n").text.startswith("[backward 10/10] x = 3")


def test_next_in_the_forward_pass_shows_the_call_taking_its_arguments():
    s = bpdebug.load(SQ)
    run(s, "n")
    assert run(s, "n").text.splitlines() == [
        "[forward 3/10] y.2 = sq(x)   (the whole call, stepped over)", "  x = 3", "  y.2 = 9"]


def test_a_node_reading_its_input_twice_shows_the_running_sum():
    s = bpdebug.load("x = 3\nf = x * x")
    run(s, "until f")
    lines = run(s, "step").text.splitlines()             # the backward step of f = x*x
    assert lines[2:] == ["  d(x*x)/dx = x = 3;  contribution 3  ->  df/dx = 3",
                         "  d(x*x)/dx = x = 3;  contribution 3  ->  df/dx = 6"]
    assert "  received: from f 3, from f 3" in run(s, "c", "p x").text.splitlines()


def test_gradients_are_named_after_the_output():
    s = bpdebug.load_file(EXAMPLES / "chain_rule.bp")
    text = run(s, "until q", "until q").text
    assert "upstream df/dq = -4" in text and "df/dx = -4" in text and "dL/" not in text
    s = bpdebug.load_file(EXAMPLES / "network_232.bp")
    text = run(s, "until out.z", "until out.z").text
    assert "upstream dC/dout.z = " in text and "dC/dout.b = " in text and "dL/" not in text


def test_print_writes_numbers_as_everything_else_does():
    s = bpdebug.load("M = [[1.5, 2, 3], [0.001, 1e-9, 7]]\nf = sum(M * M) / 3")
    run(s, "c")
    assert run(s, "p M").text.splitlines()[2:4] == ["  value: [[  1.5,     2,     3],",
                                                    "          [0.001, 1e-09,     7]]"]
    assert run(s, "p grad(M) * 3").text == "grad(M) * 3 = [[    3,     4,     6],\n" \
                                            "               [0.002, 2e-09,    14]]"
    assert run(s, "p 1 / 3").text == "1 / 3 = 0.333333"


def test_print_of_a_name_the_program_lacks_says_so(s):
    assert error(s, "p nosuch") == "no node named 'nosuch'"
    assert error(s, "p qq") == "no node named 'qq' (did you mean 'q'?)"
    assert "unknown name 'qq' in expression" in error(s, "p qq + 1")


def test_quit_and_its_aliases(s):
    for line in ("quit", "q", "exit"):
        result = execute(s, line)
        assert result.quit and not result.error


def test_condition_sets_and_removes_a_breakpoints_condition(s):
    run(s, "break z")
    assert run(s, "condition 1 grad < 0").text == "breakpoint 1: z if grad < 0"
    assert "[backward 8/10]" not in run(s, "c").text              # z's gradient is 3: no stop
    s.restart()
    assert run(s, "condition 1").text == "breakpoint 1: z"
    assert run(s, "c").text.startswith("stopped at breakpoint 1 (z)\n[forward 3/10]")
    assert "unknown name" in error(s, "condition 1 gradd > 0")
    assert error(s, "condition 9 grad > 0") == "no breakpoint number 9"


def test_ignore_passes_a_breakpoint_by_its_next_hits(s):
    run(s, "break")
    run(s, "break if value < 0")                          # x, z, f in the forward pass...
    assert run(s, "ignore 1 2").text == "breakpoint 1 will pass by its next 2 hit(s)"
    assert "(passing by 2 more hit(s))" in run(s, "info breakpoints").text
    assert run(s, "c").text.startswith("stopped at breakpoint 1 (if value < 0)\n[forward 5/10] f = q*z")
    assert s.breakpoint(1).hits == 3 and s.breakpoint(1).ignore == 0
    for bad in ("lots", "²", "-1", "1e309"):
        assert error(s, f"ignore 1 {bad}") == f"the number of hits to pass by must be a whole number from 0 to 1000000000, got {bad}"
    assert error(s, "ignore 1").startswith("usage: ignore N COUNT")
    assert error(s, "ignore ² 1") == "a breakpoint number must be a whole number from 1 to 1000000000, got ²"


def test_jump_goes_to_a_step_past_breakpoints(s):
    run(s, "break q")
    assert run(s, "jump 7").text.startswith("[backward 7/10] q = x + y") and s.t == 7
    assert s.grad("x") == -4.0
    assert run(s, "jump 2").text.startswith("[forward 2/10] y = 5") and s.value("q") is None
    assert run(s, "jump 0").text == "at the start: nothing stepped yet"
    for bad in ("11", "-1", "x", "1e400", "99999999999999999999", "²"):
        assert error(s, f"jump {bad}") == f"the step to jump to must be a whole number from 0 to 10, got {bad}"


def test_up_and_down_through_the_def_calls_around_the_current_node():
    s = bpdebug.load("def sq(a) = a * a\ndef quad(a) = sq(a) + 1\nx = 3\ny = quad(x)")
    run(s, "step 2")                                      # x, then a*a inside sq inside quad
    lines = run(s, "where").text.splitlines()
    assert lines[1:4] == ["current: y.1 = x*x   (line 1)", "  inside y.2 = sq(x)   (line 2)",
                          "  inside y = quad(x)   (line 4)"]
    assert run(s, "up").text.splitlines()[2] == "> inside y.2 = sq(x)   (line 2)"
    assert run(s, "p").text.startswith("y.2 = sq(x)")             # print: the frame's node
    assert run(s, "up").text.splitlines()[3] == "> inside y = quad(x)   (line 4)"
    assert error(s, "up") == "no `def` call around this one"
    run(s, "down", "down")
    assert error(s, "down") == "already at the current node"
    run(s, "up", "step")                                  # a move goes back to the current node
    assert s.frame == 0 and run(s, "p").text.startswith("y.2 = sq(x)")   # y.2 is current now


def test_help_lays_the_commands_out_in_columns(s):
    lines = run(s, "help").text.splitlines()
    short = [line for line in lines if len(line.split("  ")[0]) < 18]
    assert len(short) > 15 and len({len(line) - len(line[18:]) for line in short}) == 1
    assert all(line[17] == " " and line[18] != " " for line in short), short
    assert run(s, "help c").text == "continue          (c, cont) run to the next breakpoint or the end"
