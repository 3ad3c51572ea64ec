"""Recording: the Recorder the engine tells of the steps it takes.

The engine steps in chunks of `recorder.chunk` steps while a recorder listens, and the kernel
appends to `recorder.sent` the contributions each backward step sent (flat). The recorder writes each
step the first time it is taken; steps taken again after `back` are the same steps and are not
written twice. It reads the values and the gradients from the session (the engine's undo list
holds each gradient as a step found it, so the gradient it made is that plus the contribution);
the only thing computed is the local derivatives, each node's VJP with upstream 1, exactly as
the live session shows them.

Steps are held back, and written and flushed when 4096 are held, when 0.05 s have passed since
the last flush (the clock is read once a chunk, not once a step), and whenever the session
stops (the end of a command: `step`, `continue`...), goes back or restarts (the engine calls
`settle`). The engine's chunks are sized to take about 0.02 s, so a run that is killed leaves
a readable prefix: every step before its last stop, and every step taken more than about
0.1 s before it was killed.

A step costs the engine about 1 µs on a scalar graph, so the recorder cannot spend much more
per step in Python: a chunk of a scalar graph is encoded and laid out in lines with numpy
(values, base64, which step wrote which gradient, the bytes of the lines), from flat arrays of
the graph (bpdebug.trace.layout). Tensor graphs take a plain per-step path; their numpy work
dwarfs the formatting anyway.
"""
from __future__ import annotations

import binascii
from contextlib import contextmanager
from itertools import chain, repeat
from operator import is_not, itemgetter
from pathlib import Path
from time import perf_counter

import numpy as np

from ..lang import BpError
from .format import NONE, SCALAR_WIDTH, encode, header_line
from .layout import Layout, ScalarLocals


def record(session, path, set_values: dict | None = None) -> Recorder:
    """Start recording `session` (before its first step) to `path`."""
    return Recorder(session, path, set_values or {})


@contextmanager
def recording(session, path, set_values: dict | None = None):
    """Record for the length of a `with` block; the file is complete when it ends."""
    recorder = record(session, path, set_values) if path else None
    try:
        yield recorder
    finally:
        if recorder is not None:
            recorder.close()


