"""The inner loops: a graph compiled to flat lists, and forward/backward over a range of nodes.

The Session steps through these one node at a time; `continue` and custom ops run them in a
tight loop. Scalar nodes get the op table's float functions, tensor nodes the numpy ones,
chosen once here so the loops never test types.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from .ops import scalar_forward, scalar_vjp

if TYPE_CHECKING:  # the kernel reads a graph; it never builds one
    from .graph import Graph


def unbroadcast(g, shape: tuple):
    """Sum a broadcast gradient back to the shape of the input it belongs to."""
    if np.shape(g) == shape:
        return g
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g if shape else float(g)


def _summed_back(vjp, shapes: list, out_shape: tuple):
    """`vjp` with each contribution to an input the broadcast widened summed back to its shape.
    The axes to sum are worked out here, once: a step then costs one sum an input."""
    widened = []
    for k, shape in enumerate(shapes):
        if shape != out_shape:
            lead = len(out_shape) - len(shape)
            axes = tuple(range(lead)) + tuple(lead + a for a, size in enumerate(shape)
                                              if size == 1 and out_shape[lead + a] != 1)
            summed_shape = tuple(size for a, size in enumerate(out_shape) if a not in axes)
            widened.append((k, shape, axes, summed_shape != shape))

    def summed(*args):
        cs = list(vjp(*args))
        for k, shape, axes, reshape in widened:
            c = cs[k]
            if type(c) is np.ndarray and c.shape == out_shape:
                c = np.add.reduce(c, axis=axes)
                cs[k] = c.reshape(shape) if reshape else c if shape else float(c)
            elif c is not None:      # a contribution of another shape: the general rule
                cs[k] = unbroadcast(c, shape)
        return cs
    return summed


def seed_gradient(shape: tuple):
    return 1.0 if shape == () else np.ones(shape)


def zero_gradient(shape: tuple):
    """The gradient of a node the output does not depend on (the kernel leaves it None)."""
    return 0.0 if shape == () else np.zeros(shape)


def _targets(ins: list, wanted: list) -> list:
    """Per node, (position, input index) for the inputs whose gradient anybody needs; a node
    with no gradient of its own (a comparison) sends none. (map() and enumerate() rather than
    a loop of Python: a large graph compiles in half the time.)"""
    if all(wanted):   # every node: a large scalar graph's case, in a third of the time
        return [tuple(enumerate(a)) for a in ins]
    is_wanted = wanted.__getitem__
    return [() if not wanted[i] else tuple(enumerate(a)) if all(map(is_wanted, a))
            else tuple([(k, j) for k, j in enumerate(a) if wanted[j]]) for i, a in enumerate(ins)]


class Kernel:
    def __init__(self, graph: Graph, wanted: list | None = None):
        """`wanted[j]`: whether node j's gradient is computed (default: node.needs_grad)."""
        nodes = graph.nodes
        wanted = wanted or [n.needs_grad for n in nodes]
        self.wanted = wanted
        self.ins = [n.inputs for n in nodes]
        self.consts = [n.value if n.kind != "op" else None for n in nodes]
        shapes = [n.shape for n in nodes]
        self.fwd = fwd = []
        self.vjp = vjp = []
        self.targets = _targets(self.ins, wanted)
        scalar_pairs = {}  # op (hashed by identity) -> its float functions: found once, not once a node
        shape_of = shapes.__getitem__
        for n in nodes:
            if n.kind != "op":
                fwd.append(None)
                vjp.append(None)
                continue
            op = n.op
            if op.python is not None:  # an op written in Python: wrappers that name this node
                f, v = op.python.bind(graph, n)
                fwd.append(f)
                vjp.append(v)
            elif n.shape == () and not n.attrs and not any(map(shape_of, n.inputs)):
                pair = scalar_pairs.get(op)
                if pair is None:
                    pair = scalar_pairs[op] = (scalar_forward(op), scalar_vjp(op))
                fwd.append(pair[0])
                vjp.append(pair[1])
            else:
                self._compile_tensor_node(n, [shapes[j] for j in n.inputs], wanted)

    def _compile_tensor_node(self, n, shapes: list, wanted: list) -> None:
        scalar = n.shape == () and all(s == () for s in shapes)
        f = scalar_forward(n.op) if scalar else n.op.f
        v = scalar_vjp(n.op) if scalar else n.op.vjp
        if n.attrs:
            f, v = partial(f, **n.attrs), partial(v, **n.attrs)
        need = tuple(wanted[j] for j in n.inputs)
        if n.op.partial_vjp and not all(need):
            v = partial(v, need=need)
        # Elementwise ops broadcast their inputs, and matmul its batch axes (a vector or a
        # (1, n, k) stack against a (b, k, m) one): contributions are summed back to shape.
        batched = n.op.name == "matmul" and max(map(len, shapes)) > 2
        if not scalar and (batched or n.op.elementwise and any(s != n.shape for s in shapes)):
            v = _summed_back(v, shapes, n.shape)
        self.fwd.append(f)
        self.vjp.append(v)

    def forward(self, vals: list, start: int, stop: int) -> None:
        fwd, ins, consts = self.fwd, self.ins, self.consts
        i = start
        try:
            for i in range(start, stop):
                f = fwd[i]
                a = ins[i]
                if f is None:
                    vals[i] = consts[i]
                elif len(a) == 2:
                    vals[i] = f(vals[a[0]], vals[a[1]])
                elif len(a) == 1:
                    vals[i] = f(vals[a[0]])
                else:
                    vals[i] = f(*[vals[j] for j in a])
        except Exception:
            self.failed = i     # an op written in Python failed here: the steps before it stand
            raise

    def backward(self, vals: list, grads: list, start: int, stop: int, undo: list | None,
                 sent: list | None = None) -> None:
        """Backward steps for nodes stop-1 down to start. `undo` gets the gradients each step
        overwrites, one per input it writes, so steps can be taken back exactly (flat: a tuple
        per step kept alive costs more than the step, in Python's garbage collection). For a
        trace recorder, `sent` gets the contributions of each step that sends any (one per
        input, flat for the same reason)."""
        vjp, ins, targets = self.vjp, self.ins, self.targets
        record = undo.append if undo is not None else None
        send = sent.extend if sent is not None else None
        i = stop - 1
        try:
            for i in range(stop - 1, start - 1, -1):
                g = grads[i]
                tg = targets[i]
                if g is None or not tg:
                    continue
                a = ins[i]
                if len(a) == 2:
                    cs = vjp[i](g, vals[i], vals[a[0]], vals[a[1]])
                elif len(a) == 1:
                    cs = vjp[i](g, vals[i], vals[a[0]])
                else:
                    cs = vjp[i](g, vals[i], *[vals[j] for j in a])
                for k, j in tg:
                    old = grads[j]
                    if record:
                        record(old)
                    grads[j] = cs[k] if old is None else old + cs[k]
                if send:
                    send(cs)
        except Exception:
            self.failed = i     # before it wrote anything: the steps of nodes above it stand
            raise

    def undo_backward(self, grads: list, i: int, undo: list) -> None:
        """Take back the backward step of node i, the last one `undo` recorded. Whether it
        wrote anything is read from grads[i], which no later backward step changes."""
        if grads[i] is None:
            return
        for _, j in reversed(self.targets[i]):
            grads[j] = undo.pop()

    def contributions(self, vals: list, grads: list, i: int) -> tuple:
        """What the backward step of node i sends to each of its inputs (recomputed, exactly)."""
        ins_vals = [vals[j] for j in self.ins[i]]
        g = grads[i]
        if g is None or self.vjp[i] is None:
            return tuple(None for _ in ins_vals)
        with np.errstate(all="ignore"):  # as in the loops: inf/nan are values to show, not warnings
            return tuple(self.vjp[i](g, vals[i], *ins_vals))
