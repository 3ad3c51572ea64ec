"""Training: forward, backward, then an update of every param by an optimizer, repeated.

The rooms: `trainer` (the Trainer: the loop, stepped like the passes), `plot` (the loss curve
as text).
"""
from __future__ import annotations

from .plot import plot_lines
from .trainer import UPDATE, Trainer, Update

__all__ = ["UPDATE", "Trainer", "Update", "plot_lines"]
