"""Replaying: a trace file as a Session.

`open_trace(path)` rebuilds the graph from the program text in the header (parsing, not
computing) and returns a ReplaySession: the engine's Session with its moves and its value and
gradient lists answered from the recording. Each node's value is final once computed, and a
node's gradient changes only at the backward steps of its consumers, so the state at any step
is a look-up per node read, not a replay: moving to any step costs O(1).
"""
from __future__ import annotations

from bisect import bisect_left

import numpy as np

from ..engine import Session, Stop
from ..kernel import seed_gradient
from ..lang import BpError
from .format import TraceFile, decode, printable


class ReplaySession(Session):
    """A Session over a recording: the same stepping, breakpoints, watches and commands, with
    every value, gradient, local derivative and contribution read from the trace."""

    def __init__(self, graph, trace: TraceFile):
        self.trace = trace
        self.recorded = trace.steps           # steps the file holds (all of them unless cut off)
        self._needs_grad = [node.needs_grad for node in graph.nodes]
        self._seed = seed_gradient(graph.nodes[graph.output].shape)
        super().__init__(graph)

    # ---- position ------------------------------------------------------------------------
    def restart(self) -> None:
        self._moved()
        self.t = 0
        self.values = _RecordedValues(self)
        self.grads = _RecordedGrads(self)

    def _advance(self, steps: int) -> None:
        self.t = min(self.t + max(steps, 0), self.recorded)

    def back(self, count: int = 1):
        self._moved()
        self.t -= min(count, self.t)
        return self.event()

    def goto(self, step: int) -> None:
        self._moved()
        self.t = max(0, min(step, self.recorded))

    def run(self, limit: int | None = None) -> Stop:
        room = self.recorded - self.t
        stop = super().run(room if limit is None else min(limit, room))
        if self.t >= self.recorded < self.total and stop.reason != "breakpoint":
            stop.reason = "end"
            stop.detail = f"the recording ends here, at step {self.recorded} of {self.total}"
        return stop

    def set_leaf(self, name: str, value) -> None:
        raise BpError("this is a recording: its values cannot be changed",
                      hint="edit the program (or use --set) and record it again")

    # ---- what the steps did ----------------------------------------------------------------
    def _backward_event(self, i: int):
        """Node i's backward event, if the recording has it."""
        step = self.trace.backward_step(i)
        return self.trace.event(step) if step <= self.recorded else None

    def contributions(self, i: int) -> tuple:
        ev = self._backward_event(i) if self.t >= self.trace.backward_step(i) else None
        return ev.contribution if ev is not None else tuple(None for _ in self.graph.nodes[i].inputs)

    def local_derivatives(self, i: int) -> list:
        ev = self._backward_event(i) if self.values[i] is not None else None
        return list(ev.local) if ev is not None else [None] * len(self.graph.nodes[i].inputs)

    def accumulated(self, i: int) -> list:
        ev = self._backward_event(i) if self.t >= self.trace.backward_step(i) else None
        return list(ev.accumulated) if ev is not None else [None] * len(self.graph.nodes[i].inputs)

    # ---- state at step t, node by node -------------------------------------------------------
    def value_at(self, i: int):
        return self.trace.event(i + 1).value if i < self.t else None

    def grad_at(self, j: int):
        """dL/d(node j) after t steps: seeded, else from the latest step that wrote it."""
        seed = self._seed if j == self.graph.output else None
        if self.t <= self.n or not self._needs_grad[j]:
            return seed
        lo = self.total - self.t          # the backward steps taken cover nodes >= lo
        if j >= lo:
            return self._backward_event(j).value
        consumers = self.graph.consumers[j]
        for c in consumers[bisect_left(consumers, lo):]:   # the latest writer is the lowest
            ev = self._backward_event(c)
            if ev.value is None:                             # c got no gradient: it sent none
                continue
            inputs = self.graph.nodes[c].inputs
            for k in range(len(inputs) - 1, -1, -1):   # x*x writes x twice: the second is the sum
                if inputs[k] == j:
                    return ev.accumulated[k]
        return seed


