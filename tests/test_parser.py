"""The parser, fuzzed: programs the grammar itself generates (hypothesis.extra.lark) always
parse, and whatever the user feeds in (text, bytes, damaged examples) gives a Session or a
BpError, never another exception."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

import bpdebug
from bpdebug import BpError
from bpdebug.commands import execute
from bpdebug.lang import ast, parse_condition, parse_program
from bpdebug.lang.parser import grammar_path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# A plain Lark object for from_lark (the parser's own one carries an inline transformer).
GRAMMAR = grammar_path().read_text(encoding="utf-8")


def _terminal_strategies(start: str) -> dict:
    """from_lark joins tokens with no space between; each token gets a trailing space here so
    that `param x` does not come out as `paramx`. Numbers stay small (a fuzzer asking for
    randn(99999, 9999) tests memory, not the parser), strings name files that do not exist,
    and a comment, which would swallow the rest of its line, is a space."""
    names = st.sampled_from(["x", "y", "W", "b_2", "h1.W", "value", "grad", "out", "dout", "sum",
                             "max", "softmax", "dense", "sigmoid", "randn", "quadratic", "f",
                             "x#1", "x#2", "y#1", "x.relu", "W.tanh", "np.exp", "math.exp", "np.dot",
                             "np.nosuch", "not", "relu"])
    numbers = st.one_of(st.integers(0, 40).map(str),
                        st.sampled_from(["0.5", ".25", "2.", "1e3", "1e-3", "3E+1", "1e400", "0.0"]))
    lark = Lark(GRAMMAR, start=start)
    terminals, _, _ = lark.grammar.compile([start], ())
    explicit = {}
    for t in terminals:
        if t.pattern.type == "str":
            explicit[t.name] = st.just(t.pattern.value + " ")
    explicit.update(
        NAME=names.map(lambda s: s + " "),
        NUMBER=numbers.map(lambda s: s + " "),
        STRING=st.sampled_from(['"missing.csv" ', '"" ', '"no such dir/x.npy" ']),
        COMMENT=st.just(" "),
        _NL=st.sampled_from(["\n", "\r\n", "\n\t\n  "]),
        __IGNORE_1=st.sampled_from([" ", "\t", "\f"]),
        __IGNORE_2=st.sampled_from(["\\\n", "\\\r\n"]),
    )
    explicit["COMPARE"] = st.sampled_from(["< ", "<= ", "== ", "!= ", ">= ", "> "])
    explicit["AUGASSIGN"] = st.sampled_from(["+= ", "-= ", "*= ", "/= ", "**= ", "@= "])
    return {k: v for k, v in explicit.items() if k in {t.name for t in terminals}}


PROGRAMS = from_lark(Lark(GRAMMAR, start="program"), start="program",
                     explicit=_terminal_strategies("program"))
CONDITIONS = from_lark(Lark(GRAMMAR, start="condition"), start="condition",
                       explicit=_terminal_strategies("condition"))
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_or_error(text: str, filename: str | None = None):
    """A finished Session, or the BpError; anything else fails the test."""
    try:
        s = bpdebug.load(text, filename)
    except BpError as err:
        str(err)                      # the message itself must render
        return err
    assert s.run().reason == "end"   # inf and nan are values, not exceptions
    return s


# ---- what the grammar generates, the parser accepts -----------------------------------------------

# from_lark overruns its buffer on most draws of a recursive grammar (a few hundred ms per
# program kept), so these run fewer examples than the cheap fuzzers below.
GRAMMAR_FUZZ = settings(FUZZ, max_examples=60, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


@GRAMMAR_FUZZ
@given(PROGRAMS)
def test_grammar_generated_programs_parse_and_load_or_give_a_bperror(text):
    try:
        program = parse_program(text, "gen.bp")
    except BpError as err:           # the grammar allows a file of only ';' and blank lines
        assert "the program is empty" in err.message, f"{err}\n{text!r}"
        return
    assert isinstance(program, ast.Program) and program.source == text
    load_or_error(text, "gen.bp")


@settings(GRAMMAR_FUZZ, max_examples=25)
@given(CONDITIONS)
def test_grammar_generated_conditions_parse_and_print_or_give_an_error(text):
    parse_condition(text)
    s = bpdebug.load("x = 1.5\nv = [1, -2]\ny = sum(v * x)")
    for _ in range(3):
        result = execute(s, f"print {text}")   # a Result, error or not; never an exception
        assert isinstance(result.text, str)
        s.step(2)


# ---- whatever users type ------------------------------------------------------------------------

LANGUAGE_BITS = st.sampled_from([
    "x", "y", "f", "W", "=", " = ", "+", "-", "*", "/", "^", "@", "(", ")", "[", "]", ",", ";", "\n",
    " ", "\t", "#", "1", "2.5", "-3", "1e400", "0", "sum(", "mean(", "axis=", "max(", "tanh(",
    "sigmoid(", "log(", "def ", "grad ", " wrt ", "loss ", "param ", "output ", "layer ", "dense(",
    "act=", "zeros(", "randn(", "seed=", "quadratic(", '"', "\\\n", "out", "dout", "\x00", "é", "\r",
    "**", "+=", "-=", "*=", "/=", ":", "[0]", "[-1]", "[1:3]", "[::2]", "[:, 0]", ".relu()", "x.tanh()",
    "np.exp(", "math.exp(", "np.maximum(", "#1", "x#1", "x#2", ">", "<=", "==", "!=", " not ", " and ",
    ",]", ",)", "1e309", "def sigmoid(z) = ", "param ", "x[", "[1 2]",
])


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_session_or_a_bperror(text):
    load_or_error(text)


@FUZZ
@given(st.lists(LANGUAGE_BITS, max_size=40).map("".join))
def test_text_made_of_language_pieces_gives_a_session_or_a_bperror(text):
    load_or_error(text, "pieces.bp")


_TMP = tempfile.TemporaryDirectory(prefix="bpdebug-fuzz-")


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_in_a_file_give_a_session_or_a_bperror(data):
    path = Path(_TMP.name) / "fuzz.bp"
    path.write_bytes(data)
    try:
        s = bpdebug.load_file(path)
    except BpError as err:
        assert str(path) in str(err)
        return
    s.run()


SEED_TEXTS = sorted(p.read_text(encoding="utf-8") for p in EXAMPLES.glob("*.bp"))


@st.composite
def damaged_examples(draw):
    """An example with a few characters deleted, replaced or inserted."""
    text = draw(st.sampled_from(SEED_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "replace", "insert"]))
        piece = draw(st.one_of(LANGUAGE_BITS, st.characters()))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)):]
        elif action == "replace":
            text = text[:at] + piece + text[at + 1:]
        else:
            text = text[:at] + piece + text[at:]
    return text


@FUZZ
@given(damaged_examples())
def test_damaged_examples_give_a_session_or_a_located_bperror(text):
    result = load_or_error(text, "damaged.bp")
    if isinstance(result, BpError) and "empty" not in result.message and "binary" not in result.message:
        assert result.line is not None and str(result).startswith(f"damaged.bp:{result.line}:")


# ---- the parser's own behaviour ----------------------------------------------------------------------

def statements(text):
    return parse_program(text).statements


def test_precedence_and_associativity():
    (st_,) = statements("f = -2^2")
    assert isinstance(st_.expr, ast.Unary) and st_.expr.op == "neg"        # -(2^2), not (-2)^2
    (st_,) = statements("f = a ^ b ^ c")
    assert st_.expr.op == "pow" and st_.expr.right.op == "pow"             # right-associative
    (st_,) = statements("f = a - b - c")
    assert st_.expr.op == "sub" and st_.expr.left.op == "sub"              # left-associative
    (st_,) = statements("f = a + b * c @ d")
    assert st_.expr.op == "add" and st_.expr.right.op == "matmul" and st_.expr.right.left.op == "mul"
    (st_,) = statements("f = (a + b) * c")
    assert st_.expr.op == "mul" and st_.expr.left.op == "add"


def test_minus_two_squared_is_minus_four():
    s = bpdebug.load("f = -2^2")
    s.run()
    assert s.value("f") == -4.0


def test_statements_end_at_newline_or_semicolon_and_brackets_continue_lines():
    assert len(statements("x = 1; y = 2\nz = 3;\n\n")) == 3
    (st_,) = statements("v = [1,\n     2,\n     3]")
    assert len(st_.expr.items) == 3
    (st_,) = statements("f = max(x,\n        y)")
    assert st_.expr.func == "max"
    (st_,) = statements("f = x + \\\n    y")
    assert st_.expr.op == "add"


def test_comments_and_crlf():
    assert len(statements("# top\nx = 1  # one\r\ny = 2\r\n# end")) == 2


def test_spans_point_into_the_source():
    (a, b) = statements("x = 1\nf = x * yy")
    assert (b.name_span.line, b.name_span.column) == (2, 1)
    assert (b.expr.right.span.line, b.expr.right.span.column, b.expr.right.span.end_column) == (2, 9, 11)


def test_number_forms():
    values = [s.expr.value for s in statements("a = 1\nb = 2.5\nc = .5\nd = 3.\ne = 1e3\nf = 2E-2")]
    assert values == [1.0, 2.5, 0.5, 3.0, 1000.0, 0.02]


def test_keywords_are_names_where_no_keyword_fits():
    # the contextual lexer: `data` and `grad` are names inside an expression
    s = bpdebug.load("data2 = 1\nx = 2\nf = x * data2")
    s.run()
    assert s.value("f") == 2.0


def test_conditions_parse_with_the_second_start_symbol():
    e = parse_condition("norm(grad) > 10 and not isnan(value)")
    assert isinstance(e, ast.Binary) and e.op == "and"
    assert e.left.op == "gt" and isinstance(e.right, ast.Unary) and e.right.op == "not"
    with pytest.raises(BpError, match="expected"):
        parse_condition("norm(grad) >")


def test_the_parser_never_recurses_on_deep_input():
    depth = 200_000
    (st_,) = statements("f = " + "(" * depth + "x" + ")" * depth)
    assert isinstance(st_.expr, ast.Name)
