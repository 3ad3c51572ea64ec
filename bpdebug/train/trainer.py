"""The Trainer: forward, backward, then every param updated by an optimizer, repeated.

A Trainer wraps a Session and adds an update phase after its backward pass, one param update
a step, so that every front end steps it like the passes. It evaluates nothing itself: the
passes are the Session's (and so the kernel's), an update is the optimizer's arithmetic, and
held-out rows are evaluated by a Session of their own (evaluate.Evaluator).

Graph shapes are fixed when a program is built (the cost divides by the row count), so for
mini-batches of B rows, or for the training rows left after holding some out, the Trainer
builds the program again with every data leaf holding that many rows, and before each step
swaps the rows of the batch in as the data leaves' values.

Position within a training step: the Session's steps 0..2N (forward, backward), then
`applied` updates 0..P, counted apart (`position`: step 7 of 34, then update 2 of 4). `phase`
is "forward", "backward", "update" or "done" (every update applied, the loss recorded); the
next move starts a new training step with the next batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph.data import row_count
from ..engine import DONE, Session, Stop
from ..kernel import Kernel, zero_gradient
from ..lang import BpError
from .divergence import Divergence, all_finite, divergence, layer_norms, saturation_warnings
from .end_to_end import EndToEnd
from .evaluate import Evaluation, Evaluator, split_rows
from .optimizers import SGD, Optimizer
from .program import program_training
from .schedules import Schedule, parse_schedule
from .settings import Settings

UPDATE = "update"


@dataclass(slots=True)
class Update:
    """One param's update by the optimizer: old and new value, the gradient, the rate, and the
    optimizer's state for the param before and after (momentum's v; Adam's t, m, v)."""

    param: str
    index: int          # the param's node index
    position: int       # 0-based place in the update phase
    old: object
    grad: object
    lr: float
    new: object
    state_before: object
    state_after: object
    optimizer: Optimizer
    loss: str           # the loss's name, for dC/dW

    def explain(self) -> list:
        """The update one quantity a line (optimizers.Line), the param's own last."""
        return self.optimizer.explain(self)

    @property
    def formula(self) -> str:
        last = self.explain()[-1]
        return f"{last.name} = {last.formula}"


@dataclass(slots=True)
class _Together:
    """An update phase done at once (end_to_end): what its Updates hold, made when asked for."""

    lr: float
    olds: list
    grads: list
    before: object      # each param's state before (a list), or the vector to cut them from
    news: list
    after: object       # the state vector after

    def updates(self, trainer: "Trainer") -> list[Update]:
        cut, nodes = trainer._end_to_end.states, trainer.session.graph.nodes
        befores = self.before if isinstance(self.before, list) else cut(self.before)
        return [Update(nodes[i].name, i, k, self.olds[k], self.grads[k], self.lr, self.news[k], befores[k], after,
                       trainer.optimizer, trainer.loss_name)
                for k, (i, after) in enumerate(zip(trainer.params, cut(self.after)))]


