"""Training: forward, backward, then `P = P - lr * dLoss/dP` for every param, repeated.

A Trainer wraps a Session and adds an update phase after its backward pass, one param update
a step, so a front end can step it like the passes. It evaluates nothing itself: the passes
are the Session's (and so the kernel's); an update is one subtraction.

Graph shapes are fixed when a program is built (the cost divides by the row count), so for
mini-batches of B rows the Trainer builds the program again with every data leaf holding B
rows, then swaps in the rows of each batch as the data leaves' values before each step.

Position within a training step: the Session's steps 0..2N (forward, backward), then
`applied` updates 0..P. `phase` is "forward", "backward", "update" or "done" (every update
applied, the loss recorded); the next step, `advance()` or `finish_step()` starts a new
training step with the next batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .graph.data import row_count
from .engine import DONE, Session, Stop
from .kernel import Kernel, zero_gradient
from .lang import BpError

UPDATE = "update"


@dataclass
class Update:
    """One param's update: new = old - lr * grad."""

    param: str
    index: int          # the param's node index
    position: int       # 0-based place in the update phase
    old: object
    grad: object
    lr: float
    new: object

    @property
    def formula(self) -> str:
        return f"{self.param} = {self.param} - {self.lr:g} * grad({self.param})"


class Trainer:
    def __init__(self, session: Session, lr: float, batch: int | None = None, seed: int = 0,
                 values: dict | None = None, all_gradients: bool = False):
        """`session` is a program with params; its data leaves hold the full data set.
        `batch`: rows per step (None: all of them); `seed` picks the batches; `values`: the
        leaf values the session was loaded with (`--set`), kept when building for a batch;
        `all_gradients`: also compute gradients no param needs (of data leaves, say)."""
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise BpError(f"the learning rate must be a positive number, got {lr}")
        graph = session.graph
        self.params = [n.index for n in graph.nodes if n.kind == "param"]
        if not self.params:
            raise BpError("nothing to train: the program has no param (declare weights with "
                          "`param W = randn(2, 3)` or `layer h = dense(X, 3)`)")
        self.data = {n.name: n.value for n in graph.nodes if n.kind == "data"}
        try:
            self.rows = row_count({name: np.shape(v) for name, v in self.data.items()})
        except ValueError as err:
            raise BpError(str(err)) from None
        if batch is not None:
            if not self.data:
                raise BpError("a batch picks rows of data leaves, and the program has none "
                              "(declare them with `data X = csv(\"file.csv\")`)")
            if batch < 1 or batch > self.rows:
                raise BpError(f"the batch size must be between 1 and the number of rows ({self.rows}), "
                              f"got {batch}")
            if batch < self.rows:
                session = _rebuilt(session, {name: v[:batch] for name, v in self.data.items()}, values)
        self.session = session
        self.batch = batch if batch is not None and batch < self.rows else None
        self.lr = float(lr)
        self.rng = np.random.default_rng(seed)
        self._order = np.empty(0, dtype=np.intp)  # rows left to draw in this epoch
        self._data_nodes = [session.graph.node(name) for name in self.data] if self.batch else []
        if not all_gradients:
            _only_param_gradients(session)
        self.losses: list[float] = []        # one per finished training step
        self.updates: list[Update] = []       # the updates applied in the current step
        self.begin_step()

    # ---- position -------------------------------------------------------------------------
    @property
    def steps_done(self) -> int:
        """Training steps finished: each one recorded its loss."""
        return len(self.losses)

    @property
    def applied(self) -> int:
        return len(self.updates)

    @property
    def phase(self) -> str:
        s = self.session
        if s.t < s.total:
            return s.pass_
        return UPDATE if self.applied < len(self.params) else DONE

    @property
    def t(self) -> int:
        """Steps taken in this training step: the Session's, then the updates."""
        return self.session.t + self.applied

    @property
    def total(self) -> int:
        return self.session.total + len(self.params)

    @property
    def loss_name(self) -> str:
        return self.session.graph.nodes[self.session.graph.output].name

    def loss(self) -> float | None:
        """The loss of the current step's forward pass (None before it reaches the output)."""
        v = self.session.values[self.session.graph.output]
        return None if v is None else float(np.reshape(v, -1)[0])

    # ---- moving ---------------------------------------------------------------------------
    def begin_step(self) -> None:
        """Start a training step: the next batch into the data leaves, the Session at step 0."""
        if self.batch:
            rows = self._next_rows()
            for node in self._data_nodes:
                node.value = self.data[node.name][rows]
                self.session.kernel.consts[node.index] = node.value
        self.updates = []
        self.session.restart()

    def _next_rows(self) -> np.ndarray:
        # Shuffled epochs: every row once before any row twice; a short remainder is skipped.
        if len(self._order) < self.batch:
            self._order = self.rng.permutation(self.rows)
        rows, self._order = self._order[:self.batch], self._order[self.batch:]
        return np.sort(rows)

    def upcoming_update(self) -> Update | None:
        """What the next update would do, without doing it (None outside the update phase)."""
        if self.phase != UPDATE:
            return None
        i = self.params[self.applied]
        node = self.session.graph.nodes[i]
        g = self.session.grads[i]
        if g is None:  # the loss does not depend on this param
            g = zero_gradient(node.shape)
        return Update(node.name, i, self.applied, node.value, g, self.lr, node.value - self.lr * g)

    def update(self) -> Update | None:
        """Apply the next param's update (after the backward pass); None if there is none."""
        u = self.upcoming_update()
        if u is None:
            return None
        self._set_param(u.index, u.new)
        self.updates.append(u)
        if self.applied == len(self.params):
            self.losses.append(self.loss())
        return u

    def _set_param(self, i: int, value) -> None:
        self.session.graph.nodes[i].value = value
        self.session.kernel.consts[i] = value

    def advance(self):
        """One step of the whole loop: a forward or backward node (a StepEvent), else the next
        update (an Update); from "done", the first forward step of the next training step."""
        if self.phase == DONE:
            self.begin_step()
        if self.session.t < self.session.total:
            return self.session.step()
        return self.update()

    def back(self, count: int = 1) -> None:
        """Take back `count` steps of this training step: updates first, then the passes."""
        for _ in range(count):
            if self.updates:
                if self.applied == len(self.params):
                    self.losses.pop()
                u = self.updates.pop()
                self._set_param(u.index, u.old)
            elif self.session.t:
                self.session.back()
            else:
                return

    def finish_step(self) -> Stop | None:
        """Run the rest of the training step (starting the next one from "done"): the passes,
        then every update. A breakpoint in the passes stops it early: that Stop is returned."""
        if self.phase == DONE:
            self.begin_step()
        s = self.session
        if s.t < s.total:
            stop = s.run()
            if stop.reason == "breakpoint":
                return stop
        while self.update() is not None:
            pass
        return None

    def run(self, steps: int) -> Stop | None:
        """Finish `steps` training steps (the current one counts); the Stop of a breakpoint."""
        for _ in range(steps):
            stop = self.finish_step()
            if stop is not None:
                return stop
        return None

    def param_values(self) -> dict:
        return {self.session.graph.nodes[i].name: self.session.graph.nodes[i].value for i in self.params}


