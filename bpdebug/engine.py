"""The Session: walks the forward pass then the backward pass one node at a time.

Like `bdb.Bdb`, it owns position, stepping, breakpoints and watches and knows nothing of any
front end: it imports neither textual nor rich. A step costs O(1) in the size of the graph;
`run()` with no breakpoint in the way is the kernel's tight loop, and event objects are built
only for the steps someone asks about.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
import numpy as np

from .check.breaks import SPECIAL_BREAKS
from .collector import collector_paused
from .conditions import Expression
from .events import (BACKWARD, DONE, FORWARD, StepEvent, call_event, enclosing_call,  # noqa: F401
                     plain as _plain, received, running_sums, step_event)
from .graph import Graph
from .kernel import Kernel, seed_gradient
from .lang import BpError
from .report import finite

@dataclass
class Stop:
    reason: str              # "end", "breakpoint", "limit" (the steps asked for were taken), "until"
    step: int                # steps taken so far
    breakpoint: "Breakpoint | None" = None
    session: "Session | None" = field(default=None, repr=False)
    detail: str = ""

    @cached_property
    def event(self) -> StepEvent | None:
        """The last step's event, built when first asked for (before the session moves on): a
        training loop stops twice a step and never looks, and an event recomputes the step."""
        return self.session.event(self.step - 1) if self.session is not None and self.step else None


@dataclass
class Breakpoint:
    id: int
    node: int | None = None          # None: any node
    pass_: str | None = None         # None: both passes
    condition: Expression | None = None
    temporary: bool = False
    enabled: bool = True
    hits: int = 0
    special: str | None = None       # a named check such as "nonfinite"
    label: str = ""
    ignore: int = 0                  # hits still to pass over (pdb's `ignore N COUNT`)

    def describe(self, graph: Graph) -> str:
        parts = [self.special or ""]
        parts.append(self.pass_ or "")
        parts.append(graph.nodes[self.node].name if self.node is not None else "")
        if self.condition is not None:
            parts.append(f"if {self.condition.text}")
        return " ".join(p for p in parts if p) or "every step"


class Session:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.n = len(graph.nodes)
        self.total = 2 * self.n
        self.breakpoints: list[Breakpoint] = []
        self.watches: list[Expression] = []
        self._next_bp = 1
        self.recorder = None            # a trace recorder (bpdebug.trace): told of each step taken
        self._moved()
        self.restart()

    @cached_property
    def kernel(self) -> Kernel:
        """Built when first needed: a replay of a trace steps without ever computing."""
        with collector_paused():
            return Kernel(self.graph)

    # ---- position -------------------------------------------------------------------------
    def restart(self) -> None:
        if self.recorder is not None:
            self.recorder.settle(self)  # write the steps it holds back before they are undone
        self.t = 0                      # steps taken
        self.values: list = [None] * self.n
        self.grads: list = [None] * self.n
        out = self.graph.output
        self.grads[out] = seed_gradient(self.graph.nodes[out].shape)
        self._undo: list = []           # the gradients backward steps overwrote, in order
        self._moved()
        if self.recorder is not None:
            self.recorder.restarted(self)

    def _moved(self) -> None:
        """Forget what belongs to the last stop: every move calls this."""
        self._over = None               # (t, call index): `next` took that `def` call as one step
        self._frame = (0, 0)            # (t, k): `up` went k calls out from the current node

    @property
    def pass_(self) -> str:
        return FORWARD if self.t < self.n else BACKWARD if self.t < self.total else DONE

    def node_at(self, step: int) -> int:
        """The node executed by step `step` (0-based)."""
        return step if step < self.n else self.total - 1 - step

    def pass_at(self, step: int) -> str:
        return FORWARD if step < self.n else BACKWARD

    @property
    def current(self) -> int | None:
        """The node of the step just taken (None before the first step); after `next` took a
        `def` call as one step, the call's return node (the node that reads `y = sq(x)`)."""
        over = self._over
        if over is not None and over[0] == self.t:
            return self.graph.calls[over[1]].end
        return self.node_at(self.t - 1) if self.t else None

    @property
    def stepped_over(self):
        """The `def` call (an InlineCall) `next` just took as one step, or None."""
        over = self._over
        return self.graph.calls[over[1]] if over is not None and over[0] == self.t else None

    @property
    def upcoming(self) -> int | None:
        return self.node_at(self.t) if self.t < self.total else None

    def position(self) -> tuple[str, int, int]:
        """(pass, steps taken, steps in all): the one step count every view shows, `step 7 of
        10` (a trainer adds its update phase, counted apart: train.Trainer.position)."""
        return self.pass_, self.t, self.total

    def grad_label(self, name: str) -> str:
        """How the gradient of node `name` is written: d(output)/d(name), `df/dq`."""
        return f"d{self.graph.nodes[self.graph.output].name}/d{name}"

    # ---- the `def` calls around the current node (pdb's frames) ---------------------------
    def frames(self) -> list[int]:
        """The current node, then the return node of each `def` call whose body holds it,
        innermost first ([] before the first step)."""
        i = self.current
        frames = [] if i is None else [i]
        while frames and (call := enclosing_call(self.graph, frames[-1])) is not None:
            frames.append(call.end)
        return frames

    @property
    def frame(self) -> int:
        """How many calls out from the current node `up` has gone (0 after any move)."""
        t, k = self._frame
        return k if t == self.t else 0

    def select_frame(self, k: int) -> int:
        """Go to frame k of frames() (as `up` and `down` do); its node."""
        frames = self.frames()
        if not 0 <= k < len(frames):
            raise BpError("no call around the current node there" if frames else "nothing stepped yet")
        self._frame = (self.t, k)
        return frames[k]

    # ---- reading state --------------------------------------------------------------------
    def value(self, name: str):
        return _plain(self.values[self.graph.index(name)])

    def grad(self, name: str):
        i = self.graph.index(name)
        g = self.grads[i]
        if g is None:
            g = np.zeros(self.graph.nodes[i].shape)
        return _plain(g)

    def received(self, i: int, limit: int | None = None, until: tuple | None = None) -> list:
        """[(consumer name, contribution)], each contribution node i has received so far, in
        the order they arrived (see events.received for `limit` and `until`)."""
        return received(self, i, limit, until)

    def event(self, step: int | None = None) -> StepEvent | None:
        """What the given step (default: the last one taken) did, read from the current state;
        the last step after `next` took a `def` call as one step is that whole call."""
        step = self.t - 1 if step is None else step
        if step < 0 or step >= self.t:
            return None
        over = self.stepped_over
        if over is not None and step == self.t - 1:
            return call_event(self, over, step)
        return step_event(self, step)

    def accumulated(self, i: int) -> list:
        """Per input slot of node i: the input's gradient once the backward step of i had added
        that slot's contribution (a running sum: x*x reads 3, then 6)."""
        return running_sums(self, i)

    def contributions(self, i: int) -> tuple:
        """What the backward step of node i sends to each of its inputs."""
        return self.kernel.contributions(self.values, self.grads, i)

    def local_derivatives(self, i: int) -> list:
        """Local derivative values d(node)/d(input), where they are elementwise (else None)."""
        node = self.graph.nodes[i]
        if node.kind != "op" or self.values[i] is None:
            return [None] * len(node.inputs)
        elementwise = node.op.elementwise or node.op.name == "return" or node.shape == ()
        if not elementwise or any(self.graph.nodes[j].shape != node.shape for j in node.inputs):
            return [None] * len(node.inputs)
        ones = seed_gradient(node.shape)
        with np.errstate(all="ignore"):
            return [_plain(c) for c in self.kernel.vjp[i](ones, self.values[i], *(self.values[j] for j in node.inputs))]

    def nonfinite(self, i: int) -> bool:
        return not (finite(self.values[i]) and finite(self.grads[i]))

    # ---- moving ---------------------------------------------------------------------------
    def _advance(self, steps: int) -> None:
        """Take `steps` steps with no checks: the tight loop. A trace recorder gets the steps
        in chunks of its size as they are taken, and from the kernel the contributions each
        backward step sent."""
        recorder = self.recorder
        chunk = steps
        sent = recorder.sent if recorder is not None else None
        with np.errstate(all="ignore"):
            while steps > 0 and self.t < self.total:
                start = self.t
                if recorder is not None:
                    chunk = recorder.chunk          # the recorder sizes chunks by their time
                try:
                    if self.t < self.n:
                        stop = min(self.n, self.t + steps, self.t + chunk)
                        self.kernel.forward(self.values, self.t, stop)
                    else:
                        hi = self.total - self.t                  # next backward node is hi - 1
                        lo = max(0, hi - min(steps, chunk))
                        self.kernel.backward(self.values, self.grads, lo, hi, self._undo, sent)
                        stop = self.total - lo
                except Exception:
                    # An op written in Python failed: stand just before its step, so that the
                    # steps before it can be looked at and taken back.
                    failed = self.kernel.failed
                    self.t = failed if start < self.n else self.total - 1 - failed
                    if recorder is not None and self.t > start:
                        recorder.took(self, start, self.t)
                    raise
                steps -= stop - self.t
                self.t = stop
                if recorder is not None:
                    recorder.took(self, start, stop)

    def step(self, count: int = 1) -> StepEvent | None:
        """Take `count` single steps, stopping early at a breakpoint; the last step's event."""
        if self.t >= self.total:
            return None
        self.run(limit=count)
        return self.event()

    def run(self, limit: int | None = None) -> Stop:
        """Continue until a breakpoint, the end of the backward pass, or `limit` steps."""
        self._moved()
        end = self.total if limit is None else min(self.total, self.t + limit)
        checks = [b for b in self.breakpoints if b.enabled]
        if not checks:
            self._advance(end - self.t)
            return self._stopped("end" if self.t >= self.total else "limit")
        node_bps = {FORWARD: {}, BACKWARD: {}}
        anywhere = {FORWARD: [], BACKWARD: []}
        for b in checks:
            for p in ((b.pass_,) if b.pass_ else (FORWARD, BACKWARD)):
                if b.node is None:
                    anywhere[p].append(b)
                else:
                    node_bps[p].setdefault(b.node, []).append(b)
        while self.t < end:
            p = self.pass_
            nb, ab = node_bps[p], anywhere[p]
            if not ab:
                # Jump to the next step whose node has a breakpoint: a set look-up per step.
                target = self._next_marked(nb, end)
                if target > self.t:
                    self._advance(target - self.t)
                    continue
            self._advance(1)
            hit = self._hit(nb.get(self.current, []) + ab if nb else ab)
            if hit is not None:
                return hit
        return self._stopped("end" if self.t >= self.total else "limit")

    def _next_marked(self, marked: dict, end: int) -> int:
        """The step count just before the next step in this pass whose node is in `marked`."""
        t = self.t
        if t < self.n:
            stop = min(end, self.n)
            while t < stop and t not in marked:
                t += 1
        else:
            stop = min(end, self.total)
            total = self.total - 1
            while t < stop and (total - t) not in marked:
                t += 1
        return t

    def _hit(self, candidates) -> Stop | None:
        for b in candidates:
            reason = self._test(b)
            if reason:
                b.hits += 1
                if b.ignore > 0:
                    b.ignore -= 1
                    continue
                if b.temporary:
                    self.breakpoints.remove(b)
                return self._stopped("breakpoint", b, reason if isinstance(reason, str) else "")
        return None

    def _test(self, b: Breakpoint):
        if b.special:
            return SPECIAL_BREAKS[b.special](self, self.t - 1)
        if b.condition is not None:
            return b.condition.holds(self.lookup)
        return True

    def _stopped(self, reason: str, bp: Breakpoint | None = None, detail: str = "") -> Stop:
        if self.recorder is not None:
            self.recorder.settle(self)
        return Stop(reason, self.t, bp, self, detail)

    def lookup(self, var: str, name: str | None = None):
        """Variables of conditions and watches: value/grad/upstream of the current node or a named one."""
        if name is not None:
            i = self.graph.index(name)
            return self.values[i] if var == "value" else self.grads[i]
        i = self.current
        if var == "step":
            return self.t
        if i is None:
            return None
        if var == "value":
            return self.values[i]
        if var == "upstream":
            return self.grads[i] if self.pass_at(self.t - 1) == BACKWARD else None
        return self.grads[i]

    def next(self) -> Stop | None:
        """Step over a call of a `def`: the whole call is one step, which the session then
        stands on as the call's return node (breakpoints inside still stop)."""
        if self.t >= self.total:
            return None
        i, g = self.upcoming, self.graph
        if self.pass_ == FORWARD:
            end = g.call_end.get(i, i)
            span = end - i + 1
        else:
            end = i
            span = i - g.call_start.get(i, i) + 1
        stop = self.run(limit=span)
        if span > 1 and stop.reason != "breakpoint":
            self._over = (self.t, g.nodes[end].call)
            stop.event = self.event()
        return stop

    def until(self, name: str) -> Stop:
        """Continue until the next step that executes node `name` (or a breakpoint)."""
        target = self.graph.index(name)
        for step in (target, self.total - 1 - target):
            if step >= self.t:
                stop = self.run(limit=step + 1 - self.t)
                if stop.reason == "limit":
                    stop.reason = "until"
                return stop
        raise BpError(f"'{name}' has already been stepped in both passes; use back or restart")

    def back(self, count: int = 1) -> StepEvent | None:
        """Take back `count` steps, restoring values and gradients exactly."""
        self._moved()
        if self.recorder is not None:
            self.recorder.settle(self)
        for _ in range(min(count, self.t)):
            self.t -= 1
            i = self.node_at(self.t)
            if self.t < self.n:
                self.values[i] = None
            else:
                self.kernel.undo_backward(self.grads, i, self._undo)
        return self.event()

    def goto(self, step: int) -> None:
        """Put the session at `step` steps taken, ignoring breakpoints."""
        self._moved()
        step = max(0, min(step, self.total))
        if step < self.t:
            self.back(self.t - step)
        else:
            self._advance(step - self.t)

    def set_leaf(self, name: str, value) -> None:
        """Give a leaf a new value and recompute up to the current position."""
        node = self.graph.node(name)
        if not node.is_leaf:
            raise BpError(f"'{name}' is computed ({self.graph.formula(node)}); only leaves can be set")
        value = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)
        if np.shape(value) != node.shape:
            raise BpError(f"'{name}' has shape {node.shape}; the new value has shape {np.shape(value)}")
        node.value = value
        self.kernel.consts[node.index] = value
        t = self.t
        self.restart()
        self._advance(t)

    # ---- breakpoints and watches -----------------------------------------------------------
    def add_breakpoint(self, node: str | None = None, pass_: str | None = None,
                       condition: str | None = None, temporary: bool = False,
                       special: str | None = None) -> Breakpoint:
        if special is not None and special not in SPECIAL_BREAKS:
            raise BpError(f"unknown breakpoint kind '{special}'")
        index = self.graph.index(node) if node is not None else None
        cond = Expression(condition, self.graph.names) if condition else None
        b = Breakpoint(self._next_bp, index, pass_, cond, temporary, special=special)
        self._next_bp += 1
        self.breakpoints.append(b)
        return b

    def breakpoint(self, number: int) -> Breakpoint:
        for b in self.breakpoints:
            if b.id == number:
                return b
        raise BpError(f"no breakpoint number {number}")

    def delete_breakpoint(self, number: int) -> None:
        self.breakpoints.remove(self.breakpoint(number))

    def add_watch(self, text: str) -> Expression:
        w = Expression(text, self.graph.names)
        self.watches.append(w)
        return w

    def watch_values(self) -> list:
        """[(text, value or error text)] for each watch, at the current position."""
        out = []
        for w in self.watches:
            try:
                out.append((w.text, _plain(w.evaluate(self.lookup))))
            except (ValueError, TypeError) as err:
                out.append((w.text, f"error: {err}"))
        return out

