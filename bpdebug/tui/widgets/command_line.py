"""The command line: the same language as `bpdebug script`, with completion of commands and
node names (Tab, or → to take the grey suggestion) and history (↑ / ↓). Escape leaves it."""
from __future__ import annotations

import re
from bisect import bisect_left

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

from ...commands import ALIASES, HELP
from ...conditions import FUNCTIONS
from ...engine import SPECIAL_BREAKS
from ..messages import CommandEntered, CompletionsFound

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(#[0-9]*)?$|$")   # `c#2`: a version of a rebound c
EXPRESSION_WORDS = ("value", "grad", "upstream", "step", *FUNCTIONS)


class Completer:
    """Completions for a partly typed line; node names are looked up by bisecting a sorted
    list, so a graph of 100,000 names costs a few comparisons."""

    def __init__(self, session, commands=()) -> None:
        self.names = sorted(session.graph.names)
        self.commands = [*HELP, *commands]     # the shared language and the app's own

    def _names(self, prefix: str) -> list:
        lo = bisect_left(self.names, prefix)
        hi = bisect_left(self.names, prefix + "\U0010ffff")
        return self.names[lo:hi]

    def complete(self, line: str) -> list[str]:
        """Whole lines that `line` could become by finishing its last word."""
        token = TOKEN.search(line).group()
        head = line[: len(line) - len(token)]
        words = line.split()
        if not head.strip():
            pool = [c for c in self.commands if c.startswith(token)]
        elif head.endswith("("):                       # value(NODE), grad(NODE)
            pool = [name + ")" for name in self._names(token)]
        else:
            command = ALIASES.get(words[0], words[0])
            pool = [w for w in self._words(command, head) if w.startswith(token)]
            pool += self._names(token) if self._takes_names(command, head) else []
        return [head + w for w in dict.fromkeys(pool)]

    @staticmethod
    def _words(command: str, head: str) -> tuple:
        if " if " in f" {head}" or command in ("print", "watch"):
            return EXPRESSION_WORDS
        if command in ("break", "tbreak"):
            return ("forward", "backward", "if", *SPECIAL_BREAKS)
        if command == "info":
            return ("breakpoints", "watches")
        if command == "help":
            return tuple(HELP)
        return ()

    @staticmethod
    def _takes_names(command: str, head: str) -> bool:
        return command in ("break", "tbreak", "print", "watch", "until", "set") or " if " in f" {head}"


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
    BINDINGS = [
        Binding("up", "history(-1)", "previous command", show=False),
        Binding("down", "history(1)", "next command", show=False),
        Binding("tab", "complete", "complete", show=False, priority=True),
    ]

    IDLE = "press : to type a command (help, break backward q, watch grad(x), p x)"
    # The footer shows no keys while the line has the focus, so the line says how to leave it.
    TYPING = "Enter runs · Tab completes · ↑↓ history · Esc leaves"

    def __init__(self, session, commands=(), **kwargs) -> None:
        self.completer = Completer(session, commands)
        super().__init__(placeholder=self.IDLE, suggester=CommandSuggester(self.completer),
                         select_on_focus=False, **kwargs)
        self.cursor_blink = False
        self.history: list[str] = []
        self._position = 0

    def on_focus(self) -> None:
        self.placeholder = self.TYPING

    def on_blur(self) -> None:
        self.placeholder = self.IDLE

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
        line = self.value.strip()
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._position = len(self.history)
        self.value = ""
        self.post_message(CommandEntered(line))
