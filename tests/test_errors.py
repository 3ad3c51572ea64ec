"""Bad input is a feature: every mistake gives one located BpError, never a traceback."""
from __future__ import annotations

import math

import pytest

import bpdebug
from bpdebug import BpError


def error_of(text: str, filename: str = "prog.bp", **kw) -> BpError:
    with pytest.raises(BpError) as info:
        bpdebug.load(text, filename, **kw)
    return info.value


def lines_of(err: BpError) -> list[str]:
    return str(err).split("\n")


def assert_points_at(err: BpError, line: int, column: int, source_line: str) -> None:
    first, shown, caret = lines_of(err)[:3]
    assert first.startswith(f"prog.bp:{line}:{column}: error: "), first
    assert shown == "    " + source_line
    assert caret.startswith("    ") and caret.index("^") == 4 + column - 1, caret
    assert (err.line, err.column) == (line, column)


# ---- syntax --------------------------------------------------------------------------------------

def test_syntax_error_names_what_was_expected_with_line_column_and_caret():
    err = error_of("x = 1\nf = x +* 2\n")
    assert_points_at(err, 2, 8, "f = x +* 2")
    assert "unexpected '*'" in err.message and "expected an expression" in err.message


def test_syntax_error_at_end_of_input_points_after_the_last_text():
    err = error_of("x = 1\nf = (x +\n\n")
    assert_points_at(err, 2, 9, "f = (x +")
    assert err.message == "unexpected end of input; expected an expression"


def test_syntax_error_unclosed_paren():
    err = error_of("x = 1\nf = (x + 1\n")
    assert_points_at(err, 2, 11, "f = (x + 1")
    assert "expected" in err.message and "')'" in err.message


def test_syntax_error_bad_character():
    err = error_of("x = 1\nf = x $ 2")
    assert_points_at(err, 2, 7, "f = x $ 2")
    assert err.message.startswith("unexpected '$'")


def test_syntax_error_keyword_misuse():
    err = error_of("x = 1\ngrad = 2")
    assert err.line == 2 and "expected" in err.message


def test_syntax_error_message_is_one_clear_block():
    err = error_of("f = = 2")
    text = str(err)
    assert text.count("\n") == 2 and "Traceback" not in text and "Token(" not in text


def test_tabs_do_not_shift_the_caret():
    err = error_of("x = 1\n\tf = x $ 2")
    _, shown, caret = lines_of(err)[:3]
    assert shown[caret.index("^")] == "$"


def test_filename_defaults_to_input():
    with pytest.raises(BpError) as info:
        bpdebug.load("f = (")
    assert str(info.value).startswith("<input>:1:")


# ---- names ---------------------------------------------------------------------------------------

def test_undefined_name_with_did_you_mean():
    err = error_of("weight = 2\nf = wieght * 3")
    assert_points_at(err, 2, 5, "f = wieght * 3")
    assert err.message == "undefined name 'wieght'"
    assert err.hint == "did you mean 'weight'?" and str(err).endswith("hint: did you mean 'weight'?")


def test_name_used_before_its_definition():
    err = error_of("f = y * 2\ny = 3")
    assert "used before it is defined (at line 2)" in err.message


def test_unknown_function_with_did_you_mean():
    err = error_of("x = 1\nf = sigmod(x)")
    assert_points_at(err, 2, 5, "f = sigmod(x)")
    assert err.message == "unknown function 'sigmod'" and err.hint == "did you mean 'sigmoid'?"
    assert lines_of(err)[2] == "        ^^^^^^"   # the caret underlines the function's name


def test_unknown_function_suggests_a_user_op():
    err = error_of("def square(a) = a * a\nx = 1\nf = sqaure(x)")
    assert err.hint == "did you mean 'square'?"


