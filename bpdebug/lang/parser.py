"""Parsing .bp text (and breakpoint conditions) with the Lark grammar in grammars/.

Lark makes the parser from the grammar: its LALR table, the transformer's callbacks, the syntax
errors. FastLexer (lexer.py) reads the text and the Driver (driver.py) runs the table, about
twice as fast as Lark's own lexer and loop; a text with a syntax error is parsed again by Lark's
own loop, which reports it."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import ast
from .errors import BpError, Span
from .driver import Driver
from .lexer import BracketNewlines, FastLexer

_HERE = Path(__file__).resolve().parent.parent


def grammar_path() -> Path:
    """The grammar inside an installed wheel, or at the top of a source checkout."""
    for candidate in (_HERE / "grammars" / "bpdebug.lark", _HERE.parent / "grammars" / "bpdebug.lark"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("bpdebug.lark not found beside the package or in the checkout")


def _span(x) -> Span:
    if isinstance(x, Token):
        return Span(x.line, x.column, x.end_line, x.end_column)
    return x.span


def _over(first, last) -> Span:
    """From the start of `first` to the end of `last` (tokens or AST nodes)."""
    a = first if isinstance(first, Token) else first.span
    b = last if isinstance(last, Token) else last.span
    return Span(a.line, a.column, b.end_line, b.end_column)


_VALUE_TOKENS = ("NAME", "NUMBER", "STRING", "COMPARE")


def _values(items) -> list:
    """The children that carry meaning; punctuation and keywords dropped."""
    return [i for i in items if not (isinstance(i, Token) and i.type not in _VALUE_TOKENS)]


def _arguments(items) -> tuple[tuple, tuple]:
    """A call's (positional, keyword) arguments from its children after the name."""
    args = _values(items)
    positional = tuple(a for a in args if not (isinstance(a, tuple) and a[:1] == ("kwarg",)))
    kwargs = tuple(a[1:] for a in args if isinstance(a, tuple) and a[:1] == ("kwarg",))
    return positional, kwargs


class _ToAst(Transformer):
    """Builds the AST while the LALR parser reduces (keep_all_tokens gives exact spans). Each
    method takes the rule's children as one list, Lark's cheapest way to call it: a large
    program makes several calls a node."""

    def number(self, c):
        return ast.Num(float(c[0]), _span(c[0]))

    def string(self, c):
        return ast.Str(c[0].value[1:-1], _span(c[0]))

    def name(self, c):
        tok = c[0]
        return ast.Name(tok.value, Span(tok.line, tok.column, tok.end_line, tok.end_column))

    def tensor(self, c):
        return ast.Tensor(tuple(_values(c)), _over(c[0], c[-1]))

    def paren(self, c):
        return c[1]

    def pos(self, c):
        return c[1]

    def neg(self, c):
        minus, operand = c
        span = _over(minus, operand)
        if isinstance(operand, ast.Num):  # fold `-2` so literals stay literals
            return ast.Num(-operand.value, span)
        return ast.Unary("neg", operand, span)

    def not_(self, c):
        return ast.Unary("not", c[1], _over(c[0], c[1]))

    def _binary(op):
        def build(self, c):
            left, _, right = c
            a, b = left.span, right.span
            return ast.Binary(op, left, right, Span(a.line, a.column, b.end_line, b.end_column))
        return build

    add, sub, mul, div = _binary("add"), _binary("sub"), _binary("mul"), _binary("div")
    matmul, pow, or_, and_ = _binary("matmul"), _binary("pow"), _binary("or"), _binary("and")

    def compare(self, c):
        left, op, right = c
        return ast.Binary(ast.COMPARISONS[op.value], left, right, _over(left, right))

    def kwarg(self, c):
        name, _, value = c
        return ("kwarg", name.value, value, _span(name))

    def call(self, c):
        func, rest = c[0], c[1:]
        positional, kwargs = _arguments(rest)
        return ast.Call(func.value, positional, kwargs, _over(func, rest[-1]), _span(func))

    def method(self, c):
        receiver, _, func, *rest = c
        positional, kwargs = _arguments(rest)
        return ast.Call(func.value, (receiver, *positional), kwargs, _over(receiver, rest[-1]),
                        _span(func), method=True)

    def index(self, c):
        return ast.Index(c[0], tuple(_values(c[1:])), _over(c[0], c[-1]))

    def slice(self, c):
        parts, at = [None, None, None], 0
        for item in c:
            if isinstance(item, Token):   # a ':' moves on to the next part
                at += 1
            else:
                parts[at] = item
        return ast.Slice(*parts, _over(c[0], c[-1]))

    def assign(self, c):
        name, _, expr = c
        name_span = Span(name.line, name.column, name.end_line, name.end_column)
        b = expr.span
        return ast.Assign(name.value, expr, "", Span(name.line, name.column, b.end_line, b.end_column), name_span)

    def _keyword_assign(kind):
        def build(self, c):
            keyword, name, _, expr = c
            return ast.Assign(name.value, expr, kind, _over(keyword, expr), _span(name))
        return build

    param, loss, data = _keyword_assign("param"), _keyword_assign("loss"), _keyword_assign("data")

    def augassign(self, c):
        # `c += e` is `c = c + (e)`: a new node, and from here on `c` names it
        name, op, expr = c
        target = ast.Name(name.value, _span(name))
        value = ast.Binary(ast.AUGMENTED[op.value], target, expr, _over(name, expr))
        return ast.Assign(name.value, value, "", _over(name, expr), _span(name))

    def output(self, c):
        return ast.Output(c[1].value, _span(c[1]))

    def def_(self, c):
        name, *params, body = _values(c)
        return ast.Def(name.value, tuple(p.value for p in params), body, _over(c[0], body))

    def grad(self, c):
        op, wrt, expr = _values(c)
        return ast.Grad(op.value, wrt.value, expr, _over(c[0], expr), _span(wrt))

    def layer(self, c):
        keyword, name, _, call = c
        return ast.Layer(name.value, call, _over(keyword, call))

    def train(self, c):
        options = tuple(a[1:] for a in _values(c[1:]))   # ("kwarg", name, value, span)
        return ast.Train(options, _over(c[0], options[-1][1]))

    def line(self, c):   # [statement,] end of line or ';'
        return c[0] if len(c) == 2 else None

    def lines(self, c):  # left-recursive: the list so far, and one more line
        if len(c) == 1:
            return [c[0]]
        c[0].append(c[1])
        return c[0]

    def program(self, c):   # [lines] [statement]
        statements = c[0] if c and type(c[0]) is list else []
        if c and type(c[-1]) is not list:
            statements.append(c[-1])
        return tuple(st for st in statements if st is not None)

    def condition(self, c):
        return c[0]


