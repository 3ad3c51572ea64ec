"""The TUI's side of a Trainer (bpdebug.train): what the node list, banner and inspector ask
about the update phase. The loop itself (forward nodes, backward nodes, one update per param,
the next training step) is the Trainer's, shared with `bpdebug script`.
"""
from __future__ import annotations

from ..engine import Stop
from ..train import Trainer, Update


class Training:
    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self._updates: list | None = None   # the Trainer's list the index below was built from
        self._count = -1
        self._by_index: dict = {}

    @property
    def session(self):
        return self.trainer.session

    @property
    def phase(self) -> str:
        return self.trainer.phase

    @property
    def in_update(self) -> bool:
        return self.trainer.in_update

    @property
    def step_number(self) -> int:
        return self.trainer.step_number

    @property
    def last_update(self) -> Update | None:
        return self.trainer.last_update

    def update_of(self, i: int) -> Update | None:
        """Node i's update in this training step, if applied (a dict look-up per row drawn)."""
        updates = self.trainer.updates
        if updates is not self._updates or len(updates) != self._count:
            self._updates, self._count = updates, len(updates)
            self._by_index = {u.index: u for u in updates}
        return self._by_index.get(i)

    def step(self, count: int = 1) -> Stop | None:
        return self.trainer.step(count)

    def next(self) -> Stop | None:
        return self.trainer.next()

    def finish_updates(self) -> None:
        self.trainer.finish_updates()

    def back(self, count: int = 1) -> int:
        return self.trainer.back(count)
