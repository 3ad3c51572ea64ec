"""The language as published examples write it (issue 9): `**`, rebinding with versions
(`c += e`, `c#1`), trailing commas, a `def` shadowing a built-in, comparisons, indexing and
slicing, method calls and NumPy/math spellings; each with the mistakes people make in it; and
the language with the op set of issue 9 (where on a comparison, methods of the new functions,
index's shape rule). Gradients of these forms are checked against central differences in
test_gradients.py."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError
from bpdebug.cli import main
from bpdebug.commands import execute
from bpdebug.lang import strip_comment

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def finished(text: str, values: dict | None = None):
    s = bpdebug.load(text, None, values)
    assert s.run().reason == "end"
    return s


def error_of(text: str, **kw) -> BpError:
    with pytest.raises(BpError) as info:
        bpdebug.load(text, "prog.bp", **kw)
    return info.value


def caret_under(err: BpError) -> str:
    """The source text the caret line marks."""
    _, shown, caret = str(err).split("\n")[:3]
    start = caret.index("^")
    return shown[start:start + caret.count("^")]


def run_cli(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---- the published examples, with their numbers --------------------------------------------------

def test_micrograd_more_ops_gives_micrograds_numbers():
    s = bpdebug.load_file(EXAMPLES / "micrograd_more_ops.bp")
    assert s.run().reason == "end"
    assert s.value("g") == pytest.approx(24.70408163265306, rel=1e-14)
    assert s.grad("a") == pytest.approx(138.83381924198252, rel=1e-14)
    assert s.grad("b") == pytest.approx(645.5772594752186, rel=1e-14)


def test_micrograd_more_ops_is_written_with_plus_equals_as_micrograd_writes_it():
    text = (EXAMPLES / "micrograd_more_ops.bp").read_text()
    for line in ("c += c + 1", "c += 1 + c + (-a)", "d += d * 2 + (b + a).relu()",
                 "d += 3 * d + (b - a).relu()", "g += 10.0 / f", "d = a * b + b**3", "f = e**2"):
        assert f"\n{line}\n" in text


def test_micrograd_sanity_check_gives_micrograds_numbers():
    s = bpdebug.load_file(EXAMPLES / "micrograd_sanity.bp")
    s.run()
    assert (s.value("y"), s.grad("x")) == (-20.0, 46.0)


def test_cs231n_staged_computation_as_the_notes_write_it():
    text = (EXAMPLES / "cs231n_staged.bp").read_text()
    assert "sigy = 1.0 / (1 + math.exp(-y)) # sigmoid in numerator   #(1)" in text
    assert "xpysqr = xpy**2" in text
    s = bpdebug.load_file(EXAMPLES / "cs231n_staged.bp")
    s.run()

    def f(x, y):   # the closed form the notes start from
        sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
        return (x + sig(y)) / (sig(x) + (x + y) ** 2)

    h = 1e-6
    assert s.value("f") == pytest.approx(f(3, -4), rel=1e-14)
    assert s.grad("x") == pytest.approx((f(3 + h, -4) - f(3 - h, -4)) / (2 * h), rel=1e-7)
    assert s.grad("y") == pytest.approx((f(3, -4 + h) - f(3, -4 - h)) / (2 * h), rel=1e-7)
    # the notes' `dx += ...` lines: x's gradient arrives from three nodes and adds up
    assert len(s.received(s.graph.index("x"))) == 3


# ---- ** --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("f = -2**2", -4.0), ("f = 2**3**2", 512.0), ("f = 2**-1", 0.5),
                                         ("f = 2 * 3**2", 18.0), ("x = 3\nf = x**2 - x^2", 0.0)])
def test_double_star_is_the_power_operator(text, value):
    assert finished(text).value("f") == value


def test_x_double_star_2_is_a_pow_node_like_caret():
    s = finished("x = 3\nf = x**2")
    assert s.graph.node("f").op.name == "pow" and s.grad("x") == 6.0


# ---- rebinding -------------------------------------------------------------------------------------

REBOUND = "a = 2\nc = a * 3\nc += a\nc *= c\nf = c - 1"


def test_each_assignment_makes_a_new_node_and_the_name_means_the_newest():
    s = finished(REBOUND)
    assert [n.name for n in s.graph.nodes] == ["a", "c#1.1", "c#1", "c#2", "c", "f.1", "f"]
    assert (s.value("c#1"), s.value("c#2"), s.value("c")) == (6.0, 8.0, 64.0)
    assert s.value("c#3") == s.value("c")           # the newest, by number too
    assert s.value("f") == 63.0
    # each version has its own gradient: df/dc = 1, df/dc#2 = 2*c#2, df/dc#1 = 16
    assert (s.grad("c"), s.grad("c#2"), s.grad("c#1"), s.grad("a")) == (1.0, 16.0, 16.0, 64.0)


def test_augmented_assignment_is_the_operator_on_the_whole_right_side():
    s = finished("c = 10\nc -= 2 + 3\nd = 12\nd /= 2 * 3\ne = 2\ne **= 3\nM = [[1, 2], [3, 4]]\n"
                 "v = [1, 1]\nv @= M\nf = c + d + e + sum(v)")
    assert (s.value("c"), s.value("d"), s.value("e")) == (5.0, 2.0, 8.0)
    assert list(s.value("v")) == [4.0, 6.0]


def test_versions_show_in_list_json_and_formulas(capsys):
    s = finished(REBOUND)
    listing = execute(s, "list").text
    assert "c#2 = add c#1 a" in listing and "c = mul c#2 c#2" in listing
    assert s.graph.formula(s.graph.node("c")) == "c = c#2*c#2"
    code, out, _ = run_cli(["run", "-e", REBOUND, "--json"], capsys)
    nodes = {n["name"]: n for n in json.loads(out)["nodes"]}
    assert code == 0 and nodes["c"]["value"] == 64.0 and nodes["c#1"]["value"] == 6.0


def test_versions_work_in_breakpoints_print_watches_and_conditions():
    s = bpdebug.load(REBOUND)
    assert not execute(s, "break backward c#1").error
    assert not execute(s, "watch grad(c#2)").error
    stop = execute(s, "continue")
    assert stop.stop.breakpoint is not None and stop.event.node.name == "c#1"
    assert "watch grad(c#2): 16" in stop.text
    assert execute(s, "print c#1").text.startswith("c#1 = a*3")
    assert execute(s, "print c#1 + c#2").text == "c#1 + c#2 = 14"
    s.restart()
    execute(s, "delete")
    assert not execute(s, "break forward if c#2 > 7").error
    assert execute(s, "continue").event.node.name == "c#2"


def test_a_commands_file_reads_c_hash_1_as_a_name_and_hash_elsewhere_as_a_comment(tmp_path, capsys):
    cmds = tmp_path / "cmds.txt"
    cmds.write_text("# stop where the first c gets its gradient\nbreak backward c#1   # c#1 = a * 3\n"
                    "continue ;; print c#1  #done\n")
    code, out, err = run_cli(["script", "-e", REBOUND, "--commands", str(cmds)], capsys)
    assert code == 0, err
    assert "(bpdebug) break backward c#1\n" in out and "(bpdebug) print c#1\n" in out
    assert "grad:  16" in out


@pytest.mark.parametrize("line, kept", [("p c#1 # c's first version", "p c#1 "), ("# all", ""),
                                        ("p c #1", "p c "), ("p h1.z#3 + 1", "p h1.z#3 + 1")])
def test_strip_comment_reads_hash_as_the_grammar_does(line, kept):
    assert strip_comment(line) == kept


def test_a_leaf_version_can_be_set_by_its_versioned_name(capsys):
    assert "'c#1' is computed here, not a leaf" in error_of(REBOUND, values={"c#1": 1.0}).message
    s = finished("w = 0.5\nw = w * 2\nf = w * 3", {"w#1": 2.0})
    assert (s.value("w#1"), s.value("f")) == (2.0, 12.0)
    s = bpdebug.load("w = 0.5\nw = w * 2\nf = w * 3")
    assert not execute(s, "set w#1 = 1").error
    s.run()
    assert s.value("f") == 6.0
    code, out, err = run_cli(["run", "-e", "w = 0.5\nw = w * 2\nf = w * 3", "--set", "w=4"], capsys)
    assert code == 2 and "'w' is computed here, not a leaf" in err and "--set w#1=..." in err


def test_the_newest_version_is_the_output_and_a_loss_can_grow():
    s = finished("x = 2\nloss L = x * x\nL += 0.5 * x\noutput L")
    assert s.graph.nodes[s.graph.output].name == "L" and s.value("L") == 5.0
    s = finished("x = 2\nloss L = x * x\nL += 0.5 * x")
    assert s.value("L") == 5.0 and s.grad("x") == 4.5 and s.value("L#1") == 4.0


@pytest.mark.parametrize("text, line, message, hint", [
    ("param W = 1\nW -= 0.1", 2, "'W' is a param name (at line 1), which is assigned once: training updates "
     "a param in place", "give the new value a name of its own"),
    ('data X = csv("x.csv")\nX = X * 2', 2, "'X' is data name (at line 1), which is assigned once: training "
     "feeds a data leaf its batches", "a name of its own"),
    ("x = [1, 2]\nlayer h = dense(x, 2, seed=0)\nh = h * 2", 3, "'h' is a layer's name (at line 2)",
     "a name of its own"),
    ("x = [1, 2]\nlayer h = dense(x, 2, seed=0)\nh.z += 1", 3, "'h.z' is a layer's name", "a name of its own"),
    ("x = [1, 2]\nh = 2\nlayer h = dense(x, 2, seed=0)", 3, "'h' is already defined (at line 2)", "another name"),
    ("x = 1\nparam x = 2", 2, "'x' is already defined (at line 1); a param needs a name of its own",
     "a name not used above"),
    ("c = 1\nc#1 = 2", 2, "'c#1' names version 1 of 'c'; assign to 'c' itself", "its next version"),
    ("c += 1", 1, "'c' has no value yet: this is its first assignment", "such as c = 0"),
    ("c = 1\nc += 1\nf = c#3", 3, "undefined name 'c#3'", "'c' is assigned 2 times: its versions are c#1 to c#2"),
    ("c = 1\nf = c#1", 2, "undefined name 'c#1'", "'c' is assigned once, so it has no numbered versions"),
    ("c = 1\nf = c#2 * 2\nc = 3", 2, "'c#2' is used before it is defined (at line 3)", "above this line"),
    ("def f#1(a) = a\ny = 2", 1, "an op and its parameters need plain names", None),
])
def test_rebinding_mistakes_are_located_errors_with_hints(text, line, message, hint):
    err = error_of(text, values={"X": np.ones((2, 2))} if "data" in text else None)
    assert message in err.message, err.message
    assert (hint is None and err.hint is None) or hint in err.hint
    assert err.line == line


def test_a_rebound_name_in_a_command_that_does_not_exist_says_which_exist():
    s = bpdebug.load(REBOUND)
    assert execute(s, "print c#7").text.endswith("('c' is assigned 3 times: c#1 to c#3)")
    assert execute(s, "break c#7").text == "no node named 'c#7' ('c' is assigned 3 times: c#1 to c#3)"
    assert "has no numbered versions" in execute(s, "break a#1").text


def test_long_chains_of_rebinding_do_not_recurse_and_stay_unique():
    s = finished("c = 1\n" + "c += 1\n" * 5000)
    assert s.value("c") == 5001.0 and s.value("c#2500") == 2500.0
    names = [n.name for n in s.graph.nodes]
    assert len(names) == len(set(names))


# ---- trailing commas and missing ones ---------------------------------------------------------

def test_trailing_commas_in_lists_calls_defs_and_indices():
    s = finished("def f(a, b,) = a * b\nv = [1, 2,]\nM = [[1, 2,], [3, 4],]\n"
                 "y = sum(M @ v,) + f(v[0,], 3,) + max(1, 2,)")
    assert s.value("y") == 5.0 + 11.0 + 3.0 + 2.0


@pytest.mark.parametrize("text, under", [("v = [1 2]", "2"), ("x = 1\nf = max(x 2)", "2"),
                                         ("M = [[1, 2] [3, 4]]", "[1, 2] [3, 4]"), ("v = [1 -2]", "1 -2"),
                                         ("def f(a b) = a", "b"), ("v = [1, 2]\ny = v[0 1]", "1")])
def test_a_missing_comma_is_named(text, under):
    err = error_of(text)
    assert err.hint and "missing ','?" in err.hint, err
    assert caret_under(err).startswith(under)


def test_no_comma_hint_outside_brackets():
    err = error_of("x = 1\nf = x y")
    assert err.hint is None and "unexpected 'y'" in err.message and "','" not in err.message


# ---- a def may shadow a built-in ----------------------------------------------------------------

SHADOW = ("def sigmoid(z) = 1 / (1 + exp(-z))\ngrad sigmoid wrt z = out * (1 - out) * 2   # wrong on purpose\n"
          "x = 0.5\ny = sigmoid(x)")


def test_the_programs_own_def_wins_over_the_built_in():
    s = finished(SHADOW)
    sig = 1 / (1 + math.exp(-0.5))
    assert s.value("y") == pytest.approx(sig)
    assert s.grad("x") == pytest.approx(2 * sig * (1 - sig))     # the user's (wrong) grad line
    assert s.graph.node("y").op.custom is not None


def test_list_and_the_inspector_say_the_def_is_the_users():
    from rich.console import Console

    from bpdebug.tui.widgets.inspector import inspect

    s = finished(SHADOW)
    assert "y = sigmoid x   # your def sigmoid (line 1), not the built-in" in execute(s, "list").text
    console = Console(width=100, record=True)
    for part in inspect(s, s.graph.index("y"), SHADOW.split("\n")):
        console.print(part)
    assert "your def sigmoid (line 1), not the built-in sigmoid" in console.export_text()
    assert "your def" not in execute(finished("x = 0.5\ny = sigmoid(x)"), "list").text


def test_a_layers_act_uses_the_users_def_of_that_name():
    text = ("def tanh(z) = z * 0.5\nx = [1, -2]\nlayer h = dense(x, W=[[1, 0], [0, 1]], b=[0, 0], act=tanh)\n"
            "f = sum(h)")
    s = finished(text)
    assert list(s.value("h")) == [0.5, -1.0]
    assert "your def tanh" in execute(s, "list").text


def test_an_initializer_cannot_be_shadowed():
    err = error_of("def zeros(n) = n\nx = 1")
    assert "'zeros' makes a leaf (an initializer)" in err.message


# ---- comparisons ---------------------------------------------------------------------------------

def test_comparisons_are_constant_0_1_nodes_with_no_gradient():
    s = finished("x = [1.5, -2, 0, 3]\nm = x > 0\nf = sum(x * m)")
    assert list(s.value("m")) == [1.0, 0.0, 0.0, 1.0]
    m = s.graph.node("m")
    assert m.op.name == "gt" and not m.needs_grad and s.grads[m.index] is None
    assert list(s.grad("x")) == [1.0, 0.0, 0.0, 1.0]      # only through x * m
    assert "m: (4,) = gt x m.1" in execute(s, "list").text


@pytest.mark.parametrize("op, want", [("<", [1, 0, 0]), ("<=", [1, 1, 0]), (">", [0, 0, 1]),
                                      (">=", [0, 1, 1]), ("==", [0, 1, 0]), ("!=", [1, 0, 1])])
def test_every_comparison(op, want):
    s = finished(f"x = [-1, 0, 2]\nm = x {op} 0\nf = sum(m * x)")
    assert list(s.value("m")) == want


def test_a_scalar_comparison_takes_the_float_path():
    s = finished("x = -0.5\ny = x * (x > 0) + 0.1 * x * (x <= 0)")
    assert s.value("y") == -0.05 and s.grad("x") == pytest.approx(0.1)


def test_print_shows_nothing_received_by_a_comparison():
    # where() and x * m compute a zero for the mask, but send it nothing: it has no gradient
    s = finished("x = [1.5, -2]\nm = x > 0\nf = sum(where(m, x, 0.1 * x)) + sum(x * m)")
    shown = execute(s, "print m").text
    assert "grad:  —" in shown and "received" not in shown
    assert "from f.2 [0, 0.1]" in execute(s, "print x").text


def test_the_backward_step_of_a_comparison_or_an_argmax_says_what_it_is(capsys):
    code, out, _ = run_cli(["script", "-e", "x = [1.5, -2]\nm = x > 0\ni = argmax(x)\nf = sum(x * m) + i",
                            "-c", "break backward m", "-c", "break backward i", "-c", "continue", "-c", "continue"],
                           capsys)
    assert code == 0 and "  m is a comparison: no gradient" in out and "  i is an index: no gradient" in out


def test_a_comparison_is_unchecked_by_check_never_a_mismatch(capsys):
    code, out, _ = run_cli(["check", "-e", "x = [1, -2]\nloss L = sum(x * (x > 0))", "--json"], capsys)
    (mask,) = [n for n in json.loads(out)["nodes"] if n["op"] == "gt"]
    assert code == 0 and mask["verdict"] == "unchecked" and mask["hint"] == "a comparison: no gradient flows through it"


@pytest.mark.parametrize("text, message, hint", [
    ("x = 1\nf = x > 0 and x < 2", "'and' belongs in breakpoint conditions, not in programs", "(a > 0) * (b > 0)"),
    ("x = 1\nf = x or 2", "'or' belongs in breakpoint conditions", "arithmetic"),
    ("x = 1\nf = not x", "'not' belongs in breakpoint conditions", "1 - (a > 0)"),
    ("x = 1\nf = not(x)", "'not' belongs in breakpoint conditions", "1 - (a > 0)"),
    ("x = 1\nf = 0 < x < 2", "unexpected '<'", "comparisons do not chain"),
])
def test_comparison_mistakes(text, message, hint):
    err = error_of(text)
    assert message in err.message and hint in err.hint
    assert caret_under(err) in ("and", "or", "not", "<")


def test_conditions_still_have_and_or_not():
    s = bpdebug.load("x = 2\nf = x * x")
    assert not execute(s, "break backward if grad > 1 and not value < 0 or step == 1").error
    assert execute(s, "continue").event.node.name == "x"     # f's grad is 1, x's 4


# ---- indexing and slicing --------------------------------------------------------------------------

MATRIX = "W = [[1, 2, 3], [4, 5, 6]]\nv = [10, 20, 30, 40]\n"


@pytest.mark.parametrize("expr, want", [
    ("v[0]", 10), ("v[-1]", 40), ("v[1:3]", [20, 30]), ("v[::2]", [10, 30]), ("v[::-1]", [40, 30, 20, 10]),
    ("W[:, 0]", [1, 4]), ("W[0, 1]", 2), ("W[1]", [4, 5, 6]), ("W[-1, -2:]", [5, 6]), ("W[1][2]", 6),
    ("(W @ [1, 1, 1])[0]", 6), ("v[10:]", np.zeros(0)),
])
def test_indexing_follows_numpys_basic_rules(expr, want):
    s = bpdebug.load(MATRIX + f"y = {expr}\nf = sum(y)")
    s.run()
    W, v = np.array([[1.0, 2, 3], [4, 5, 6]]), np.array([10.0, 20, 30, 40])
    np.testing.assert_array_equal(s.value("y"), want)
    assert np.shape(s.value("y")) == np.shape(want)
    assert s.grad("W").shape == W.shape and s.grad("v").shape == v.shape


def test_the_gradient_is_scattered_back_with_zeros_elsewhere():
    s = finished(MATRIX + "f = sum(W[:, 1:] * 2) + v[-1] * 3")
    assert s.grad("W").tolist() == [[0, 2, 2], [0, 2, 2]]
    assert s.grad("v").tolist() == [0, 0, 0, 3]


def test_a_scalar_from_a_vector_is_a_float():
    s = finished("w = [0.5, -1]\nx = [2, 3]\nf = w[0] * x[0] + w[1] * x[1]")
    assert type(s.values[s.graph.index("f.1")]) is float and s.value("f") == -2.0


def test_indexing_reads_as_written_in_list_formulas_and_the_inspector():
    s = finished(MATRIX + "y = W[:, 0]\nf = sum(y) + v[1:3][0]")
    listing = execute(s, "list").text
    assert "y: (2,) = index W [:, 0]" in listing and "f.1 = index f.2 [0]" not in listing
    assert s.graph.formula(s.graph.node("y")) == "y = W[:, 0]"
    ev = s.event(s.total - 1 - s.graph.index("y"))
    assert ev.terms[0].derivative.startswith("d(W[:, 0])/dW") and "dout at W[:, 0], 0 elsewhere" in ev.terms[0].derivative


@pytest.mark.parametrize("text, message, hint, under", [
    (MATRIX + "y = v[4]", "cannot index 'v' (shape (4,)) with [4]: index 4 is out of range for axis 0 of size 4",
     "from 0 to 3, or from -4 to -1", "4"),
    (MATRIX + "y = W[0, -4]", "index -4 is out of range for axis 1 of size 3", "from 0 to 2", "-4"),
    (MATRIX + "y = W[0, 1, 2]", "3 indices for 2 axes", "at most 2", "2"),
    ("x = 2\ny = x[0]", "cannot index 'x' (shape ()) with [0]: a scalar has no axes to index", "only tensors", "0"),
    (MATRIX + "y = v[::0]", "a slice step cannot be zero", "-1 goes backwards", "::0"),
    (MATRIX + "y = v[1.5]", "an index must be a whole number from -2147483647 to 2147483647, got 1.5", "from 0", "1.5"),
    (MATRIX + "y = v[1e309]", "got inf", "from 0", "1e309"),
    (MATRIX + "y = v[:-1e12]", "an index must be a whole number from -2147483647 to 2147483647, got -1000000000000", "from 0", "-1e12"),
    (MATRIX + "y = v[v]", "an index must be a whole number written here", "0/1 mask", "v"),
    (MATRIX + "y = v[1:v]", "an index must be a whole number written here", "0/1 mask", "v"),
    (MATRIX + "y = (W @ [1, 1, 1])[2]", "cannot index 'y.2' (shape (2,))", "from 0 to 1", "2"),
])
def test_index_mistakes_are_build_errors_naming_node_index_and_shape(text, message, hint, under, capsys):
    err = error_of(text)
    assert message in err.message and hint in err.hint, err
    assert caret_under(err) == under
    code, _, stderr = run_cli(["run", "-e", text], capsys)
    assert code == 2 and message in stderr


@pytest.mark.parametrize("text", ["x = [1, 2]\ny = x[]", "x = [1, 2]\ny = x[1:2:3:4]", "x = [1, 2]\ny = x[,]"])
def test_index_syntax_mistakes_are_located(text):
    err = error_of(text)
    assert err.line == 2 and "unexpected" in err.message


def test_deeply_chained_indexing_and_method_calls_do_not_recurse():
    s = finished("x = [2]\ny = x" + "[0:1]" * 3000 + "\nf = sum(y" + ".exp().log()" * 2000 + ")")
    assert s.value("f") == pytest.approx(2.0) and s.grad("x").tolist() == pytest.approx([1.0])


def test_conditions_and_print_index_too():
    s = finished(MATRIX + "f = sum(W @ v[:3])")
    assert execute(s, "print grad(W)[1, 2]").text == "grad(W)[1, 2] = 30"
    assert execute(s, "print W[5]").error


# ---- method calls and numpy/math spellings ----------------------------------------------------------

def test_method_calls_as_micrograd_writes_them():
    s = finished("x = -1.5\nh1.z = x * 2\na = x.relu() + (x * -1).relu() + h1.z.tanh() + x.exp().log()")
    assert s.value("a") == pytest.approx(1.5 + math.tanh(-3) - 1.5)
    assert s.graph.node("a.1").op.name == "relu"


@pytest.mark.parametrize("call, op", [("np.exp(x)", "exp"), ("math.exp(-x)", "exp"), ("np.maximum(x, 0)", "max"),
                                      ("np.dot(v, v)", "matmul"), ("numpy.tanh(x)", "tanh"),
                                      ("math.sqrt(x * x)", "sqrt"), ("np.minimum(x, 1)", "min"),
                                      ("np.sum(v * x, axis=0)", "sum")])
def test_numpy_and_math_spellings_resolve_to_the_built_ins(call, op):
    s = finished(f"x = 0.5\nv = [1, 2]\ny = {call}\nf = sum(y)")
    assert s.graph.node("y").op.name == op


@pytest.mark.parametrize("text, message, hint, under", [
    ("x = 1\ny = x.wibble()", "unknown function 'wibble' in x.wibble(...)", "README", "x.wibble"),
    ("x = 1\ny = x.relu(2)", "relu() takes 1 argument(s), got 2", "x.relu(...) is relu(x, ...)", "x.relu(2)"),
    ("x = 1\ny = xx.relu()", "undefined name 'xx'", "did you mean 'x'?", "xx"),
    ("x = 1\ny = np.wibble(x)", "'np.wibble' has no counterpart among bpdebug's functions",
     "NAME means bpdebug's function", "np.wibble"),
    ("x = 1\ny = np.tanhh(x)", "'np.tanhh' has no counterpart", "did you mean 'tanh'?", "np.tanhh"),
    ("x = 1\ny = x + np.zeros(2)", "'np.zeros' has no counterpart", "without 'np.': zeros(...)", "np.zeros"),
    ("x = 1\ny = (x).np.exp()", "'.np.exp()' is not a method", ".relu()", "np.exp"),
    ("x = 1\ny = (x).frob()", "unknown function 'frob'", None, "frob"),
    ("x = 1\ny = x.relu * 2", "undefined name 'x.relu'", "a method is called: x.relu()", "x.relu"),
    ("x = [[1, 2]]\ny = x.T", "undefined name 'x.T'", "write transpose(x)", "x.T"),
    ("x = 1\ny = x * math.pi", "undefined name 'math.pi'", "write the number: 3.141592653589793", "math.pi"),
    # where NumPy or PyTorch mean something else by the spelling
    ("x = [1, 2]\ny = x.max(1)", "x.max(a) reduces along axis a in NumPy and PyTorch, but max(x, a) here is "
     "elementwise", "x.max(axis=1)", "max"),
    ("x = [[1, 2]]\ny = (x * 2).min(0)", "x.min(a) reduces along axis a", "min(x, y)", "min"),
    ("x = [[1, 2]]\ny = x.flatten()", "x.flatten() makes one vector in NumPy and PyTorch, but bpdebug's "
     "flatten(x) keeps axis 0", "reshape(x, [-1])", "flatten"),
    ("x = [1, 2]\ny = x.where(x > 0, 0)", "x.where(cond, y) in PyTorch is where(cond, x, y)",
     "where(cond, x, y)", "where"),
    ("x = [[1, 2]]\ny = np.max(x, 1)", "np.max(x, a) reduces along axis a, but max(x, a) here is elementwise",
     "max(x, axis=1) to reduce", "np.max"),
    ("x = [1, 2]\ny = np.maximum(x)", "np.maximum(a, b) takes two tensors and is elementwise",
     "max(a, b) for the elementwise max", "np.maximum"),
    ("x = [[1, 2]]\ny = x.reshape(2, 1)", "reshape() takes 1 or 2 argument(s), got 3",
     "x.reshape(...) is reshape(x, ...); usage: reshape(x, [2, 3])", "x.reshape(2, 1)"),
])
def test_method_and_module_mistakes(text, message, hint, under):
    err = error_of(text)
    assert message in err.message and (hint is None or hint in err.hint), err
    assert caret_under(err) == under


# ---- the language with issue 9's op set ----------------------------------------------------------

def test_where_on_a_comparison_is_leaky_relu_with_its_gradient():
    s = finished("x = [1.5, -2, 0.5]\ny = where(x > 0, x, 0.1 * x)\nf = sum(y)")
    np.testing.assert_allclose(s.value("y"), [1.5, -0.2, 0.5])
    np.testing.assert_allclose(s.grad("x"), [1, 0.1, 1])
    cond = s.graph.nodes[s.graph.node("y").inputs[0]]
    assert cond.op.name == "gt" and not cond.needs_grad and s.grads[cond.index] is None
    scalar = finished("x = -0.5\ny = where(x > 0, x, 0.1 * x)")     # the float path
    assert scalar.value("y") == pytest.approx(-0.05) and scalar.grad("x") == pytest.approx(0.1)


def test_check_passes_where_on_a_comparison_and_calls_a_tie_a_kink(capsys):
    code, out, _ = run_cli(["check", "-e", "x = [1.5, -2, 0.5]\nloss L = sum(where(x > 0, x, 0.1 * x))",
                            "--json"], capsys)
    report = json.loads(out)
    verdicts = {n["op"]: (n["verdict"], n["hint"]) for n in report["nodes"]}
    assert code == 0 and verdicts["where"][0] == "ok"
    assert verdicts["gt"] == ("unchecked", "a comparison: no gradient flows through it")
    # at x = 0 the mask jumps: a kink for the comparison and for the leaf, never a mismatch
    code, out, _ = run_cli(["check", "-e", "x = [0, 1]\nloss L = sum(x * (x > 0))", "--json"], capsys)
    report = json.loads(out)
    (gt,) = [n for n in report["nodes"] if n["op"] == "gt"]
    assert code == 0 and gt["verdict"] == "kink" and "> jumps between 0 and 1" in gt["hint"]
    assert report["ok"] and not any(c["verdict"] == "mismatch" for c in report["nodes"] + report["leaves"])


@pytest.mark.parametrize("method, plain", [
    ("x.square()", "square(x)"), ("x.max()", "max(x)"), ("x.max(axis=1)", "max(x, axis=1)"),
    ("(x * 2).min(axis=0)", "min(x * 2, axis=0)"), ("x.sum(axis=0)", "sum(x, axis=0)"),
    ("x.logsumexp(axis=1)", "logsumexp(x, axis=1)"), ("x.reshape([3, 2])", "reshape(x, [3, 2])"),
    ("x.clip(-1, 1)", "clip(x, -1, 1)"), ("x.detach() * x", "stop_gradient(x) * x"),
    ("x.leaky_relu(slope=0.2)", "leaky_relu(x, slope=0.2)"), ("x.expm1().log1p()", "log1p(expm1(x))"),
    ("np.concatenate([x, x], axis=1)", "concat([x, x], axis=1)"), ("np.max(x, axis=1)", "max(x, axis=1)"),
    ("np.amin(x)", "min(x)"), ("np.where(x > 0, x, 0)", "where(x > 0, x, 0)"), ("np.square(x)", "square(x)"),
])
def test_a_method_or_numpy_spelling_of_a_new_function_is_that_function(method, plain):
    program = "x = [[1.5, -2, 0.25], [-0.5, 3, 0.7]]\ny = {}\nf = sum(y * y)"
    a, b = finished(program.format(method)), finished(program.format(plain))
    assert a.graph.node("y").op.name == b.graph.node("y").op.name
    np.testing.assert_array_equal(a.value("y"), b.value("y"))
    np.testing.assert_array_equal(a.grad("x"), b.grad("x"))


def test_a_users_def_wins_over_a_method_python_means_otherwise():
    s = finished("def flatten(a) = a * 2\nx = [[1, 2]]\ny = x.flatten()\nf = sum(y)")
    np.testing.assert_array_equal(s.value("y"), [[2, 4]])


@pytest.mark.parametrize("shape, key", [
    ((4, 5, 6), (slice(1, 3), 0)), ((4, 5, 6), (-1,)), ((4, 5), (slice(None, None, -2), slice(-9, 9))),
    ((3,), (slice(5, 1, -1),)), ((3,), (slice(2, 1),)), ((2, 3), (1, -3)), ((0, 3), (slice(None), 2)),
])
def test_index_shapes_come_from_its_rule_in_the_op_table(shape, key):
    from bpdebug.ops import OPS, infer_shape
    from bpdebug.ops.indexing import Key
    index = OPS["index"]
    assert index.shape is not None      # the same mechanism as every other op: no forward on stand-ins
    assert infer_shape(index, [shape], {"key": Key(key)}) == np.empty(shape)[key].shape


def test_an_index_out_of_range_is_a_shape_error_of_the_rule_too():
    from bpdebug.ops import OPS, infer_shape
    from bpdebug.ops.indexing import Key
    with pytest.raises(ValueError, match="index 3 is out of range for axis 0 of size 3"):
        infer_shape(OPS["index"], [(3, 2)], {"key": Key((3,))})


def test_a_def_may_shadow_a_cost_and_list_says_so():
    s = finished("def quadratic(a, y) = sum((a - y)^2)\nx = [1, 2]\nloss L = quadratic(x, [0, 0])")
    assert s.value("L") == 5.0 and list(s.grad("x")) == [2.0, 4.0]    # not the built-in's 0.5 * ...
    assert "your def quadratic (line 1), not the built-in" in execute(s, "list").text
