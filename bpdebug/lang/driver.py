"""Running Lark's LALR parse table over a text: Lark's own steps, without its per-step costs.

Lark builds the parser: the grammar, its LALR table, the callbacks that build the AST (with
Lark's own wrappers), the lexer's parser states. `Lark.parse` then runs that table one token
at a time, and each of the ~20 steps a line of a program takes costs three calls of Python
methods of Lark's rule and token classes (hash and compare), about half the time of a load.
This runs the same table, translated once to plain tuples: a shift, a reduction through the
same callback, a unit rule (`?sum: product`) that Lark's wrapper would hand its one child
back from. A program it cannot parse is parsed again by Lark's own loop, which raises the
syntax error exactly as before (tests/test_lexer.py compares both on valid programs).
"""
from __future__ import annotations

from itertools import chain

from lark import Token
from lark.exceptions import UnexpectedInput
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift


ACCEPT = -1


class _NoAction(Exception):
    """The table has no step for this token: a syntax error, which Lark's loop reports."""


def _translate(parse_table, callbacks) -> list:
    """[state: {symbol: new state (int) | (size, rule name, callback or None) | ACCEPT}]: a
    reduction's callback None where it is Lark's wrapper that returns a unit rule's one child."""
    reductions = {}
    rows = [{} for _ in range(max(parse_table.states) + 1)]
    for state, actions in parse_table.states.items():
        row = rows[state]
        for symbol, (action, arg) in actions.items():
            if action is Shift:
                row[str(symbol)] = arg
                continue
            if arg not in reductions:
                callback = callbacks[arg]
                size = len(arg.expansion)
                unit = size == 1 and isinstance(callback, ExpandSingleChild)
                reductions[arg] = (size, str(arg.origin.name), None if unit else callback)
            row[str(symbol)] = reductions[arg]
    for state in parse_table.end_states.values():   # a start symbol reduced, and the input over
        rows[state] = {"$END": ACCEPT}
    return rows


class Driver:
    """`parse(text, start)` for a Lark LALR parser built with a transformer."""

    def __init__(self, lark):
        self.lark = lark
        self._table = None

    def parse(self, text: str, start: str):
        interactive = self.lark.parse_interactive(text, start=start)
        try:
            return self._run(interactive)
        except (_NoAction, UnexpectedInput):
            return self.lark.parse(text, start=start)   # raises Lark's own UnexpectedInput

    def _run(self, interactive):
        state = interactive.parser_state
        conf = state.parse_conf
        if self._table is None:
            self._table = _translate(conf.parse_table, conf.callbacks)
        rows, stack, values = self._table, state.state_stack, state.value_stack
        token_callbacks = {k: v for k, v in conf.callbacks.items() if isinstance(k, str)}
        try:
            for token in chain(interactive.lexer_thread.lex(state), [Token("$END", "")]):
                kind = token.type
                step = rows[stack[-1]][kind]
                while type(step) is tuple:   # reductions, until the token shifts
                    size, name, callback = step
                    if callback is None:     # a unit rule: its one child is its value
                        stack[-1] = rows[stack[-2]][name]
                    else:
                        if size:
                            children = values[-size:]
                            del stack[-size:]
                            del values[-size:]
                        else:
                            children = []
                        values.append(callback(children))
                        stack.append(rows[stack[-1]][name])
                    step = rows[stack[-1]][kind]
                if step == ACCEPT:
                    return values[-1]
                stack.append(step)
                values.append(token_callbacks[kind](token) if kind in token_callbacks else token)
        except KeyError:   # no step for this token here
            pass
        raise _NoAction
