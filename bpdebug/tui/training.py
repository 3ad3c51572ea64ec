"""The TUI's side of a Trainer (bpdebug.train): the whole loop as one sequence of steps,
forward nodes, backward nodes, then one update per param, then the next training step; and
what the node list, banner and inspector ask about the update phase.

The passes are stepped with the Session's own `run`, so breakpoints stop them as without
training; an update is `Trainer.update()`. Stepping back never crosses into an earlier
training step: its batch and its params are gone.
"""
from __future__ import annotations

from ..engine import DONE, Stop
from ..train import UPDATE, Trainer, Update


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
        """After the backward pass: updating the params, or every update applied."""
        return self.trainer.phase in (UPDATE, DONE)

    @property
    def step_number(self) -> int:
        """The training step in progress (1 for the first), or the one just finished."""
        return self.trainer.steps_done + (self.trainer.phase != DONE)

    @property
    def last_update(self) -> Update | None:
        """The update just applied (None until the update phase has applied one)."""
        updates = self.trainer.updates
        return updates[-1] if updates else None

    def update_of(self, i: int) -> Update | None:
        """Node i's update in this training step, if applied (a dict look-up per row drawn)."""
        updates = self.trainer.updates
        if updates is not self._updates or len(updates) != self._count:
            self._updates, self._count = updates, len(updates)
            self._by_index = {u.index: u for u in updates}
        return self._by_index.get(i)

    # ---- moving ---------------------------------------------------------------------------
    def step(self, count: int = 1) -> Stop | None:
        """Take `count` steps of the loop; the Stop of a breakpoint met in the passes, if any."""
        tr, s = self.trainer, self.session
        while count > 0:
            if tr.phase == DONE:
                tr.begin_step()
            if s.t < s.total:
                before = s.t
                stop = s.run(limit=min(count, s.total - s.t))
                count -= s.t - before
                if stop.reason == "breakpoint":
                    return stop
            else:
                tr.update()
                count -= 1
        return None

    def next(self) -> Stop | None:
        """`next` in the passes (a `def` call is one step); one update in the update phase."""
        if self.in_update:
            return self.step()
        return self.session.next()

    def finish_updates(self) -> None:
        """Apply the updates left in this training step."""
        while self.trainer.update() is not None:
            pass

    def back(self, count: int = 1) -> int:
        """Take back up to `count` steps of this training step; how many were taken back."""
        before = self.trainer.t
        self.trainer.back(count)
        return before - self.trainer.t
