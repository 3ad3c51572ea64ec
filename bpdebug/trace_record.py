"""Recording: the Recorder the engine tells of the steps it takes.

The engine steps in chunks of `Recorder.chunk` while a recorder listens, and the kernel appends
to `recorder.sent` the contributions each backward step sent (flat). The recorder writes each
step the first time it is taken; steps taken again after `back` are the same steps and are not
written twice. It reads the values and the gradients from the session (the engine's undo list
holds each gradient as a step found it, so the gradient it made is that plus the contribution);
the only thing computed is the local derivatives, each node's VJP with upstream 1, exactly as
the live session shows them.

Steps are held back and written a chunk at a time, and whenever the session stops (the end of
a command: `step`, `continue`...), goes back or restarts (the engine calls `settle`); each write
is flushed. A run that is killed leaves a readable prefix: every step before its last chunk,
or before its last stop.

A step costs the engine about 1 µs on a scalar graph, so the recorder cannot spend much more
per step in Python: a chunk of a scalar graph is encoded and laid out in lines with numpy
(values, base64, which step wrote which gradient, the bytes of the lines). Tensor graphs take
a plain per-step path; their numpy work dwarfs the formatting anyway.
"""
from __future__ import annotations

import binascii
import weakref
from itertools import chain, repeat
from operator import attrgetter, is_not, itemgetter
from pathlib import Path

import numpy as np

from .lang import BpError
from .trace_format import NONE, SCALAR_WIDTH, encode, header_line