def test_wrong_argument_count():
    err = error_of("x = 1\nf = exp(x, x)")
    assert "exp() takes 1 argument(s), got 2" in err.message
    # max and min take one argument (a reduction) or two (elementwise), and say so
    err = error_of("x = 1\nf = max(x, x, x)")
    assert "max() takes 2 argument(s), got 3" in err.message and "max(x) of one argument reduces" in err.message


def test_unknown_keyword_argument():
    err = error_of("v = [1, 2]\nf = sum(v, axs=0)")
    assert "no argument 'axs'" in err.message and err.hint == "did you mean 'axis'?"


def test_rebinding_a_param_is_refused():
    # a plain name may be assigned again (a new version); a param is updated in place by training
    err = error_of("param x = 1\nx = x * 2\nf = x")
    assert "'x' is a param name (at line 1), which is assigned once" in err.message and err.line == 2
    assert err.hint == "give the new value a name of its own"


def test_output_naming_an_unknown_node():
    err = error_of("total = 1\nf = total * 2\noutput totl")
    assert err.message == "output 'totl' is not defined" and err.hint == "did you mean 'total'?"


def test_a_def_body_cannot_see_outside_names():
    err = error_of("k = 2\ndef scale(a) = a * k\nx = 1\nf = scale(x)")
    assert "'k' is not a parameter of op 'scale'" in err.message and err.line == 2


# ---- shapes and tensors --------------------------------------------------------------------------

def test_shape_mismatch_names_the_node_and_both_shapes():
    err = error_of("a = [1, 2]\nb = [1, 2, 3]\nc = a + b\nf = sum(c)")
    assert_points_at(err, 3, 5, "c = a + b")
    assert err.message == "shapes do not fit at node 'c' (add): 'a' (2,) and 'b' (3,)"
    assert "broadcast" in err.hint


def test_matmul_shape_mismatch():
    err = error_of("A = ones(2, 3)\nB = ones(2, 3)\nf = sum(A @ B)")
    assert "(matmul): 'A' (2, 3) and 'B' (2, 3)" in err.message
    assert "last axis of a must match the first axis of b" in err.hint


def test_ragged_tensor_literal():
    err = error_of("M = [[1, 2], [3]]\nf = sum(M)")
    assert_points_at(err, 1, 14, "M = [[1, 2], [3]]")
    assert err.message == "ragged tensor literal: this entry has shape (1,), the first has shape (2,)"


def test_ragged_tensor_literal_deeper_down():
    err = error_of("T = [[[1], [2]], [[3], [4, 5]]]\nf = sum(T)")
    assert "ragged tensor literal" in err.message and err.line == 1


def test_tensor_literal_of_names_is_refused():
    err = error_of("x = 1\nv = [x, 2]\nf = sum(v)")
    assert "holds numbers only" in err.message


def test_layer_with_a_wrongly_shaped_weight_matrix():
    err = error_of("x = [1, 2]\nlayer h = dense(x, W=[[1, 2, 3]], act=sigmoid)\nf = sum(h)")
    assert "W must have shape (2, units)" in err.message and err.line == 2


def test_cost_with_mismatched_shapes():
    err = error_of("a = [0.5, 0.5]\ny = [1, 0, 0]\nloss C = quadratic(a, y)")
    # the cost's own message, before any of its nodes is built (not a broadcast error at a node the user never named)
    assert "quadratic: prediction 'a' (2,) and target 'y' (3,) must have the same shape" in err.message
    assert err.line == 3 and err.column == 10


# ---- user ops ------------------------------------------------------------------------------------

def test_grad_for_a_parameter_the_op_does_not_have():
    err = error_of("def g(a, b) = a * b\ngrad g wrt c = b\nx = 1\nf = g(x, x)")
    assert_points_at(err, 2, 12, "grad g wrt c = b")
    assert err.message == "op 'g' has no parameter 'c' (its parameters: a, b)"


def test_grad_for_a_parameter_suggests_the_close_one():
    err = error_of("def g(alpha) = alpha * 2\ngrad g wrt alpah = 2\nx = 1\nf = g(x)")
    assert err.hint == "did you mean 'alpha'?"


