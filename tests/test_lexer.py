"""The fast front door against Lark's own: FastLexer makes exactly the tokens Lark's contextual
lexer makes (types, values, positions, and the syntax errors where there are any), and the
driver builds exactly the syntax tree Lark's own LALR loop builds, on every example, on
programs the grammar generates, and on text made of the language's pieces."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import GrammarError, UnexpectedInput
from test_parser import FUZZ, GRAMMAR_FUZZ, LANGUAGE_BITS, PROGRAMS, damaged_examples

from bpdebug.lang import BpError, parse_program
from bpdebug.lang.lexer import FastLexer
from bpdebug.lang.parser import _driver, _lark, lark_parser

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.bp"))
STANDARD = lark_parser(lexer="contextual")   # Lark's own lexer, with the same grammar

# Where the parser's state picks a token other than the longest match, or a keyword its place
# makes a name (or a keyword glued to a name), the fast lexer hands over to Lark's: all here.
AWKWARD = [
    "f = a +=b", "f == 2", "x = a **= b", "grad f wrtx = 1", "x = a andb", "x = a or1", "param = 3",
    "loss = 2\ndata = loss + 1", "x = data * grad + wrt", "c#2 = 1\nx = c#2 # c#2 here is a comment",
    "x = 1#2", "x = .5 + 1. + 2e3 + 3E-1", "f = x.relu() + (a + b).tanh() + np.exp(y)",
    "v = [1,\n  2,\n\n  3]\nf = max(x,\n  y)", "f = x + \\\n  y", "x = 1\r\ny = 2\r\n", "x\t=\f1",
    "f = é", "f = (((x", "f = x)", "f = ]", "f = [1 -2]", "f = a < b < c", "f = not x",
    "def f(a, b,) = a * b\ngrad f wrt a = b", "layer h = dense(X, 3, act=relu)", "train lr=2, steps=3",
    "output f", "x = 1;;; y = 2;", 'data X = csv("a.csv", cols=[0, 1])', "f = x[1:2:3, ::, 0]",
    "f = x +\n", "f = (x +\n", "", "\n\n", "# only a comment", "f = 1 @@ 2", "f = x $ y", "f = \"ab\ncd\"",
]


def _tokens(parser, text: str, start: str = "program") -> list:
    """Every token the parser's lexer hands the parser, then how the parse ends."""
    interactive = parser.parse_interactive(text, start=start)
    seen = []
    try:
        for t in interactive.iter_parse():
            seen.append((t.type, t.value, t.start_pos, t.line, t.column, t.end_line, t.end_column, t.end_pos))
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        seen.append((type(err).__name__, err.line, err.column, getattr(err, "pos_in_stream", None),
                     sorted(getattr(err, "expected", None) or getattr(err, "allowed", None) or ()),
                     None if token is None else (token.type, str(token), token.line, token.column)))
    return seen


def _tree(x) -> list:
    """A syntax tree as a flat list, spans included (without recursion: trees can be deep)."""
    out, stack = [], [x]
    while stack:
        v = stack.pop()
        if hasattr(v, "__dataclass_fields__"):
            out.append(type(v).__name__)
            stack.extend(getattr(v, f) for f in reversed(v.__dataclass_fields__))
        elif isinstance(v, tuple) and not hasattr(v, "_fields"):
            out.append(len(v))
            stack.extend(reversed(v))
        else:
            out.append(v)
    return out


def _parsed(parse, text: str, start: str):
    try:
        return _tree(parse(text, start))
    except UnexpectedInput as err:
        return type(err).__name__, err.line, err.column


def assert_same_as_lark(text: str, start: str = "program") -> None:
    assert _tokens(_lark(), text, start) == _tokens(STANDARD, text, start), text
    fast = _parsed(_driver().parse, text, start)
    assert fast == _parsed(lambda t, s: _lark().parse(t, start=s), text, start), text
    assert fast == _parsed(lambda t, s: STANDARD.parse(t, start=s), text, start), text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_lexes_and_parses_as_with_larks_own_lexer(path):
    assert_same_as_lark(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_text_lexes_and_parses_as_with_larks_own_lexer(text):
    assert_same_as_lark(text)


@pytest.mark.parametrize("text", ["norm(grad) > 10 and not isnan(value)", "a or b and not c", "x >",
                                  "value == 1 or1", "not", "x andy", "grad[0] > 1"])
def test_conditions_lex_and_parse_as_with_larks_own_lexer(text):
    assert_same_as_lark(text, "condition")


@settings(GRAMMAR_FUZZ, max_examples=30)   # test_parser.py runs the grammar's programs too
@given(PROGRAMS)
def test_generated_programs_lex_and_parse_as_with_larks_own_lexer(text):
    assert_same_as_lark(text)


@FUZZ
@given(st.lists(LANGUAGE_BITS, max_size=40).map("".join))
def test_text_made_of_language_pieces_lexes_as_with_larks_own_lexer(text):
    assert_same_as_lark(text)


@FUZZ
@given(damaged_examples())
def test_damaged_examples_lex_as_with_larks_own_lexer(text):
    assert_same_as_lark(text)


def test_a_large_program_lexes_as_with_larks_own_lexer():
    lines = [f"n{k} = {k / 7!r}" for k in range(20)]
    for k in range(20, 2000):
        lines.append(f"n{k} = tanh(n{k - 1})" if k % 3 == 0 else f"n{k} = n{k - 1} {'+-*'[k % 3]} n{k // 2}")
    assert_same_as_lark("\n".join(lines) + "\n")


def test_a_syntax_error_deep_inside_brackets_is_reported_without_recursion():
    depth = 100_000
    with pytest.raises(BpError) as err:
        parse_program("f = " + "(" * depth + "x +" + ")" * depth, "deep.bp")
    assert err.value.line == 1 and "expected an expression" in err.value.message


@pytest.mark.parametrize("grammar, why", [
    ('start: A | Z\nA: "ab"\nZ: /ab/', "scanned after a terminal that matches it"),
    ('start: G NAME\nG: "go"i\nNAME: /[a-z]+/i', "no flags on a keyword"),
])
def test_a_grammar_the_fast_lexer_cannot_follow_exactly_is_refused(grammar, why):
    with pytest.raises(GrammarError, match=why):
        Lark(grammar, parser="lalr", lexer=FastLexer)
