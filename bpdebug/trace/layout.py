"""What recording needs to know of a graph, as flat numpy arrays, and the local derivatives of
a chunk of scalar nodes computed a table op at a time: the recorder's fast path for scalar
graphs, where a step costs the engine about 1 µs."""
from __future__ import annotations

import weakref
from itertools import chain
from operator import attrgetter

import numpy as np


class Layout:
    """What recording needs to know of a graph, as flat arrays: the inputs (node i's are in
    slots first[i]..first[i] + arity[i] - 1), which nodes need a gradient and which write one,
    which slot is the first to write its input, the groups of nodes sharing a table op, whether
    all nodes are scalars, the steps of the data leaves. Built once per kernel (a graph and the
    nodes it computes gradients for do not change), since a pass over 100,000 nodes' objects
    costs a good part of a run."""

    _made: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, graph, kernel) -> "Layout":
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


class ScalarLocals:
    """d(node)/d(input) for a chunk of scalar nodes, as the engine's local_derivatives gives
    them: each node's VJP with upstream 1.

    A VJP call per node would cost as much as the backward pass itself, so the nodes of a chunk
    that share a table op are done together: the op's scalar VJP is called once on numpy
    columns. Where that VJP is plain arithmetic, numpy's float64 gives the same bits as Python's
    floats; where it is not (math functions, a branch on the value) the call raises, or a check
    against single-node calls differs, and those nodes are done one by one."""

    def __init__(self, kernel, layout: Layout):
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