def test_grad_for_an_unknown_op():
    err = error_of("def square(a) = a * a\ngrad sqare wrt a = 2 * a\nx = 1\nf = square(x)")
    assert "grad for unknown op 'sqare'" in err.message and err.hint == "did you mean 'square'?"


def test_grad_line_of_the_wrong_shape():
    err = error_of("def g(a) = sum(a)\ngrad g wrt a = [1, 2, 3]\nv = [1, 2]\nf = g(v)")
    assert "grad g wrt a has shape (3,)" in err.message and err.line == 2


def test_second_grad_line_for_the_same_parameter():
    err = error_of("def g(a) = a\ngrad g wrt a = 1\ngrad g wrt a = 2\nx = 1\nf = g(x)")
    assert "a second grad" in err.message and err.line == 3


@pytest.mark.parametrize("program", [
    "def g(a) = g(a)\nx = 1\nf = g(x)",
    "def g(a) = g(a)\ngrad g wrt a = 1\nx = 1\nf = g(x)",
    "def g(a) = h(a)\ndef h(a) = g(a)\nx = 1\nf = g(x)",
    "def g(a) = h(a)\ngrad g wrt a = 1\ndef h(a) = g(a)\nx = 1\nf = g(x)",
    "def g(a) = a * 2\ngrad g wrt a = g(a)\nx = 1\nf = g(x)",
], ids=["self", "self-with-grad", "mutual", "mutual-with-grad", "grad-calls-op"])
def test_recursive_ops_are_refused(program):
    err = error_of(program)
    assert "calls itself; ops cannot be recursive" in err.message and err.line is not None


def test_ops_nested_very_deep_are_refused_cleanly():
    defs = "def g0(a) = a * 2\n" + "".join(f"def g{k}(a) = g{k - 1}(a) + 1\n" for k in range(1, 1500))
    err = error_of(defs + "x = 1\nf = g1499(x)")
    assert "levels deep" in err.message


def test_ops_nested_moderately_work():
    defs = "def g0(a) = a * 2\ngrad g0 wrt a = 2\n" + "".join(
        f"def g{k}(a) = g{k - 1}(a) + 1\n" for k in range(1, 40))
    s = bpdebug.load(defs + "x = 1\nf = g39(x)")
    s.run()
    assert s.value("f") == 41.0 and s.grad("x") == 2.0


def test_op_called_with_named_arguments():
    err = error_of("def g(a) = a * 2\nx = 1\nf = g(a=x)")
    assert err.message == "op 'g' takes its arguments in order, without names: g(a)"
    assert_points_at(err, 3, 7, "f = g(a=x)")


def test_op_called_with_the_wrong_number_of_arguments():
    err = error_of("def g(a, b) = a * b\nx = 1\nf = g(x)")
    assert "op 'g' takes 2 argument(s) (a, b), got 1" in err.message


# ---- output --------------------------------------------------------------------------------------

def test_non_scalar_output():
    err = error_of("v = [1, 2]\nf = v * 2")
    assert_points_at(err, 2, 1, "f = v * 2")
    assert "the output 'f' has shape (2,); the backward pass needs a scalar output" in err.message
    assert "sum(...)" in err.hint


def test_non_scalar_output_named_by_output_statement():
    err = error_of("v = [1, 2]\ns = sum(v)\noutput v")
    assert "output 'v' has shape (2,)" in err.message and err.line == 3


# ---- empty files, binary garbage, deep nesting ------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   \n\n", "# just a comment\n# another\n", "\n\t\n"])
def test_empty_program(text):
    err = error_of(text)
    assert "the program is empty" in err.message


def test_program_of_only_defs_has_nothing_to_compute():
    err = error_of("def g(a) = a")
    assert "nothing to compute" in err.message


