"""BpError: every mistake a user can make, reported with file, line, column and a caret."""
from __future__ import annotations

import difflib
from typing import NamedTuple


class Span(NamedTuple):
    """Where a piece of source text is: 1-based line and column, end exclusive. (A named tuple:
    loading makes several for each node, and a tuple is made in a third of a dataclass's time.)"""

    line: int
    column: int
    end_line: int = 0
    end_column: int = 0


class BpError(Exception):
    """A user-facing error. `str(err)` is the whole message a person sees."""

    def __init__(self, message: str, span: Span | None = None, source: str | None = None,
                 filename: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.filename = filename
        self.hint = hint

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def located(self, source: str | None = None, filename: str | None = None) -> "BpError":
        """Fill in the source text and file name where they were not known at the raise."""
        if self.source is None:
            self.source = source
        if self.filename is None:
            self.filename = filename
        return self

    def __str__(self) -> str:
        where = self.filename or ("<input>" if self.span else "bpdebug")
        if self.span:
            where += f":{self.span.line}:{self.span.column}"
        first, _, more = self.message.partition("\n")  # lines after the first follow the caret
        out = [f"{where}: error: {first}"]
        line_text = self._line_text()
        if line_text is not None:
            col = max(self.span.column, 1)
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column > col:
                width = self.span.end_column - col
            shown, col = _window(line_text.expandtabs(1), col)
            out.append(f"    {shown}")
            out.append("    " + " " * (col - 1) + "^" * min(width, max(1, len(shown) - col + 1)))
        if more:
            out.append(more)
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)

    def _line_text(self) -> str | None:
        if not (self.span and self.source):
            return None
        lines = self.source.split("\n")  # as the lexer counts lines (splitlines also splits at \f)
        if 1 <= self.span.line <= len(lines):
            return lines[self.span.line - 1].rstrip("\r")
        return None


SHOWN_WIDTH = 160


def _window(text: str, col: int) -> tuple[str, int]:
    """At most SHOWN_WIDTH characters of a long line, around column `col` (moved to match)."""
    if len(text) <= SHOWN_WIDTH:
        return text, col
    start = max(0, min(col - 1 - SHOWN_WIDTH // 2, len(text) - SHOWN_WIDTH))
    shown = text[start:start + SHOWN_WIDTH]
    if start:
        shown, col = "…" + shown, col - start + 1
    if start + SHOWN_WIDTH < len(text):
        shown += "…"
    return shown, col


def did_you_mean(name: str, candidates) -> str | None:
    """A hint naming the closest known name, or None."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
