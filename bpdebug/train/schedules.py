"""Learning-rate schedules: the rate of training step k (1 for the first) of a run of `steps`,
computed as torch.optim.lr_scheduler computes it at the start of each step:

- constant: lr at every step;
- linear: lr at step 1, falling in a straight line toward lr_end, which step steps + 1 would get
  (torch's LinearLR);
- cosine: from lr toward lr_end along half a cosine, on the same clock (CosineAnnealingLR);
- step:EVERY:FACTOR: lr times FACTOR after every EVERY steps (StepLR).

After `steps` steps (training on in the TUI) linear and cosine stay at lr_end.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..numbers import MAX_COUNT, real, whole

SCHEDULES = ("constant", "linear", "cosine", "step:EVERY:FACTOR")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    every: int = 1
    factor: float = 1.0
    lr_end: float = 0.0
    steps: int | None = None

    def rate(self, lr: float, k: int) -> float:
        if self.kind == "constant":
            return lr
        if self.kind == "step":
            try:
                return lr * self.factor ** ((k - 1) // self.every)
            except OverflowError:           # a factor above 1 for long enough
                return math.inf
        progress = min(1.0, (k - 1) / self.steps)
        if self.kind == "linear":
            return lr + (self.lr_end - lr) * progress
        return self.lr_end + (lr - self.lr_end) * (1 + math.cos(math.pi * progress)) / 2

    def describe(self) -> str:
        if self.kind == "step":
            return f"step (x{self.factor:g} every {self.every} steps)"
        if self.kind == "constant":
            return "constant"
        return f"{self.kind} to {self.lr_end:g} over {self.steps} steps"


def parse_schedule(text: str, lr_end: float = 0.0, steps: int | None = None) -> Schedule:
    """A Schedule from its name; ValueError with the reason for anything else."""
    if text in ("constant", "linear", "cosine"):
        if text != "constant" and steps is None:
            raise ValueError(f"a {text} schedule runs over a number of steps: give the steps too")
        return Schedule(text, lr_end=lr_end, steps=steps)
    parts = text.split(":")
    if parts[0] == "step":
        if len(parts) != 3:
            raise ValueError(f"expected step:EVERY:FACTOR, such as step:100:0.5, got '{text}'")
        every, factor = parts[1], parts[2]
        try:
            every = whole(every, 1, MAX_COUNT)
        except ValueError as err:
            raise ValueError(f"EVERY in step:EVERY:FACTOR {err}") from None
        try:
            f = real(factor, 0, lo_open=True)
        except ValueError as err:
            raise ValueError(f"FACTOR in step:EVERY:FACTOR {err}") from None
        return Schedule("step", every, f)
    raise ValueError(f"unknown schedule '{text}'; the schedules are {', '.join(SCHEDULES)}")