def test_empty_file_on_disk(tmp_path):
    path = tmp_path / "empty.bp"
    path.write_text("")
    with pytest.raises(BpError, match="the program is empty"):
        bpdebug.load_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(BpError, match="cannot read"):
        bpdebug.load_file(tmp_path / "nope.bp")


@pytest.mark.parametrize("data", [
    bytes(range(256)),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xfe\x00x\x00=\x001",
    b"x = 1\nf = x \xe9 2\n",
], ids=["all-bytes", "png", "utf16", "latin1"])
def test_binary_garbage_file(tmp_path, data):
    path = tmp_path / "garbage.bp"
    path.write_bytes(data)
    with pytest.raises(BpError) as info:
        bpdebug.load_file(path)
    assert str(path) in str(info.value)
    assert "not UTF-8" in str(info.value) or "binary" in str(info.value)


def test_nul_byte_in_text():
    err = error_of("x = 1\nf = x\x00 * 2")
    assert "binary file" in err.message and err.line == 2


def test_control_characters_are_a_located_syntax_error():
    err = error_of("x = 1\nf = x \x07 2")
    assert err.line == 2 and "character 0x7" in err.message


DEEP = 100_000


def test_deep_parentheses_work():
    s = bpdebug.load("x = 3\nf = " + "(" * DEEP + "x" + ")" * DEEP)
    s.run()
    assert s.value("f") == 3.0 and s.grad("x") == 1.0


def test_deep_unary_minus_works():
    s = bpdebug.load("x = 3\nf = " + "-" * (DEEP + 1) + "x")
    s.run()
    assert s.value("f") == -3.0 and s.grad("x") == -1.0


def test_deep_function_calls_work():
    s = bpdebug.load("x = 0.5\nf = " + "tanh(" * DEEP + "x" + ")" * DEEP)
    s.run()
    v = 0.5
    for _ in range(DEEP):
        v = math.tanh(v)
    assert s.value("f") == pytest.approx(v, rel=1e-12)
    assert len(s.graph.nodes) == DEEP + 1


def test_deep_right_associative_power_works():
    s = bpdebug.load("x = 1\nf = " + "x^" * DEEP + "x")
    s.run()
    assert s.value("f") == 1.0


def test_deep_unclosed_parentheses_refuse_cleanly():
    err = error_of("x = 1\nf = " + "(" * DEEP + "x")
    assert "expected" in err.message and "')'" in err.message
    assert len(str(err)) < 1000   # a window of the long line, the caret under its end
    _, shown, caret = lines_of(err)[:3]
    assert shown.endswith("(x") and caret.index("^") == len(shown)


def test_error_far_along_a_long_line_shows_a_window_with_the_caret_under_the_name():
    err = error_of("x = 1\nf = " + "x + " * 5000 + "zz")
    _, shown, caret = lines_of(err)[:3]
    assert len(shown) < 200 and shown[caret.index("^"):caret.index("^") + 2] == "zz"


def test_deep_tensor_nesting_refuses_cleanly():
    err = error_of("f = sum(" + "[" * DEEP + "1" + "]" * DEEP + ")")
    assert "nested deeper than" in err.message
    assert len(str(err)) < 1000   # a long line is cut short, not printed whole


def test_deep_condition_nesting_works():
    s = bpdebug.load("x = 1\nf = x * 2")
    s.add_breakpoint(condition="not " * (DEEP + 1) + "value > 100")   # odd: not (value > 100)
    assert s.run().reason == "breakpoint"


# ---- IEEE arithmetic: flagged, not a crash ---------------------------------------------------------

