"""The command line: the same language as `bpdebug script`, with completion of commands and
node names (Tab, or → to take the grey suggestion) and history (↑ / ↓, kept between sessions).
Completion offers only what can come next: `print grad ` offers nothing (an operator comes
next), `break backward ` no second pass. Escape leaves it."""
from __future__ import annotations

import re
from bisect import bisect_left

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

from ...commands import ALIASES, COMMANDS
from ...conditions import FUNCTIONS
from ...engine import SPECIAL_BREAKS
from .. import history
from ..messages import CommandEntered, CompletionsFound
from ..status import hint_names

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(#[0-9]*)?$|$")   # `c#2`: a version of a rebound c
EXPRESSION_WORDS = ("value", "grad", "upstream", "step", *FUNCTIONS)
PASSES = ("forward", "backward")
# After these an expression expects an operand (a name, a number, a function), not an operator.
OPERAND_AFTER = re.compile(r"(^|[-+*/@^(,<>=!]|\b(if|and|or|not))\s*$")


class Completer:
    """Completions for a partly typed line; node names are looked up by bisecting a sorted
    list, so a graph of 100,000 names costs a few comparisons."""

    def __init__(self, session, commands=()) -> None:
        self.names = sorted(session.graph.names)
        self.commands = [*COMMANDS, *commands]  # the shared language and the app's own

    def _names(self, prefix: str) -> list:
        lo = bisect_left(self.names, prefix)
        hi = bisect_left(self.names, prefix + "\U0010ffff")
        return self.names[lo:hi]

    def complete(self, line: str) -> list[str]:
        """Whole lines that `line` could become by finishing its last word."""
        token = TOKEN.search(line).group()
        head = line[: len(line) - len(token)]
        words = head.split()
        if not words:
            pool = [c for c in self.commands if c.startswith(token)]
        elif head.endswith("("):                       # value(NODE), grad(NODE)
            pool = [name + ")" for name in self._names(token)]
        else:
            command = ALIASES.get(words[0], words[0])
            words_, names = self._next(command, head, words[1:])
            pool = [w for w in words_ if w.startswith(token)] + (self._names(token) if names else [])
        return [head + w for w in dict.fromkeys(pool)]

    def _next(self, command: str, head: str, args: list) -> tuple[tuple, bool]:
        """(the words that may come next, whether a node name may) after `head`."""
        expression = _expression(command, head)
        if expression is not None:
            operand = OPERAND_AFTER.search(expression) is not None
            return (EXPRESSION_WORDS, True) if operand else ((), False)
        if command in ("break", "tbreak"):
            given = set(args)
            words = (*(() if given & set(PASSES) else PASSES), "if",
                     *(() if given & set(SPECIAL_BREAKS) else SPECIAL_BREAKS))
            return words, not any(self._is_name(a) for a in args)
        if args:                                   # the others take one argument at most
            return (), False
        if command == "info":
            return ("breakpoints", "watches"), False
        if command == "help":
            return tuple(COMMANDS), False
        return (), command in ("until", "set")

    def _is_name(self, word: str) -> bool:
        k = bisect_left(self.names, word)
        return k < len(self.names) and self.names[k] == word


def _expression(command: str, head: str) -> str | None:
    """The expression being typed at the end of `head` (a condition, what `print` or `watch`
    shows), or None if the line is not at one."""
    if " if " in head:
        return head.split(" if ", 1)[1]
    if command in ("print", "watch"):
        return head.partition(" ")[2]
    if command == "condition":
        parts = head.split(None, 2)
        return parts[2] if len(parts) == 3 else "" if len(parts) == 2 and head.endswith(" ") else None
    return None


class CommandSuggester(Suggester):
    def __init__(self, completer: Completer) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.completer = completer

    async def get_suggestion(self, value: str) -> str | None:
        found = self.completer.complete(value) if value else []
        return found[0] if found else None


def common_prefix(lines: list[str]) -> str:
    first, last = min(lines), max(lines)
    k = 0
    while k < min(len(first), len(last)) and first[k] == last[k]:
        k += 1
    return first[:k]


class CommandLine(Input):
    """Enter runs the line (an empty one runs the last command again, as in pdb) and hands
    the keys back to the app; the history is kept between sessions (tui.history)."""

    BINDINGS = [
        Binding("up", "history(-1)", "previous command", show=False),
        Binding("down", "history(1)", "next command", show=False),
        Binding("tab", "complete", "complete", show=False, priority=True),
    ]

    # The footer shows no keys while the line has the focus, so the line says how to leave it.
    TYPING = "Enter runs (empty: the last command again) · Tab completes · ↑↓ history · Esc leaves"

    def __init__(self, session, commands=(), **kwargs) -> None:
        self.completer = Completer(session, commands)
        node, leaf = hint_names(session.graph)
        self.idle = f"press : to type a command (help, break backward {node}, watch grad({leaf}), p {node})"
        super().__init__(placeholder=self.idle, suggester=CommandSuggester(self.completer),
                         select_on_focus=False, **kwargs)
        self.cursor_blink = False
        self.history: list[str] = history.load()
        self._position = len(self.history)
        self.last = ""                 # the last command run in this session

    def on_focus(self) -> None:
        self.placeholder = self.TYPING

    def on_blur(self) -> None:
        self.placeholder = self.idle

    def action_history(self, delta: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + delta))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        found = self.completer.complete(self.value)
        if not found:
            return
        if len(found) > 1:
            self.post_message(CompletionsFound(found))
        line = found[0] + " " if len(found) == 1 else common_prefix(found)
        if line != self.value:
            self.value = line
            self.cursor_position = len(line)

    async def action_submit(self) -> None:
        line = self.value.strip() or self.last
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
            history.save(self.history)
        self.last = line
        self._position = len(self.history)
        self.value = ""
        self.post_message(CommandEntered(line))