def _rebuilt(session: Session, data: dict, values: dict | None) -> Session:
    """The same program with these data leaf values (the shapes of a batch)."""
    import bpdebug

    graph = session.graph
    values = {**(values or {}), **data}
    if graph.origin is not None:   # the way it was loaded: a program with its --ops, an ONNX model
        return graph.origin.load(values)
    return bpdebug.load(graph.source, graph.filename, values)


def _only_param_gradients(session: Session) -> None:
    """Backward steps compute gradients only for nodes that depend on a param: training needs
    no gradient of its data, and the one of an input batch costs as much as X @ W."""
    nodes = session.graph.nodes
    wanted = [False] * len(nodes)
    for n in nodes:  # topological order: inputs come first
        wanted[n.index] = n.kind == "param" or any(wanted[j] for j in n.inputs)
    session.kernel = Kernel(session.graph, wanted)  # the Trainer restarts the session next


# ---- the loss curve as text ---------------------------------------------------------------
# Braille characters hold 2x4 dots: bit for the dot at (row, column) of a cell.
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def plot_lines(values, width: int = 60, height: int = 8) -> list[str]:
    """A line plot of a series (a loss curve) in braille, as plain lines for any front end:
    the y axis labelled with the largest and smallest value, a log scale (said in the last
    line) when the values span more than two decades. Non-finite values leave gaps."""
    from .graph import format_number

    ys = [float(v) for v in values]
    finite = [y for y in ys if math.isfinite(y)]
    if not finite:
        return ["(nothing to plot)"]
    lo, hi = min(finite), max(finite)
    log = lo > 0 and hi > 100 * lo
    scale = math.log10 if log else float
    bottom, span = scale(lo), (scale(hi) - scale(lo)) or 1.0
    cols, rows = min(2 * width, len(ys)), 4 * height
    grid = [[0] * ((cols + 1) // 2) for _ in range(height)]
    previous = None
    for x in range(cols):
        bucket = [y for y in ys[x * len(ys) // cols:(x + 1) * len(ys) // cols] if math.isfinite(y)]
        if not bucket:
            previous = None
            continue
        levels = [round((scale(y) - bottom) / span * (rows - 1)) for y in bucket]
        last = levels[-1]
        if previous is not None:  # join to where the previous column ended
            levels.append(previous)
        for level in range(min(levels), max(levels) + 1):
            r = rows - 1 - level
            grid[r // 4][x // 2] |= _DOTS[r % 4][x % 2]
        previous = last
    labels = [format_number(hi)] + [""] * (height - 2) + [format_number(lo)] if height > 1 else [format_number(hi)]
    pad = max(len(s) for s in labels)
    lines = [f"{s:>{pad}} ┤" + "".join(chr(0x2800 + bits) for bits in row) for s, row in zip(labels, grid)]
    last = str(len(ys)) if len(ys) > 1 else ""
    lines.append(" " * pad + " └" + "─" * len(grid[0]))
    lines.append(" " * (pad + 2) + "1" + last.rjust(max(len(grid[0]) - 1, len(last) + 1))
                 + ("   (log scale)" if log else ""))
    return lines
