"""A long move in progress (`continue`, or training steps), run in slices from a timer so the
screen repaints and keys are read between them."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from textual.timer import Timer

from ..lang import BpError

CHUNK_SECONDS = 0.03       # one slice between repaints


@dataclass
class Running:
    """A `continue`, or training steps, in progress."""

    start: int                 # steps taken when it began
    chunk: int = 256           # steps per slice, adapted to CHUNK_SECONDS
    timer: Timer | None = None
    everything: bool = False   # every row changed (a new training step began)
    steps: int = 0             # training steps left to run
    asked: int = 0             # training steps asked for
    losses: int = 0            # losses recorded when the training began


def stops_on_failure(move):
    """A move that runs the user's code (ops written in Python, --ops): when that code fails,
    the app's `_failed` logs the error, the session standing just before the failing step,
    and the app goes on (an exception would end Textual's message loop)."""
    @wraps(move)
    def guarded(app, *args, **kwargs):
        try:
            return move(app, *args, **kwargs)
        except BpError as err:
            app._failed(err)
    return guarded
