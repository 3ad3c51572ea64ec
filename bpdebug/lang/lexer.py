"""The lexer that feeds Lark's LALR parser: the tokens Lark's own contextual lexer makes, faster.

Lark's contextual lexer scans with the terminals the parser's current state accepts, one
scanner a state, and keeps a line counter: most of the time to parse a large program. This one
scans with one regex of every terminal, in the order Lark's scanner tries them, and asks the
parser's state only whether it accepts the token found. Where the state does not (a `+=` inside
an expression is `+` then `=`; a keyword where only a name fits is a name), or nothing matches,
Lark's contextual lexer reads that one token, and raises its errors. So the tokens, their
positions and the syntax errors are Lark's own; tests/test_lexer.py compares them.

Lines are counted only at the tokens that hold a newline; a column is an offset minus the
offset of its line's start.
"""
from __future__ import annotations

from lark.exceptions import GrammarError
from lark.lexer import ContextualLexer, Lexer, LexerState, LineCounter, Token

# A newline inside (), [] continues the statement instead of ending it: how each bracket
# changes the depth.
BRACKETS = {"LPAR": 1, "LSQB": 1, "RPAR": -1, "RSQB": -1}
NEWLINE = "_NL"

_new_str = str.__new__


class BracketNewlines:
    """The bracket rule as a post-lexer (Lark's `postlex=`), for Lark's own lexer. FastLexer
    applies it as it scans: a generator between them would cost a twentieth of a load."""

    always_accept = (NEWLINE,)

    def process(self, stream):
        depth = 0
        for tok in stream:
            if tok.type in BRACKETS:
                depth = max(0, depth + BRACKETS[tok.type])
            elif tok.type == NEWLINE and depth:
                continue
            yield tok


def _scan_order(terminal) -> tuple:
    """The order in which Lark's scanner tries terminals (lark.lexer.BasicLexer)."""
    return -terminal.priority, -terminal.pattern.max_width, -len(terminal.pattern.value), terminal.name