class Recorder:
    """Writes a trace of a live session. A `set` of a leaf starts the file again (header
    included): every step after it changes.

    A write that fails (a full disk) stops the recording, and the run goes on; closing the
    recorder raises the error, once."""

    HELD_MOST = 4096        # steps held back before they are written
    FLUSH_SECONDS = 0.05    # the most time a step waits to be flushed, give or take a chunk
    CHUNK_SECONDS = 0.02    # the engine's chunks are sized to take about this long

    def __init__(self, session, path, set_values: dict):
        from .. import __version__

        if session.t:
            raise ValueError("a recorder must be attached before the first step")
        graph, kernel = session.graph, session.kernel
        if graph.filename and Path(graph.filename).exists() and Path(path).resolve() == Path(graph.filename).resolve():
            raise BpError(f"the trace {path} would overwrite the program; give another file name")
        self.session, self.graph, self.version, self.path = session, graph, __version__, str(path)
        self.set_values = dict(set_values)
        self.layout = Layout.of(graph, kernel)
        self.scalar = self.layout.scalar
        if self.scalar:
            self.values = np.empty(len(graph.nodes))   # the forward values, as floats
            self.local_derivatives = ScalarLocals(kernel, self.layout)
        self.sent: list = []      # filled by the kernel: the contributions of the held steps
        self.count = 0            # steps written
        self.flushed = 0          # steps flushed: in the file whatever happens to this process
        self.held = 0             # steps taken: count..held-1 are held back
        self._consts = list(kernel.consts)   # the leaf values recorded, to notice a `set`
        # Steps the engine takes between two calls of `took`: a step may cost a microsecond or
        # a second, so from 1, doubled while chunks are quick, cut when one is slow.
        self.chunk = 1
        self._last: float | None = None       # when `took` was last called, within one move
        self._flush_time = perf_counter()     # when the last flush was
        self.failure: BpError | None = None
        try:
            self.file = open(path, "wb")
        except OSError as err:
            raise BpError(f"cannot write the trace {path}: {err.strerror or err}") from None
        with self._writing():
            self._write_header()
        if self.failure:          # a full disk says so before the first step
            raise self.failure
        session.recorder = self

    def _write_header(self) -> None:
        header = header_line(self.graph, self.set_values, self.layout.data_steps, self.version)
        self.file.write(header.encode("utf-8"))
        self._flush()

    def close(self) -> None:
        if not self.file.closed:
            with self._writing():
                self._write_held(self.session)
                self.file.close()
        if self.session.recorder is self:
            self.session.recorder = None
        if self.failure:
            failure, self.failure = self.failure, None
            raise failure

    @contextmanager
    def _writing(self):
        """Turn a failed write into `failure` and stop recording: the engine calls the recorder
        from inside its moves, which must not be cut short."""
        try:
            yield
        except OSError as err:
            kept = f"; the recording stopped after step {self.flushed}" if self.flushed else ""
            self.failure = BpError(f"cannot write the trace {self.path}: {err.strerror or err}{kept}")
            if self.session.recorder is self:
                self.session.recorder = None
            self.sent.clear()
            try:
                self.file.close()
            except OSError:
                pass              # what it held back could not be written either

    # ---- told by the engine ------------------------------------------------------------------
    def took(self, session, start: int, stop: int) -> None:
        """Steps start..stop-1 (one pass, at most `chunk` of them) were just taken."""
        now = perf_counter()
        if self._last is not None:
            self._pace(stop - start, now - self._last)
        self._last = now
        if self.failure or stop <= self.count:   # failed, or taken again after a `back`
            self.sent.clear()
            return
        with self._writing():
            if start < self.count:                 # partly taken again: write the new ones now
                text = self._text(session, start, stop)
                self._write(b"".join(bytes(text).splitlines(keepends=True)[self.count - start:]), stop)
            else:
                if self.held > self.count and (self.count < session.n) != (start < session.n):
                    self._write(self._text(session, self.count, self.held), self.held)   # a pass ended
                self.held = stop
            if self.held - self.count >= self.HELD_MOST or now - self._flush_time >= self.FLUSH_SECONDS:
                self._write_held(session)

    def _pace(self, steps: int, seconds: float) -> None:
        """Size the next chunks from the last one: a killed run loses what was not flushed."""
        if seconds > self.CHUNK_SECONDS:
            self.chunk = max(1, int(steps * self.CHUNK_SECONDS / seconds))
        elif steps >= self.chunk and seconds < self.CHUNK_SECONDS / 4:
            self.chunk = min(self.HELD_MOST, 2 * self.chunk)

    def settle(self, session) -> None:
        """The session stopped, goes back or restarts: write the steps held back, while the
        session still holds what they did."""
        self._last = None                      # the time until the next move is no step's
        if not self.failure:
            with self._writing():
                self._write_held(session)

    def _write_held(self, session) -> None:
        if self.held > self.count:
            self._write(self._text(session, self.count, self.held), self.held)
            self._flush()

    def _flush(self) -> None:
        self.file.flush()
        self.flushed, self._flush_time = self.count, perf_counter()

    def restarted(self, session) -> None:
        self.sent.clear()
        self.held = self.count = min(self.count, self.held)
        if self.failure:
            return
        consts = session.kernel.consts
        changed = [i for i, (now, then) in enumerate(zip(consts, self._consts)) if now is not then]
        if not changed:
            return
        for i in changed:
            self.set_values[self.graph.nodes[i].name] = consts[i]
        self._consts = list(consts)
        with self._writing():
            self.file.seek(0)
            self.file.truncate()
            self._write_header()
        self.held = self.count = 0

    def _write(self, text, stop: int) -> None:
        self.file.write(text)
        self.count = self.held = stop

    def _text(self, session, start: int, stop: int):
        if start < session.n:
            return self._forward(session.values, start, stop)
        text = self._backward(session, start, stop, self.sent)
        self.sent.clear()
        return text

    # ---- forward -----------------------------------------------------------------------------
    def _forward(self, vals: list, start: int, stop: int) -> bytes:
        if not self.scalar:
            return "".join([f"{encode(v)}\n" for v in vals[start:stop]]).encode("ascii")
        numbers = np.array(vals[start:stop], dtype=float)
        self.values[start:stop] = numbers
        return _lines(numbers, np.zeros(len(numbers), bool), np.ones(stop - start, np.int64))

    # ---- backward ----------------------------------------------------------------------------
    def _backward(self, session, start: int, stop: int, sent: list) -> bytes:
        """B lines for steps start..stop-1, which took nodes hi-1 down to lo. A line has one
        field for the upstream gradient, then one per input (a slot) for the local derivatives,
        the contributions and the accumulated gradients: contributions where the step sent them
        (the node had a gradient and an input needing one), gradients where it wrote them (the
        inputs needing one), each as that write left it (x*x writes x twice: 3, then 6)."""
        grads, undo, layout = session.grads, session._undo, self.layout
        hi, lo = session.total - start, session.total - stop
        m = stop - start
        upstream = grads[lo:hi][::-1]
        if self.scalar:
            up = np.array(upstream, dtype=float)          # None becomes nan: tell them apart
            has_grad = ~np.isnan(up)
            for line in np.flatnonzero(~has_grad).tolist():
                has_grad[line] = upstream[line] is not None
        else:
            has_grad = np.fromiter(map(is_not, upstream, repeat(None)), bool, m)
        arity = layout.arity[lo:hi][::-1]
        slot_line = np.repeat(np.arange(m), arity)
        first_slot = np.cumsum(arity) - arity
        slot_k = np.arange(len(slot_line)) - first_slot[slot_line]
        slot = layout.first[hi - 1 - slot_line] + slot_k          # the graph's slot numbers
        sent_slot = np.flatnonzero((has_grad & layout.has_targets[hi - 1 - np.arange(m)])[slot_line])
        write_slot = sent_slot[layout.needs_grad[layout.inputs[slot[sent_slot]]]]
        applied = np.searchsorted(sent_slot, write_slot)       # the contributions that counted
        befores = undo[len(undo) - len(write_slot):] if len(write_slot) else []

        width = 1 + 3 * arity
        line_at = np.cumsum(width) - width
        at_local = line_at[slot_line] + 1 + slot_k
        at_contribution = (at_local + arity[slot_line])[sent_slot]
        at_accumulated = (at_local + 2 * arity[slot_line])[write_slot]

        if self.scalar:
            numbers = np.zeros(int(width.sum()))
            missing = np.ones(len(numbers), bool)
            numbers[line_at], missing[line_at] = up, ~has_grad
            numbers[at_local] = self.local_derivatives(self.values, session.values, lo, hi, first_slot)
            missing[at_local] = False
            contributions = np.array(sent, dtype=float)
            applied_values = contributions[applied]
            found, first = _befores(befores, layout.first_write[slot[write_slot]])
            after = np.where(first, applied_values, found + applied_values)   # as the kernel adds
            numbers[at_contribution] = contributions
            numbers[at_accumulated] = after       # x*x writes x twice: 3, then 6
            missing[at_contribution] = missing[at_accumulated] = False
            return _lines(numbers, missing, width)

        fields = [encode(None)] * int(width.sum())
        for at, g in zip(line_at.tolist(), upstream):
            fields[at] = encode(g)
        local = chain.from_iterable(session.local_derivatives(i) for i in range(hi - 1, lo - 1, -1))
        for at, x in zip(at_local.tolist(), local):
            fields[at] = encode(x)
        for at, c in zip(at_contribution.tolist(), sent):
            fields[at] = encode(c)
        after = [c if b is None else b + c for b, c in zip(befores, (sent[c] for c in applied.tolist()))]
        for at, a in zip(at_accumulated.tolist(), after):
            fields[at] = encode(a)
        return "".join([f"{' '.join(fields[a:b])}\n" for a, b in
                        zip(line_at.tolist(), (line_at + width).tolist())]).encode("ascii")


