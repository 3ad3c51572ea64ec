"""Every param's update at once, for a network of small params: the optimizer's arithmetic on
the params laid end to end in one vector. A numpy call costs about a microsecond whatever its
size, so a small network's update phase is mostly calls: a few a step this way, instead of a
few per param. The numbers are the same as one update at a time (the same elementwise
arithmetic, in the same order), and so are the Updates the views show: each param's new value
and state are pieces of the vectors.

A step lays out only the gradients anew: the params and the optimizer's state are the pieces
the last step made (the optimizer never writes into an array it was given), so their vectors
are used as they are.
"""
from __future__ import annotations

from operator import is_

import numpy as np

SMALL = 1 << 16     # elements: past this, numpy's work outweighs its calls, and laying out costs
_MISALIGNED = object()


class EndToEnd:
    def __init__(self, params: list):
        """`params`: the params' values now (their shapes and kinds fix the layout)."""
        self.shapes = [v.shape if isinstance(v, np.ndarray) else () for v in params]
        stops = np.cumsum([max(1, int(np.prod(s))) for s in self.shapes])
        self.bounds = list(zip([0, *stops[:-1].tolist()], stops.tolist()))
        self.made: tuple | None = None      # (params, states) the last update made ...
        self.vectors: tuple = ()            # ... and the vectors they are pieces of (params, state)

    @staticmethod
    def fits(params: list) -> bool:
        return len(params) > 1 and sum(np.size(v) for v in params) <= SMALL

    def update(self, optimizer, params: list, grads: list, lr: float, states: list):
        """(new params, new states) as optimizer.update makes them one by one, or None when the
        params' states do not line up (one param updated more often than another)."""
        made = self.made
        if made is not None and all(map(is_, params, made[0])) and all(map(is_, states, made[1])):
            flat, state = self.vectors
        else:
            flat, state = self._flat(params), self._joined(states)
            if state is _MISALIGNED:
                return None
        new, state = optimizer.update(flat, self._flat(grads), lr, state)
        self.vectors = new, state
        if state is None:
            states = [None] * len(params)
        elif isinstance(state, tuple):
            states = list(zip(*[[p] * len(params) if isinstance(p, int) else self._pieces(p) for p in state]))
        else:
            states = self._pieces(state)
        self.made = self._pieces(new), states
        return self.made

    def _flat(self, values: list) -> np.ndarray:
        return np.concatenate([v.reshape(-1) if isinstance(v, np.ndarray) else [v] for v in values])

    def _pieces(self, flat: np.ndarray) -> list:
        """`flat` cut back into the params' shapes (views; a float for a scalar)."""
        return [flat[a:b] if len(s) == 1 else flat[a:b].reshape(s) if s else float(flat[a])
                for (a, b), s in zip(self.bounds, self.shapes)]

    def _joined(self, states: list):
        """One state for the vector: None, an array (momentum's v), or a tuple of a count equal
        for every param and arrays (Adam's t, m, v)."""
        if all(s is None for s in states):
            return None
        if any(s is None for s in states):
            return _MISALIGNED
        if not isinstance(states[0], tuple):
            return self._flat(states)
        joined = []
        for parts in zip(*states):
            if isinstance(parts[0], int):
                if any(p != parts[0] for p in parts):
                    return _MISALIGNED
                joined.append(parts[0])
            else:
                joined.append(self._flat(parts))
        return tuple(joined)