class FastLexer(Lexer):
    """Pass as `Lark(..., lexer=FastLexer)` with `parser="lalr"` and no post-lexer."""

    __future_interface__ = 2   # lex(lexer_state, parser_state), as Lark's own lexers

    def __init__(self, conf):
        self.conf = conf
        regexp = {t.name: t.pattern.to_regexp() for t in conf.terminals}
        terminals = sorted(conf.terminals, key=_scan_order)
        # A string terminal that a regex terminal matches whole (the keyword "param" is also a
        # NAME) is scanned as the regex terminal and renamed, as Lark does.
        self.keywords: dict[str, dict[str, str]] = {}
        self.matched_by: dict[str, set] = {}   # keyword -> the regex terminals that match it whole
        for r in terminals:
            for s in terminals:
                if r.pattern.type != "re" or s.pattern.type != "str" or s.priority != r.priority:
                    continue
                m = conf.re_module.match(regexp[r.name], s.pattern.value, conf.g_regex_flags)
                if m and m.group(0) == s.pattern.value:
                    if s.pattern.flags:
                        raise GrammarError(f"FastLexer takes no flags on a keyword ({s.name})")
                    self.keywords.setdefault(r.name, {})[s.pattern.value] = s.name
                    self.matched_by.setdefault(s.name, set()).add(r.name)
        # Where no NAME fits, Lark scans a keyword on its own (`and` is a keyword even in `andy`),
        # but after the terminals that match a name: so where one starts, the token this regex
        # finds is one Lark would try first, and the parser's state taking it is Lark's answer.
        order = {t.name: i for i, t in enumerate(terminals)}
        if any(all(order[r] > order[k] for r in regexes) for k, regexes in self.matched_by.items()):
            raise GrammarError("FastLexer needs every keyword scanned after a terminal that matches it")
        self.ignore = frozenset(conf.ignore)
        # Blanks (ignored terminals that match a space) are skipped in the same match as the
        # token after them, where no other terminal can start with a blank.
        blanks = [t.name for t in terminals if t.name in self.ignore
                  and conf.re_module.fullmatch(regexp[t.name], " ", conf.g_regex_flags)]
        if any(conf.re_module.match(regexp[t.name], c, conf.g_regex_flags)
               for t in terminals if t.name not in blanks for c in " \t"):
            blanks = []
        # Group 1 is the blanks; each terminal's (empty) group closes after it, so that re skips
        # a terminal by its first character, as it cannot skip a group's start.
        skip = "".join(f"(?:{regexp[b]})*" for b in blanks)
        self.regex = conf.re_module.compile(f"({skip})(?:" + "|".join(
            f"(?:{regexp[t.name]})(?P<{t.name}>)" for t in terminals if t.name not in self.matched_by) + ")",
            conf.g_regex_flags)
        self._accepts = None      # parser state -> what this lexer may return there
        self._contextual = None   # Lark's lexer, made the first time a token needs it

    def accepts(self, parse_table) -> dict:
        """For each parser state, the terminals Lark's contextual lexer scans for there."""
        if self._accepts is None:
            always = self.ignore | set(BracketNewlines.always_accept)
            names = self.conf.terminals_by_name.keys()
            self._accepts = {state: frozenset(set(actions) & names | always)
                             for state, actions in parse_table.states.items()}
        return self._accepts

    def lex(self, lexer_state, parser_state):
        text = lexer_state.text   # a lark TextSlice (lark >= 1.2) or a str
        text, pos, end = (text.text, text.start, text.end) if hasattr(text, "text") else (text, 0, len(text))
        accepts, stack = self.accepts(parser_state.parse_conf.parse_table), parser_state.state_stack
        match, ignore, keywords = self.regex.match, self.ignore, self.keywords
        line, line_start = text.count("\n", 0, pos) + 1, text.rfind("\n", 0, pos) + 1
        depth, tok = 0, None
        while pos < end:
            m = match(text, pos, end)
            kind = m.lastgroup if m else None
            here = accepts[stack[-1]]
            if kind in here:
                start, pos = m.end(1), m.end()   # after the blanks
                value = text[start:pos]
                if kind in ignore:
                    if "\n" in value:
                        line, line_start = line + value.count("\n"), start + value.rindex("\n") + 1
                    continue
                if kind in keywords:
                    keyword = keywords[kind].get(value)
                    if keyword in here:
                        kind = keyword
                tok = _new_str(Token, value)
                tok.type, tok.value, tok.start_pos, tok.line, tok.column = kind, value, start, line, start - line_start + 1
                if "\n" in value:
                    line, line_start = line + value.count("\n"), start + value.rindex("\n") + 1
                tok.end_pos, tok.end_line, tok.end_column = pos, line, pos - line_start + 1
            else:   # Lark reads this token, or raises
                tok, pos, line, line_start = self._lark_token(lexer_state, pos, line, line_start, parser_state, tok)
                if tok is None:
                    return
                kind = tok.type
            if kind in BRACKETS:
                depth = max(0, depth + BRACKETS[kind])
            elif kind == NEWLINE and depth:
                continue
            yield tok

    def _lark_token(self, lexer_state, pos, line, line_start, parser_state, last):
        """(token, position, line, line start) after the token Lark's contextual lexer reads at
        `pos` (None at the end of the text); Lark's UnexpectedInput where it finds none."""
        if self._contextual is None:
            table = parser_state.parse_conf.parse_table.states
            self._contextual = ContextualLexer(self.conf, {state: list(actions) for state, actions in table.items()},
                                               always_accept=BracketNewlines.always_accept)
        counter = LineCounter("\n")
        counter.char_pos, counter.line, counter.line_start_pos = pos, line, line_start
        counter.column = pos - line_start + 1
        tok = next(self._contextual.lex(LexerState(lexer_state.text, counter, last), parser_state), None)
        return tok, counter.char_pos, counter.line, counter.line_start_pos