class Recorder:
    """Writes a trace of a live session. A `set` of a leaf starts the file again (header
    included): every step after it changes."""

    chunk = 4096

    def __init__(self, session, path, set_values: dict):
        from . import __version__

        if session.t:
            raise ValueError("a recorder must be attached before the first step")
        graph, kernel = session.graph, session.kernel
        if graph.filename and Path(graph.filename).exists() and Path(path).resolve() == Path(graph.filename).resolve():
            raise BpError(f"the trace {path} would overwrite the program; give another file name")
        self.session, self.graph, self.version = session, graph, __version__
        self.set_values = dict(set_values)
        self.layout = _Layout.of(graph, kernel)
        self.scalar = self.layout.scalar
        if self.scalar:
            self.values = np.empty(len(graph.nodes))   # the forward values, as floats
            self.local_derivatives = _ScalarLocals(kernel, self.layout)
        self.sent: list = []      # filled by the kernel: the contributions of the held steps
        self.count = 0            # steps written
        self.held = 0             # steps taken: count..held-1 are held back
        self._consts = list(kernel.consts)   # the leaf values recorded, to notice a `set`
        try:
            self.file = open(path, "wb")
        except OSError as err:
            raise BpError(f"cannot write the trace {path}: {err.strerror or err}") from None
        self._write_header()
        session.recorder = self

    def _write_header(self) -> None:
        header = header_line(self.graph, self.set_values, self.layout.data_steps, self.version)
        self.file.write(header.encode("utf-8"))
        self.file.flush()

    def close(self) -> None:
        self.settle(self.session)
        if self.session.recorder is self:
            self.session.recorder = None
        self.file.close()

    # ---- told by the engine ------------------------------------------------------------------
    def took(self, session, start: int, stop: int) -> None:
        """Steps start..stop-1 (one pass, at most `chunk` of them) were just taken."""
        if stop <= self.count:                 # taken again after a `back`: written already
            self.sent.clear()
            return
        if start < self.count:                 # partly so: write the new ones now
            text = self._text(session, start, stop)
            self._write(b"".join(bytes(text).splitlines(keepends=True)[self.count - start:]), stop)
            return
        if self.held > self.count and (self.count < session.n) != (start < session.n):
            self._write(self._text(session, self.count, self.held), self.held)   # a pass ended
        self.held = stop
        if self.held - self.count >= self.chunk:
            self.settle(session)

    def settle(self, session) -> None:
        """Write the steps held back, while the session still holds what they did."""
        if self.held > self.count:
            self._write(self._text(session, self.count, self.held), self.held)
            self.file.flush()

    def restarted(self, session) -> None:
        self.sent.clear()
        self.held = self.count = min(self.count, self.held)
        consts = session.kernel.consts
        changed = [i for i, (now, then) in enumerate(zip(consts, self._consts)) if now is not then]
        if not changed:
            return
        for i in changed:
            self.set_values[self.graph.nodes[i].name] = consts[i]
        self._consts = list(consts)
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
        inputs needing one)."""
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
        last = _last_write(slot_line[write_slot], layout.inputs[slot[write_slot]], int(arity.max(initial=0)))

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
            numbers[at_accumulated] = after[last]
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
        for at, w in zip(at_accumulated.tolist(), last.tolist()):
            fields[at] = encode(after[w])
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


def _last_write(line: np.ndarray, node: np.ndarray, max_arity: int) -> np.ndarray:
    """For each write, the index of the step's last write to the same node: a node that is an
    input twice (x*x) is written twice by one step, and both its terms show the gradient after
    the step. With at most two inputs such writes are next to each other."""
    last = np.arange(len(line))
    if max_arity <= 2:
        twice = np.flatnonzero((line[1:] == line[:-1]) & (node[1:] == node[:-1]))
        last[twice] = twice + 1
        return last
    for w in range(len(line) - 1, -1, -1):   # rare: a custom op of three or more inputs
        later = np.flatnonzero((line[w + 1:] == line[w]) & (node[w + 1:] == node[w]))
        if len(later):
            last[w] = last[w + 1 + later[0]]
    return last


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


class _Layout:
    """What recording needs to know of a graph, as flat arrays: the inputs (node i's are in
    slots first[i]..first[i] + arity[i] - 1), which nodes need a gradient and which write one,
    which slot is the first to write its input, the groups of nodes sharing a table op, whether
    all nodes are scalars, the steps of the data leaves. Built once per kernel (a graph and the
    nodes it computes gradients for do not change), since a pass over 100,000 nodes' objects
    costs a good part of a run."""

    _made: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, graph, kernel) -> "_Layout":
        # Keyed by kernel: a trainer's kernel writes gradients only to the nodes it wants.
        if kernel not in cls._made:
            cls._made[kernel] = cls(kernel, graph)
        return cls._made[kernel]

    def __init__(self, kernel, graph):
        nodes = graph.nodes
        n = len(nodes)
        self.arity = np.fromiter(map(len, kernel.ins), np.int64, n)
        self.first = np.cumsum(self.arity) - self.arity
        self.inputs = np.fromiter(chain.from_iterable(kernel.ins), np.int64, int(self.arity.sum()))
        self.needs_grad = np.fromiter(kernel.wanted, bool, n)   # the nodes the kernel writes to
        slot_node = np.repeat(np.arange(n), self.arity)
        writes = self.needs_grad[self.inputs]
        self.has_targets = np.bincount(slot_node[writes], minlength=n) > 0
        # The first backward step to write node j is its last consumer's (if that one gets a
        # gradient), at the first of its slots holding j.
        last_consumer = np.full(n, -1)
        np.maximum.at(last_consumer, self.inputs[writes], slot_node[writes])
        first_slot = np.full(n, len(self.inputs))
        np.minimum.at(first_slot, self.inputs, np.where(slot_node == last_consumer[self.inputs],
                                                        np.arange(len(self.inputs)), len(self.inputs)))
        self.first_write = np.zeros(len(self.inputs), bool)
        self.first_write[first_slot[first_slot < len(self.inputs)]] = True
        self.scalar = set(map(attrgetter("shape"), nodes)) <= {()}
        self.data_steps = {node.name: node.index + 1 for node in nodes if node.kind == "data"} \
            if "data" in graph.source or not graph.source else {}   # no source: an ONNX model
        if self.scalar:
            self.groups = _op_groups(kernel, self.arity)

    def input(self, nodes: np.ndarray, k: int) -> np.ndarray:
        """The k-th input of each of `nodes`."""
        return self.inputs[self.first[nodes] + k]


def _op_groups(kernel, arity: np.ndarray) -> tuple:
    """([sorted indices of the nodes sharing each VJP, where more than two do], the op nodes
    left). Nodes of one table op share its VJP function; a node with keyword arguments has a
    partial of its own, and a user `def` makes an op of its own at each call."""
    ids = np.fromiter(map(id, kernel.vjp), np.int64, len(kernel.vjp))
    _, code, count = np.unique(ids, return_inverse=True, return_counts=True)
    shared = (count[code] > 2) & (arity > 0)
    order = np.flatnonzero(shared)
    order = order[np.argsort(code[order], kind="stable")]
    groups = np.split(order, np.flatnonzero(np.diff(code[order])) + 1) if len(order) else []
    return groups, np.flatnonzero(~shared & (arity > 0))


class _ScalarLocals:
    """d(node)/d(input) for a chunk of scalar nodes, as the engine's local_derivatives gives
    them: each node's VJP with upstream 1.

    A VJP call per node would cost as much as the backward pass itself, so the nodes of a chunk
    that share a table op are done together: the op's scalar VJP is called once on numpy
    columns. Where that VJP is plain arithmetic, numpy's float64 gives the same bits as Python's
    floats; where it is not (math functions, a branch on the value) the call raises, or a check
    against single-node calls differs, and those nodes are done one by one."""

    def __init__(self, kernel, layout: _Layout):
        self.vjp, self.ins, self.layout = kernel.vjp, kernel.ins, layout

    def __call__(self, values: np.ndarray, vals_list: list, lo: int, hi: int,
                 first_slot: np.ndarray) -> np.ndarray:
        """The local derivatives of nodes hi-1 down to lo, in their slots."""
        layout = self.layout
        out = np.empty(int(layout.arity[lo:hi].sum()))
        groups, others = layout.groups
        one_by_one = [others[np.searchsorted(others, lo):np.searchsorted(others, hi)]]
        for group in groups:
            ids = group[np.searchsorted(group, lo):np.searchsorted(group, hi)]
            if not len(ids):
                continue
            arity = int(layout.arity[ids[0]])
            columns = self._columns(values, ids, arity) if len(ids) > 2 else None
            if columns is None:
                one_by_one.append(ids)
                continue
            at = first_slot[hi - 1 - ids]
            for k, column in enumerate(columns):
                out[at + k] = column
        for i in np.concatenate(one_by_one).tolist():
            at = first_slot[hi - 1 - i]
            out[at:at + layout.arity[i]] = self.vjp[i](1.0, vals_list[i], *[vals_list[j] for j in self.ins[i]])
        return out

    def _columns(self, values: np.ndarray, ids: np.ndarray, arity: int):
        vjp = self.vjp[ids[0]]
        args = [values[ids]] + [values[self.layout.input(ids, k)] for k in range(arity)]
        try:
            columns = [np.broadcast_to(np.asarray(r, dtype=float), (len(ids),))
                       for r in vjp(np.ones(len(ids)), *args)]
        except Exception:  # noqa: BLE001 -- any failure only means "not array-safe"
            return None
        if len(columns) != arity:
            return None
        for at in (0, len(ids) - 1):
            single = vjp(1.0, *(float(a[at]) for a in args))
            if any(np.float64(x).tobytes() != col[at].tobytes() for x, col in zip(single, columns)):
                return None
        return columns