class _RecordedValues:
    """session.values for a replay: a read-only list computed per index."""

    def __init__(self, session: ReplaySession):
        self.session = session

    def __len__(self) -> int:
        return self.session.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return self._get(i)

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    def _get(self, i: int):
        return self.session.value_at(i)


class _RecordedGrads(_RecordedValues):
    def _get(self, i: int):
        return self.session.grad_at(i)


# ---- opening -----------------------------------------------------------------------------------

def open_trace(path, graph=None, ops=None, model: str | None = None) -> ReplaySession:
    """A ReplaySession over the trace at `path`. `graph` saves rebuilding the program when the
    caller already has it (it must be the program the header holds). `ops` (ops written in
    Python) and `model` (the path of an ONNX model) are what the user names again when the trace
    was recorded with them: a replay never runs Python, nor opens a path a trace names."""
    trace = TraceFile(path)
    if graph is None:
        graph = _recorded_program(trace, ops, model)
    trace.check(graph)
    return ReplaySession(graph, trace)


def _recorded_program(trace: TraceFile, ops=None, model: str | None = None):
    """The graph of the program in the header, built without reading any file: a trace may
    come from anyone, and its program may name any path. Data leaves take the values their
    forward lines hold; a data leaf the header gives no line is an error."""
    from ..graph.data import files_refused

    header = trace.header
    values = dict(header["set"])
    for name, step in header["data"].items():
        if trace.index(step) < step:
            raise trace.error(1, f"the header places data '{name}' at step {step}, "
                                 f"which the trace does not hold (it has {trace.steps} steps)")
        values[name] = _data_value(trace, step, name)
    try:
        with files_refused("a replay reads no files, and this trace holds no value for it"):
            graph = _built(header, values, ops, model).graph
    except BpError as err:
        where = f" (line {err.line} of the program)" if err.line else ""
        raise trace.error(1, f"the program this trace holds does not build{where}: {err.message}") from None
    output = graph.nodes[graph.output].name
    if output != header["output"]:
        raise trace.error(1, f"the header names the output '{printable(header['output'])}'; "
                             f"its program's output is '{output}'")
    for name, step in header["data"].items():
        node = graph.nodes[step - 1] if step <= len(graph.nodes) else None
        if node is None or node.name != name or node.kind != "data":
            raise trace.error(1, f"the header places data '{name}' at step {step}, "
                                 "which is not that data leaf's forward step")
    return graph


def _built(header: dict, values: dict, ops, model: str | None):
    """The recorded program as a Session, with the ops written in Python or the ONNX model it
    was recorded with, as the user names them again."""
    from .. import load

    recorded = header.get("model")
    if recorded is not None:
        loss, batch = (recorded.get("loss"), recorded.get("batch")) if isinstance(recorded, dict) else (None, None)
        if not isinstance(loss, str) or not (batch is None or type(batch) is int):
            raise BpError("the header has a bad 'model' entry")
        if model is None:
            raise BpError(f"it was recorded from the ONNX model {printable(str(header['file']))}: give it with "
                          "--model FILE.onnx (a replay opens no path a trace names)")
        kind, _, path = loss.partition(":")
        if path and ("targets" if kind == "mse" else "labels") not in values:
            raise BpError("the header names a loss file, and the trace holds no value for it")
        from ..imports.onnx_model import ModelOptions, load_model
        return load_model(model, values, ModelOptions(loss=loss, batch=batch))
    wanted = header.get("ops")
    if wanted and ops is None:
        names = ", ".join(printable(str(w)) for w in wanted) if isinstance(wanted, list) else "?"
        raise BpError(f"it calls ops written in Python ({names}): give their file with --ops FILE.py "
                      "(a trace never runs Python by itself)")
    return load(header["source"], header["file"] or "<trace>", values, ops)


def _data_value(trace: TraceFile, step: int, name: str):
    parts = trace.fields(step)
    try:
        value = decode(parts[0]) if len(parts) == 1 else None
    except ValueError as err:
        raise trace.error(step + 1, f"corrupted event: {err}") from None
    if not isinstance(value, np.ndarray) or value.ndim < 1:
        raise trace.error(step + 1, f"expected the value of data '{name}' here "
                                    "(rows of examples)")
    return value
