"""Traces: record a live Session to a file as it steps, and replay a file as a Session.

Recording. `record(session, path, values)` attaches a Recorder (bpdebug.trace_record), which
the engine tells of each chunk of steps it takes; it writes each step the first time it is
taken, and flushes every fraction of a second, so a run that is killed leaves a readable prefix.

Replaying. `open_trace(path)` rebuilds the graph from the program text in the header (parsing,
not computing) and returns a ReplaySession: the engine's Session with its moves and its value
and gradient lists answered from the recording. Each node's value is final once computed, and
a node's gradient changes only at the backward steps of its consumers, so the state at any
step is a look-up per node read, not a replay: moving to any step costs O(1).
"""
from __future__ import annotations

from bisect import bisect_left
from contextlib import contextmanager

from .engine import Session, Stop
from .kernel import seed_gradient
from .lang import BpError
from .trace_format import TraceFile, decode, is_trace
from .trace_record import Recorder

__all__ = ["Recorder", "ReplaySession", "is_trace", "open_trace", "record", "recording"]


# ---- recording ---------------------------------------------------------------------------------

def record(session: Session, path, set_values: dict | None = None) -> Recorder:
    """Start recording `session` (before its first step) to `path`."""
    return Recorder(session, path, set_values or {})


@contextmanager
def recording(session: Session, path, set_values: dict | None = None):
    """Record for the length of a `with` block; the file is complete when it ends."""
    recorder = record(session, path, set_values) if path else None
    try:
        yield recorder
    finally:
        if recorder is not None:
            recorder.close()


# ---- replaying ---------------------------------------------------------------------------------

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
        self.t = 0
        self.values = _RecordedValues(self)
        self.grads = _RecordedGrads(self)

    def _advance(self, steps: int) -> None:
        self.t = min(self.t + max(steps, 0), self.recorded)

    def back(self, count: int = 1):
        self.t -= min(count, self.t)
        return self.event()

    def goto(self, step: int) -> None:
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
            for k, x in enumerate(self.graph.nodes[c].inputs):
                if x == j:
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

def open_trace(path, graph=None, ops=None) -> ReplaySession:
    """A ReplaySession over the trace at `path`. `graph` saves rebuilding the program when the
    caller already has it (it must be the program the header holds); `ops`: the ops written in
    Python the program was recorded with."""
    trace = TraceFile(path)
    header = trace.header
    if graph is None:
        values = dict(header["set"])
        for name, step in header["data"].items():   # data comes from the trace, not the file
            if not 1 <= step <= min(trace.steps, header["nodes"]):
                raise trace.error(1, f"the header places data '{name}' at step {step}, which the "
                                     "trace does not hold")
            values[name] = _data_value(trace, step, name)
        try:
            graph = _rebuilt(header, values, ops).graph
        except BpError as err:
            raise BpError(f"the program recorded in {trace.path} does not build: {err.message}",
                          filename=trace.path) from None
    trace.check(graph)
    return ReplaySession(graph, trace)


def _rebuilt(header: dict, values: dict, ops):
    """The recorded program (or ONNX model) as a Session, its leaves given `values`."""
    from . import load

    model = header.get("model")
    if isinstance(model, dict):
        from .imports.onnx_model import ModelOptions, load_model
        loss, batch = model.get("loss", "sum"), model.get("batch")
        if not isinstance(loss, str) or not (batch is None or isinstance(batch, int)):
            raise BpError("the trace header has a bad 'model' entry")
        return load_model(header["file"] or "", values, ModelOptions(loss=loss, batch=batch))
    wanted = header.get("ops")
    if wanted and ops is None:
        names = ", ".join(map(str, wanted)) if isinstance(wanted, list) else "?"
        raise BpError(f"it calls ops written in Python ({names}): give their file with --ops FILE.py "
                      "(a trace never runs Python by itself)")
    return load(header["source"], header["file"] or "<trace>", values, ops)


def _data_value(trace: TraceFile, step: int, name: str):
    parts = trace.fields(step)
    if len(parts) != 1:
        raise trace.error(step + 1, f"expected the value of data '{name}' here")
    try:
        return decode(parts[0])
    except ValueError as err:
        raise trace.error(step + 1, f"corrupted event: {err}") from None

