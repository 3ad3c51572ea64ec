"""Training: forward, backward, then an update of every param by an optimizer, repeated.

    trainer.py     the Trainer: the loop, stepped like the passes (one update a step)
    optimizers.py  sgd, momentum, adam by torch.optim's rules, each able to spell its update out
    schedules.py   the learning rate of each step (constant, linear, cosine, step:EVERY:FACTOR)
    settings.py    the settings, checked once, from the defaults, the program and the flags
    program.py     what a program says about its training (`train lr=2`, what its loss compares)
    evaluate.py    held-out rows: the split, their loss and accuracy, the model's outputs
    divergence.py  when training goes wrong: divergence (and where nan was born), saturation
    weights.py     params saved to and loaded from .npz files
    commands.py    the command language over a Trainer (train N, lr, restart), for script and the TUI
    plot.py        the loss curve as text

Nothing here computes a value or a gradient: the passes are the Session's.
"""
from __future__ import annotations

from .plot import plot_lines
from .trainer import UPDATE, Trainer, Update

__all__ = ["UPDATE", "Trainer", "Update", "plot_lines"]