def _befores(befores: list, first: np.ndarray) -> tuple:
    """(the gradients the writes found as floats, where there was none). `first` says where
    none is expected, at the first write to each node, which holds when all its consumers got
    a gradient; a None found elsewhere means one did not, and is marked too."""
    found = np.zeros(len(befores))
    rest = np.flatnonzero(~first)
    if len(rest):
        values = list(itemgetter(*rest.tolist())(befores)) if len(rest) > 1 else [befores[rest[0]]]
        if None in values:
            first = first.copy()
            first[rest] = [b is None for b in values]
            values = [0.0 if b is None else b for b in values]
        found[rest] = values
    return found, first


def _lines(numbers: np.ndarray, missing: np.ndarray, width: np.ndarray) -> bytearray:
    """Lines of `width` values each, as `encode` writes scalars, separated by spaces. Base64
    of 9-byte records (8 value bytes and a zero) is 12 characters a record, the last of them
    always `A`: one call encodes a whole chunk, and that last character becomes the space or
    the end of the line."""
    records = np.empty((len(numbers), 9), np.uint8)
    records[:, :8] = np.ascontiguousarray(numbers, dtype="<f8").view(np.uint8).reshape(-1, 8)
    records[:, 8] = 0
    text = bytearray(binascii.b2a_base64(records, newline=False))
    cells = np.frombuffer(text, np.uint8).reshape(-1, 12)
    cells[:, 11] = ord(" ")
    cells[missing, :SCALAR_WIDTH] = ord(NONE)
    cells[np.cumsum(width) - 1, 11] = ord("\n")
    return text
