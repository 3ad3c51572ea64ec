"""Messages the widgets send to the app."""
from __future__ import annotations

from textual.message import Message


class NodeSelected(Message):
    """The cursor of the node list moved to node `index`."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class CommandEntered(Message):
    """A line was submitted on the command line."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class CompletionsFound(Message):
    """Tab found several ways to finish the command line."""

    def __init__(self, candidates: list[str]) -> None:
        super().__init__()
        self.candidates = candidates
