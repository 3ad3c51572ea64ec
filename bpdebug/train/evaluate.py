"""Held-out rows: a seeded split of the data; the loss and a metric measured on the held-out rows;
the model's outputs for them (`--predict`).

The evaluator computes nothing itself: graph shapes are fixed when a program is built (a cost
divides by its row count), so the held-out rows get a Session of their own, built from the same
program, whose params are set to the trainer's before its forward pass runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..lang import BpError

@dataclass
class Evaluation:
    step: int                 # the training steps finished when it was measured
    loss: float
    metric: float | None


def split_rows(rows: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows), each sorted: round(share * rows) rows held out, drawn
    with the seed."""
    held = round(share * rows)
    if held < 1:
        raise BpError(f"val {share:g} of {rows} rows holds out no row; hold out a larger share")
    if held >= rows:
        raise BpError(f"val {share:g} of {rows} rows leaves no row to train on; hold out a smaller share")
    order = np.random.default_rng(seed).permutation(rows)
    return np.sort(order[held:]), np.sort(order[:held])


def accuracy(scores, labels) -> float:
    """The share of rows whose highest score is the label's class. Labels are one-hot rows (the
    class is their argmax) or class indices, one a row."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if labels.shape == scores.shape:
        classes = np.argmax(labels, axis=-1)
    else:
        classes = np.rint(labels.reshape(len(scores))).astype(np.intp)
    return float(np.mean(np.argmax(scores, axis=-1) == classes))


class Evaluator:
    def __init__(self, session, rows, metric: str | None, prediction: str | None, target: str | None):
        """`session`: the program built with the held-out rows (all rows for `--predict` without
        held-out rows); `rows`: their numbers in the data (None for a program without data);
        `prediction`, `target`: the names the loss's cost compares, if it is a cost of names."""
        g = session.graph
        self.session = session
        self.rows = rows
        self.metric = metric
        self.prediction = prediction
        self.target = target
        self._params = [(n.index, n.name) for n in g.nodes if n.kind == "param"]
        if metric is not None:
            self._check_metric()

    def _check_metric(self) -> None:
        if self.prediction is None or self.target is None:
            raise BpError(f"{self.metric} compares the model's output with its labels, and the loss "
                          "is not a cost of two names, such as `loss C = softmax_cross_entropy(out, Y)`")
        g = self.session.graph
        shape, labels = g.node(self.prediction).shape, g.node(self.target).shape
        if len(shape) != 2 or shape[1] < 2:
            raise BpError(f"{self.metric} needs one score per class in each row (shape (rows, classes)); "
                          f"the output '{self.prediction}' has shape {shape}")
        if labels not in (shape, shape[:1], (shape[0], 1)):
            raise BpError(f"{self.metric}: the labels '{self.target}' have shape {labels}; expected one-hot "
                          f"rows {shape} or one class index a row ({shape[0]},)")

    def _forward(self, params: dict) -> None:
        s = self.session
        for i, name in self._params:
            value = params[name]
            s.graph.nodes[i].value = value
            s.kernel.consts[i] = value
        s.restart()
        s.goto(s.n)                      # the forward pass only

    def evaluate(self, params: dict, step: int) -> Evaluation:
        self._forward(params)
        s = self.session
        loss = float(np.reshape(s.values[s.graph.output], -1)[0])
        metric = None
        if self.metric is not None:
            g = s.graph
            with np.errstate(all="ignore"):
                metric = accuracy(s.values[g.index(self.prediction)], s.values[g.index(self.target)])
        return Evaluation(step, loss, metric)

    def outputs(self, params: dict) -> tuple:
        """(prediction values, target values) for the rows, with these params."""
        if self.prediction is None:
            raise BpError("--predict shows the model's output, and the loss is not a cost of a named "
                          "output, such as `loss C = quadratic(out, Y)`")
        self._forward(params)
        s, g = self.session, self.session.graph
        target = s.values[g.index(self.target)] if self.target is not None else None
        return s.values[g.index(self.prediction)], target
