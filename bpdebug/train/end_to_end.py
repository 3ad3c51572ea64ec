"""Every param's update at once, for a network of small params: the optimizer's arithmetic on
the params laid end to end in one vector. A numpy call costs about a microsecond whatever its
size, so a small network's update phase is mostly calls: a few a step this way, instead of a
few per param. The numbers are the same as one update at a time (the same elementwise
arithmetic, in the same order); each param's new value is a piece of the new vector.

A step lays out only the gradients anew: the params are the pieces the last step made, and the
optimizer's state is the vector the last step made (the optimizer never writes into an array it
was given), so both are used as they are. Each param's own state (momentum's v, Adam's t, m, v)
is cut from the vector only when someone asks for it (`states`).
"""
from __future__ import annotations

from operator import is_

import numpy as np

SMALL = 1 << 16     # elements: past this, numpy's work outweighs its calls, and laying out costs


class EndToEnd:
    def __init__(self, params: list):
        """`params`: the params' values now (their shapes and kinds fix the layout)."""
        self.shapes = [v.shape if isinstance(v, np.ndarray) else () for v in params]
        stops = np.cumsum([max(1, int(np.prod(s))) for s in self.shapes])
        self.bounds = list(zip([0, *stops[:-1].tolist()], stops.tolist()))
        self.made: list | None = None       # the params the last update made ...
        self.vectors: tuple = ()            # ... the vector they are pieces of, and the state's

    @staticmethod
    def fits(params: list) -> bool:
        return len(params) > 1 and sum(np.size(v) for v in params) <= SMALL

    def update(self, optimizer, params: list, grads: list, lr: float, states: list | None):
        """(new params, the new state's vector) as optimizer.update makes them one by one, or
        None when the params' states do not line up (one param updated more often than another).
        `states`: each param's state, or None for the state the last update made."""
        if self.made is not None and all(map(is_, params, self.made)):
            flat = self.vectors[0]
        else:
            flat = self._flat(params)
        state = self.vectors[1] if states is None else _joined(states, self._flat)
        if state is _MISALIGNED:
            return None
        new, state = optimizer.update(flat, self._flat(grads), lr, state)
        self.vectors = new, state
        self.made = self._pieces(new)
        return self.made, state

    def states(self, state) -> list:
        """Each param's state, cut from a state vector (None, an array, or a tuple of counts and
        arrays)."""
        if state is None:
            return [None] * len(self.shapes)
        if isinstance(state, tuple):
            return list(zip(*[[p] * len(self.shapes) if isinstance(p, int) else self._pieces(p) for p in state]))
        return self._pieces(state)

    def _flat(self, values: list) -> np.ndarray:
        # axis=None: each value flattened in C order (a float as one element) by one numpy call
        return np.concatenate(values, axis=None)

    def _pieces(self, flat: np.ndarray) -> list:
        """`flat` cut back into the params' shapes (views; a float for a scalar)."""
        return [flat[a:b] if len(s) == 1 else flat[a:b].reshape(s) if s else float(flat[a])
                for (a, b), s in zip(self.bounds, self.shapes)]


_MISALIGNED = object()


def _joined(states: list, flat):
    """One state for the vector: None, an array (momentum's v), or a tuple of a count equal
    for every param and arrays (Adam's t, m, v)."""
    if all(s is None for s in states):
        return None
    if any(s is None for s in states):
        return _MISALIGNED
    if not isinstance(states[0], tuple):
        return flat(states)
    joined = []
    for parts in zip(*states):
        if isinstance(parts[0], int):
            if any(p != parts[0] for p in parts):
                return _MISALIGNED
            joined.append(parts[0])
        else:
            joined.append(flat(parts))
    return tuple(joined)