class Trainer:
    def __init__(self, session: Session, lr: float = 0.1, *, optimizer: Optimizer | None = None,
                 schedule: Schedule | None = None, steps: int | None = None, batch: int | None = None, seed: int = 0,
                 val: float | None = None, eval_every: int | None = None, metric: str | None = None,
                 all_gradients: bool = False):
        """`session` is a program with params; its data leaves hold the whole data set.
        `steps`: how many training steps a run takes (what the TUI offers; the schedule's
        horizon is its own); `batch`: rows per step (None: all of them); `seed` draws the batches and the held-out
        rows; `val`: the share of rows held out, evaluated every `eval_every` steps (default:
        after each epoch) for the loss and the `metric`; `all_gradients`: also compute the
        gradients no param needs (of data leaves, say)."""
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise BpError(f"the learning rate must be a positive number, got {lr}")
        graph = session.graph
        self.params = [n.index for n in graph.nodes if n.kind == "param"]
        if not self.params:
            raise BpError("nothing to train: the program has no param (declare weights with "
                          "`param W = randn(2, 3)` or `layer h = dense(X, 3)`)")
        data = {n.name: n.value for n in graph.nodes if n.kind == "data"}
        try:
            rows = row_count({name: np.shape(v) for name, v in data.items()})
        except ValueError as err:
            raise BpError(str(err)) from None
        self.lr = float(lr)
        self.optimizer = optimizer or SGD()
        self.schedule = schedule or Schedule()
        self.steps, self.seed, self.metric = steps, seed, metric
        program = program_training(graph)
        self.prediction, self.target = program.prediction, program.target   # what the loss compares
        self.evaluator: Evaluator | None = None
        if val is not None:
            if not data:
                raise BpError("val holds out rows of the data, and the program has no data leaves "
                              "(declare them with `data X = csv(\"file.csv\")`)")
            kept, held = split_rows(rows, val, seed)
            self.evaluator = self._evaluator(session, {k: v[held] for k, v in data.items()}, held, metric)
            data = {k: v[kept] for k, v in data.items()}
            rows = len(kept)
        elif metric is not None or eval_every is not None:
            raise BpError("a metric and eval_every are measured on held-out rows: hold some out with val")
        if batch is not None:
            if not data:
                raise BpError("a batch picks rows of data leaves, and the program has none "
                              "(declare them with `data X = csv(\"file.csv\")`)")
            if batch < 1 or batch > rows:
                raise BpError(f"the batch size must be between 1 and the number of {'training ' * (val is not None)}"
                              f"rows ({rows}), got {batch}")
        self.batch = batch if batch is not None and batch < rows else None
        if self.batch or val is not None:
            session = _rebuilt(session, {k: v[:self.batch or rows] for k, v in data.items()})
        self.session = session
        self.data, self.rows = data, rows
        self.eval_every = eval_every or (rows // self.batch if self.batch else 1)   # default: an epoch
        self._data_nodes = [session.graph.node(name) for name in data] if self.batch else []
        self._initial = {i: session.graph.nodes[i].value for i in self.params}
        initial = list(self._initial.values())
        self._end_to_end = EndToEnd(initial) if EndToEnd.fits(initial) else None
        if not all_gradients:
            _only_param_gradients(session)
        self.reset()

    @classmethod
    def from_settings(cls, session: Session, settings: Settings, all_gradients: bool = False) -> "Trainer":
        """A Trainer as train.settings.Settings say (checked first)."""
        settings.checked()
        return cls(session, settings.rate, optimizer=settings.make_optimizer(),
                   schedule=parse_schedule(settings.schedule, settings.lr_end, settings.steps),
                   steps=settings.steps, batch=settings.batch, seed=settings.seed, val=settings.val,
                   eval_every=settings.eval_every, metric=settings.metric, all_gradients=all_gradients)

    def _evaluator(self, session, data: dict, rows, metric) -> Evaluator:
        return Evaluator(_rebuilt(session, data), rows, metric, self.prediction, self.target)

    def reset(self) -> None:
        """Back to the initial params, before the first training step: the optimizer's state,
        the losses, the batches drawn and the held-out scores start again."""
        for i, value in self._initial.items():
            self._set_param(i, value)
        self._state: dict = {i: None for i in self.params}  # the optimizer's, per param (see state)
        self._state_cut = True                               # _state is current (else cut it from ...
        self._state_vector = False                           # ... end_to_end's vector, which is current)
        self.rng = np.random.default_rng(self.seed)
        self._order = np.empty(0, dtype=np.intp)            # rows left to draw in this epoch
        self.losses: list[float] = []                       # one per finished training step
        self.rates: list[float] = []                        # the learning rate each one used
        self.evaluations: list[Evaluation] = []             # held-out scores, as measured
        self.diverged: Divergence | None = None
        self._first_norms: dict = {}                        # layer gradient norms at step 1
        self._updates: list[Update] = []                    # applied in the current step (see updates)
        self._together: _Together | None = None             # or every one at once, to be made into Updates
        self.begin_step()

    # ---- position -------------------------------------------------------------------------
    @property
    def steps_done(self) -> int:
        """Training steps finished: each one recorded its loss."""
        return len(self.losses)

    @property
    def step_number(self) -> int:
        """The training step in progress (1 for the first), or the one just finished."""
        return self.steps_done + (self.phase != DONE)

    @property
    def applied(self) -> int:
        return len(self.params) if self._together is not None else len(self._updates)

    @property
    def updates(self) -> list[Update]:
        """The updates applied in this training step, in order (made when first asked for, after
        an update phase done at once)."""
        if self._together is not None:
            self._updates, self._together = self._together.updates(self), None
        return self._updates

    @property
    def state(self) -> dict:
        """{param's node index: the optimizer's state for it} (cut from end_to_end's vector when
        first asked for, after an update phase done at once)."""
        if not self._state_cut:
            self._state.update(zip(self.params, self._end_to_end.states(self._end_to_end.vectors[1])))
            self._state_cut = True
        return self._state

    def _set_state(self, i: int, value) -> None:
        self.state[i] = value
        self._state_vector = False

    @property
    def phase(self) -> str:
        s = self.session
        if s.t < s.total:
            return s.pass_
        return UPDATE if self.applied < len(self.params) else DONE

    @property
    def in_update(self) -> bool:
        """After the backward pass: updating the params, or every update applied."""
        return self.phase in (UPDATE, DONE)

    @property
    def last_update(self) -> Update | None:
        """The update just applied (None until the update phase has applied one)."""
        return self.updates[-1] if self.updates else None

    @property
    def t(self) -> int:
        """Steps taken in this training step: the Session's, then the updates."""
        return self.session.t + self.applied

    def position(self) -> tuple[str, int, int]:
        """(phase, count, of): the passes count their steps as the Session does (`step 7 of
        34`, as `script` and `run --break` do too, and `step 34 of 34` until an update is
        applied); the update phase counts its updates apart (`update 2 of 4`)."""
        if self.applied:
            return UPDATE, self.applied, len(self.params)
        return self.session.position()

    @property
    def loss_name(self) -> str:
        return self.session.graph.nodes[self.session.graph.output].name

    @property
    def rate(self) -> float:
        """The learning rate of the training step in progress (the schedule's)."""
        return self.schedule.rate(self.lr, self.step_number)

    def loss(self) -> float | None:
        """The loss of the current step's forward pass (None before it reaches the output)."""
        v = self.session.values[self.session.graph.output]
        if v is None:
            return None
        return float(v) if isinstance(v, float) else float(np.reshape(v, -1)[0])   # floats: no numpy call

    def param_values(self) -> dict:
        return {self.session.graph.nodes[i].name: self.session.graph.nodes[i].value for i in self.params}

    # ---- the update phase -----------------------------------------------------------------
    def begin_step(self) -> None:
        """Start a training step: the next batch into the data leaves, the Session at step 0."""
        if self.batch:
            rows = self._next_rows()
            consts = self.session.kernel.consts
            for node in self._data_nodes:
                node.value = consts[node.index] = self.data[node.name][rows]
        self._updates, self._together = [], None
        self.session.restart()

    def _next_rows(self) -> np.ndarray:
        # Shuffled epochs: every row once before any row twice; a short remainder is skipped.
        if len(self._order) < self.batch:
            self._order = self.rng.permutation(self.rows)
        rows, self._order = self._order[:self.batch].copy(), self._order[self.batch:]
        rows.sort()
        return rows

    def upcoming_update(self) -> Update | None:
        """What the next update would do, without doing it (None outside the update phase)."""
        with np.errstate(all="ignore"):      # a diverging step's inf is a finding, not a warning
            return self._next_update()

    def _next_update(self) -> Update | None:
        s, k = self.session, self.applied
        if s.t < s.total or k == len(self.params):
            return None
        i = self.params[k]
        node = s.graph.nodes[i]
        g = s.grads[i]
        if g is None:  # the loss does not depend on this param
            g = zero_gradient(node.shape)
        lr, before = self.schedule.rate(self.lr, self.steps_done + 1), self.state[i]
        new, after = self.optimizer.update(node.value, g, lr, before)
        return Update(node.name, i, k, node.value, g, lr, new, before, after, self.optimizer, self.loss_name)

    def update(self) -> Update | None:
        """Apply the next param's update (after the backward pass); None if there is none."""
        with np.errstate(all="ignore"):
            return self._apply(self._next_update())

    def _apply(self, u: Update | None) -> Update | None:
        if u is None:
            return None
        self._set_param(u.index, u.new)
        self._set_state(u.index, u.state_after)
        self.updates.append(u)
        if len(self.updates) == len(self.params):
            self._step_finished(u.lr)
        return u

    def _step_finished(self, lr: float, params_finite: bool = False) -> None:
        self.losses.append(self.loss())
        self.rates.append(lr)
        if self.steps_done == 1:
            self._first_norms = layer_norms(self.session)
        self.diverged = divergence(self, params_finite)
        if self.evaluator is not None and self.steps_done % self.eval_every == 0 and not self.diverged:
            self.evaluate()

    def _set_param(self, i: int, value) -> None:
        self.session.graph.nodes[i].value = value
        self.session.kernel.consts[i] = value

    def evaluate(self) -> Evaluation | None:
        """Measure the held-out rows with the params as they are (once a step)."""
        if self.evaluator is None or (self.evaluations and self.evaluations[-1].step == self.steps_done):
            return None
        e = self.evaluator.evaluate(self.param_values(), self.steps_done)
        self.evaluations.append(e)
        return e

    def predictions(self) -> tuple:
        """(rows, the model's outputs, the targets) for the held-out rows, or every row."""
        evaluator = self.evaluator
        if evaluator is None:      # no rows held out: every row (self.data holds them all)
            rows = np.arange(self.rows) if self.data else None
            evaluator = self._evaluator(self.session, dict(self.data), rows, None)
        outputs, targets = evaluator.outputs(self.param_values())
        return evaluator.rows, outputs, targets

    def saturation_warnings(self) -> list[str]:
        return saturation_warnings(self.session, self._first_norms, self.steps_done) if self.steps_done else []

    # ---- moving ---------------------------------------------------------------------------
    def advance(self):
        """One step of the whole loop: a forward or backward node (a StepEvent), else the next
        update (an Update); from "done", the first forward step of the next training step."""
        if self.phase == DONE:
            self.begin_step()
        if self.session.t < self.session.total:
            return self.session.step()
        return self.update()

    def step(self, count: int = 1) -> Stop | None:
        """Take `count` steps of the loop; the Stop of a breakpoint met in the passes, if any."""
        s = self.session
        while count > 0:
            if self.phase == DONE:
                self.begin_step()
            if s.t < s.total:
                before = s.t
                stop = s.run(limit=min(count, s.total - s.t))
                count -= s.t - before
                if stop.reason == "breakpoint":
                    return stop
            else:
                self.update()
                count -= 1
        return None

    def next(self) -> Stop | None:
        """`next` in the passes (a `def` call is one step); one update in the update phase."""
        if self.in_update:
            return self.step()
        return self.session.next()

    def finish_updates(self) -> None:
        """Apply the updates left in this training step: every one at once when none is applied
        yet and the params are small (end_to_end: the same numbers and Updates), else one by one."""
        with np.errstate(all="ignore"):
            if self._end_to_end is not None and self.phase == UPDATE and not self.applied \
                    and self._apply_all():
                return
            while self._apply(self._next_update()) is not None:
                pass

    def _apply_all(self) -> bool:
        nodes, grads, params = self.session.graph.nodes, self.session.grads, self.params
        olds = [nodes[i].value for i in params]
        gs = [grads[i] if grads[i] is not None else zero_gradient(nodes[i].shape) for i in params]
        vector = self._state_vector          # the state is end_to_end's vector, as it made it
        before = self._end_to_end.vectors[1] if vector else [self.state[i] for i in params]
        lr = self.schedule.rate(self.lr, self.steps_done + 1)
        done = self._end_to_end.update(self.optimizer, olds, gs, lr, None if vector else before)
        if done is None:
            return False
        news, after = done
        consts = self.session.kernel.consts
        for i, new in zip(params, news):
            nodes[i].value = consts[i] = new           # _set_param, for every param
        self._together = _Together(lr, olds, gs, before, news, after)
        self._state_cut, self._state_vector = False, True
        self._step_finished(lr, all_finite(self._end_to_end.vectors[0]))
        return True

    def back(self, count: int = 1) -> int:
        """Take back up to `count` steps of this training step, updates first, then the passes
        (an earlier training step's batch and params are gone); how many were taken back."""
        before = self.t
        for _ in range(count):
            if self.updates:
                if self.applied == len(self.params):
                    self._step_unfinished()
                u = self.updates.pop()
                self._set_param(u.index, u.old)
                self._set_state(u.index, u.state_before)
            elif self.session.t:
                self.session.back()
            else:
                break
        return before - self.t

    def _step_unfinished(self) -> None:
        self.losses.pop()
        self.rates.pop()
        self.diverged = None
        while self.evaluations and self.evaluations[-1].step > self.steps_done:
            self.evaluations.pop()

    def finish_step(self) -> Stop | None:
        """Run the rest of the training step (starting the next one from "done"): the passes,
        then every update. A breakpoint in the passes stops it early: that Stop is returned."""
        if self.phase == DONE:
            self.begin_step()
        s = self.session
        if s.t < s.total:
            if not s.breakpoints and s.recorder is None:
                s.goto(s.total)                 # the passes, without a Stop nobody reads
            else:
                stop = s.run()
                if stop.reason == "breakpoint":
                    return stop
        self.finish_updates()
        return None

    def run(self, steps: int) -> Stop | None:
        """Finish `steps` training steps (the current one counts), or fewer if training
        diverges; the Stop of a breakpoint."""
        for _ in range(steps):
            stop = self.finish_step()
            if stop is not None:
                return stop
            if self.diverged:
                return None
        return None


def _rebuilt(session: Session, data: dict) -> Session:
    """The same program with these data leaf values (the shapes of a batch), and every other
    leaf's value as it is now (set with --set or --load, trained)."""
    import bpdebug

    graph = session.graph
    leaves = {n.name: n.value for n in graph.nodes if n.kind in ("leaf", "param")}
    if graph.origin is not None:   # the way it was loaded: a program with its --ops, an ONNX model
        return graph.origin.load({**leaves, **data})
    return bpdebug.load(graph.source, graph.filename, {**leaves, **data})


def _only_param_gradients(session: Session) -> None:
    """Backward steps compute gradients only for nodes that depend on a param: training needs
    no gradient of its data, and the one of an input batch costs as much as X @ W."""
    nodes = session.graph.nodes
    wanted = [False] * len(nodes)
    for n in nodes:  # topological order: inputs come first
        wanted[n.index] = n.kind == "param" or any(wanted[j] for j in n.inputs)
    session.kernel = Kernel(session.graph, wanted)  # the Trainer restarts the session next