# `def` is a Python keyword; Lark looks the rule up by its grammar name.
setattr(_ToAst, "def", _ToAst.def_)


def lark_parser(lexer=FastLexer) -> Lark:
    """The parser of programs and conditions. The transformer runs inside the LALR parser as
    each rule is reduced: no parse tree is built and nothing recurses, however deep the input
    nests. `lexer="contextual"` is Lark's own lexer, which FastLexer is tested and measured
    against; FastLexer applies the bracket rule itself."""
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer=lexer,
                start=["program", "condition"], postlex=None if lexer is FastLexer else BracketNewlines(),
                keep_all_tokens=True, maybe_placeholders=False, transformer=_ToAst())


_lark = lru_cache(maxsize=None)(lark_parser)


@lru_cache(maxsize=None)
def _driver() -> Driver:
    return Driver(_lark())

_TOKEN_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "_NL": "end of line",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='",
    "SEMICOLON": "';'", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'",
    "CIRCUMFLEX": "'^'", "AT": "'@'", "COMPARE": "a comparison", "$END": "end of input",
    "POW": "'**'", "COLON": "':'", "DOT": "'.'", "AUGASSIGN": "'+='",
}
_STARTS_AN_ITEM = ("NUMBER", "NAME", "STRING", "LPAR", "LSQB")
_CLOSING = {"RPAR", "RSQB", "COMMA", "COLON"}   # what only makes sense inside brackets
_INSIDE = {"LPAR": ("RPAR",), "LSQB": ("RSQB", "COLON")}


def _describe(tokens) -> str:
    tokens = set(tokens)
    expression = {"NAME", "NUMBER"} <= tokens
    if expression:  # the start of an expression: say so instead of listing its first tokens
        tokens -= {"NAME", "NUMBER", "STRING", "LPAR", "LSQB", "MINUS", "PLUS", "NOT"}
    words = sorted({_TOKEN_WORDS.get(t, repr(t.lower()) if t.isalpha() else t) for t in tokens
                    if not t.startswith("__")})
    if expression:
        words = ["an expression"] + words
    if not words:
        return "something else"
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def _syntax_error(err: UnexpectedInput, text: str, filename: str | None, program: bool = True) -> BpError:
    hint = None
    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        shown = repr(ch) if ch.isprintable() else f"character {ord(ch):#x}"
        msg = f"unexpected {shown}; expected {_describe(err.allowed)}"
        span = Span(err.line, err.column, err.line, err.column + 1)
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        got = "end of input" if tok.type == "$END" else (
            "end of line" if tok.type == "_NL" else repr(str(tok)))
        bracket = _open_bracket(err)
        # LALR merges states, so its expected set offers ',', ':' and closing brackets anywhere
        expected = set(err.expected) - (_CLOSING - {"COMMA", *_INSIDE[bracket]} if bracket else _CLOSING)
        msg = f"unexpected {got}; expected {_describe(expected)}"
        line = getattr(tok, "line", None) or err.line
        col = getattr(tok, "column", None) or err.column
        if tok.type in ("$END", "_NL") or line is None or line < 1:
            line, col = _end_of_content(text, tok)
        span = Span(line, col, line, col + max(1, len(str(tok)) if tok.type not in ("_NL", "$END") else 1))
        msg, hint, span = _explained(tok, bracket is not None, text, msg, span, program)
    else:  # UnexpectedEOF
        line, col = _end_of_content(text, None)
        msg = f"unexpected end of input; expected {_describe(getattr(err, 'expected', []))}"
        span = Span(line, col, line, col + 1)
    return BpError(msg, span, text, filename, hint)