@pytest.mark.parametrize("program, value", [
    ("x = 1\ny = 0\nf = x / y", math.inf),
    ("x = -1\ny = 0\nf = x / y", -math.inf),
    ("x = 0\ny = 0\nf = x / y", math.nan),
    ("x = -1\nf = log(x)", math.nan),
    ("x = 0\nf = log(x)", -math.inf),
    ("x = -4\nf = sqrt(x)", math.nan),
    ("x = 1000\nf = exp(x)", math.inf),
    ("x = 0\nf = x ^ -1", math.inf),
    ("x = -8\nf = x ^ 0.5", math.nan),
    ("x = 1e400\nf = sin(x)", math.nan),
    ("x = 1e400\nf = cos(x)", math.nan),
    ("x = 1e400\nf = tan(x)", math.nan),
    ("v = [1, 0]\nf = sum(1 / v)", math.inf),
    ("v = [-1, 1]\nf = sum(log(v))", math.nan),
], ids=lambda x: x if isinstance(x, str) else None)
def test_ieee_values_instead_of_exceptions(program, value):
    s = bpdebug.load(program)
    assert s.run().reason == "end"
    got = s.value("f")
    assert (math.isnan(got) and math.isnan(value)) or got == value
    out = s.graph.output
    assert s.nonfinite(out)
    assert s.graph.nodes[out].name in _flagged(s)


def _flagged(s) -> list:
    from bpdebug.report import nonfinite_nodes
    return nonfinite_nodes(s.graph, s.values, s.grads)


def test_division_by_zero_gradients_are_ieee_too():
    s = bpdebug.load("x = 1\ny = 0\nf = x / y")
    s.run()
    assert s.grad("x") == math.inf and s.grad("y") == -math.inf
    assert {"x", "y", "f"} <= set(_flagged(s))


def test_stepping_through_nan_shows_it_without_warnings(recwarn):
    from bpdebug.commands import execute
    s = bpdebug.load("v = [1, 0]\nf = sum(log(v))")
    texts = [execute(s, "step").text for _ in range(s.total)]
    assert "-inf" in texts[1] and "inf" in texts[4]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_nan_flagged_in_the_middle_of_a_graph():
    s = bpdebug.load("x = -1\nw = 2\ny = sqrt(x)\nz = w * 3\nf = y + z")
    s.run()
    assert set(_flagged(s)) == {"x", "y", "f"}       # dL/dx = 0.5/sqrt(x) is nan too
    assert not s.nonfinite(s.graph.index("z")) and not s.nonfinite(s.graph.index("w"))


def test_loading_leaves_the_garbage_collector_as_it_found_it():
    import gc
    assert gc.isenabled()
    bpdebug.load("x = 1\nf = x * 2")
    assert gc.isenabled()
    with pytest.raises(BpError):
        bpdebug.load("f = (")
    with pytest.raises(BpError):
        bpdebug.load("x = 1\nf = y")
    assert gc.isenabled()
    gc.disable()
    try:
        bpdebug.load("x = 1\nf = x * 2")
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("op", ["max(y, 1)", "max(1, y)", "min(y, 1)", "min(1, y)", "relu(y)", "abs(y)"])
def test_nan_is_not_lost_on_the_scalar_path(op):
    # a nan must reach the output whether the node holds a float or an array, or
    # `break nonfinite` and the flags would lose track of where it came from
    scalar = bpdebug.load(f"x = -1\ny = sqrt(x)\nf = {op}")
    tensor = bpdebug.load(f"x = [-1]\ny = sqrt(x)\nf = sum({op})")
    for s in (scalar, tensor):
        s.run()
        assert math.isnan(s.value("f"))


def test_a_value_for_a_name_the_program_never_mentions_is_refused_with_a_suggestion():
    # `--set w=3` once added a leaf nothing read, silently; a typo must not look like it worked.
    err = error_of("x = -2; y = 5; z = -4\nq = x + y\nf = q * z\n", values={"zz": 3.0})
    assert "'zz' is given a value" in err.message and "neither defines nor uses it" in err.message
    assert err.hint == "did you mean 'z'?"
    s = bpdebug.load("f = x * y", values={"x": 2.0, "y": 3.0})  # names used but not defined: leaves
    s.run()
    assert s.grad("x") == 3.0