def _open_bracket(err: UnexpectedToken) -> str | None:
    """The innermost bracket open where the surprise came ("LPAR" or "LSQB"), from the tokens
    the parser still holds; None outside brackets."""
    parser = getattr(err, "interactive_parser", None)
    opened: list[str] = []
    for v in parser.parser_state.value_stack if parser is not None else ():
        if isinstance(v, Token) and v.type in ("LPAR", "LSQB"):
            opened.append(v.type)
        elif isinstance(v, Token) and v.type in ("RPAR", "RSQB") and opened:
            opened.pop()
    return opened[-1] if opened else None


def _explained(tok, in_brackets: bool, text: str, msg: str, span: Span, program: bool):
    """(message, hint, span) for mistakes people make often, from the token that surprised
    the parser and the word before it."""
    word = str(tok)
    line = text.split("\n")[span.line - 1] if 1 <= span.line <= text.count("\n") + 1 else ""
    before = line[:span.column - 1].rstrip()
    if program and (word in ("and", "or", "not") or re.search(r"(?<![\w.#])not$", before)):
        if word not in ("and", "or", "not"):   # `f = not x`: point at the `not`
            word, col = "not", len(before) - 2
            span = Span(span.line, col, span.line, col + 3)
        return (f"'{word}' belongs in breakpoint conditions, not in programs",
                "in a program, combine 0/1 masks with arithmetic: (a > 0) * (b > 0) for and, "
                "1 - (a > 0) for not", span)
    if tok.type == "COMPARE":
        return msg, "comparisons do not chain: write (a < b) * (b < c)", span
    if in_brackets and tok.type in _STARTS_AN_ITEM:
        return msg, "missing ','? items are separated by commas, as in [1, 2] or max(a, b)", span
    return msg, None, span


def _end_of_content(text: str, tok) -> tuple[int, int]:
    """Point at the end of the last non-blank text before the newline/EOF that surprised us."""
    if tok is not None and tok.type == "_NL" and getattr(tok, "line", None):
        line = tok.line
        lines = text.split("\n")  # lines as the lexer counts them
        return line, len(lines[line - 1].rstrip("\r")) + 1 if line <= len(lines) else 1
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1


def _check_text(text: str, filename: str | None) -> None:
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise BpError("this looks like a binary file (it contains a NUL byte), not a bpdebug program",
                      Span(line, 1), None, filename)


@lru_cache(maxsize=None)
def _names_strings_and_hashes():
    grammar = _lark()
    return re.compile("|".join(f"(?:{grammar.get_terminal(t).pattern.to_regexp()})" for t in ("STRING", "NAME"))
                      + "|#")


def strip_comment(line: str) -> str:
    """A line without its `#` comment, where `#` is read as the grammar reads it: `c#2` (a `#`
    and digits right after a name) is a name, a `#` anywhere else starts a comment. For command
    files, whose lines are not parsed by the grammar as a whole."""
    for m in _names_strings_and_hashes().finditer(line):
        if m.group() == "#":
            return line[:m.start()]
    return line


def parse_program(text: str, filename: str | None = None) -> ast.Program:
    """Parse a whole program. Raises BpError on bad input, never anything else."""
    _check_text(text, filename)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise BpError("the program is empty: write at least one assignment, such as `f = x * y`",
                      None, text, filename)
    try:
        tree = _driver().parse(text, "program")
    except UnexpectedInput as err:
        raise _syntax_error(err, text, filename) from None
    return ast.Program(tree, text, filename)


def parse_condition(text: str):
    """Parse a breakpoint condition or watch expression into an AST expression."""
    _check_text(text, None)
    if not text.strip():
        raise BpError("expected an expression", Span(1, 1), text)
    try:
        return _driver().parse(text, "condition")
    except UnexpectedInput as err:
        raise _syntax_error(err, text, None, program=False) from None
