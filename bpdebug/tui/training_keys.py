"""Training in the TUI: the keys and commands of BpDebugApp that move through the training
loop (a mixin: they share the app's panels and its `continue` machinery).

`s`, `n`, `r` and `c` go on past the backward pass: one update a step, the remaining updates,
then the next training step. `t` finishes a training step (or runs the next one) and `train N`
(`T` types `train `) runs N, in slices of about CHUNK_SECONDS between which the screen and the
loss curve redraw and Escape or c stop them. Stepping back stays within the training step.
"""
from __future__ import annotations

from time import perf_counter

from ..commands import count_arg
from ..engine import DONE
from ..lang import BpError
from ..train import UPDATE
from .running import CHUNK_SECONDS, Running, stops_on_failure
from .widgets.banner import Banner
from .widgets.loss_curve import LossCurve


class TrainingKeys:
    """Mixed into BpDebugApp, whose `training` is a tui.training.Training here."""

    def _training_move(self, move) -> None:
        """A move in the training loop: every row changes when a training step begins, and the
        params' rows when updates are applied or taken back."""
        s, tr = self.session, self.training.trainer
        before, values, applied = s.t, s.values, tr.applied
        stop = move()
        if s.values is not values and (stop is None or stop.reason != "breakpoint"):
            self._moved(before, f"training step {self.training.step_number} begins", everything=True)
        else:
            self._after_stop(before, stop, everything=s.values is not values or tr.applied != applied)

    def _training_back(self, count: int) -> None:
        training = self.training
        if training.trainer.t == 0:
            self.log_panel.write(f"at the start of training step {training.step_number}: an earlier "
                                 "training step cannot be taken back (its params are gone)")
            return
        before, applied = self.session.t, training.trainer.applied
        training.back(count)
        self._moved(before, "stepped back", everything=training.trainer.applied != applied)

    def _continue_updates(self) -> bool:
        """`continue` after the backward pass: apply the updates left (True), or from the end of
        the training step begin the next one, to be continued like any other (False)."""
        if self.training.phase == UPDATE:
            before = self.session.t
            self.training.finish_updates()
            self._moved(before, self._training_news(), everything=True)
            return True
        self.training.trainer.begin_step()
        self.log_panel.write(f"training step {self.training.step_number} begins")
        return False

    @stops_on_failure
    def action_train(self, steps: int = 1) -> None:
        if self.running or self.training is None:
            return
        tr = self.training.trainer
        self.running = Running(self.session.t, everything=True, steps=steps, asked=steps, losses=len(tr.losses))
        self._train_slice()

    def action_train_many(self) -> None:
        """Type `train ` and the program's number of steps (`train steps=` or --steps), if any."""
        steps = self.training.trainer.steps
        self.type_command(f"train {steps}" if steps else "train ")

    @stops_on_failure
    def _train_slice(self) -> None:
        run = self.running
        if run is None:
            return
        tr = self.training.trainer
        started = perf_counter()
        while run.steps > 0:
            stop = tr.finish_step()
            if stop is not None:                  # a breakpoint in the passes
                self.running = None
                self.query_one(Banner).update_state()
                self._after_stop(run.start, stop, everything=True)
                return
            run.steps -= 1
            if tr.diverged:
                run.steps = 0
            if perf_counter() - started > CHUNK_SECONDS:
                break
        if run.steps > 0:
            self.nodes.refresh_all()
            self.query_one(Banner).update_state(running=f"training {run.asked - run.steps} of {run.asked}")
            self.query_one(LossCurve).show()
            run.timer = self.set_timer(0.01, self._train_slice)
            return
        self.running = None
        self.query_one(Banner).update_state()
        self._moved(run.start, self._trained(run), everything=True)

    def _trained(self, run: Running) -> str:
        tr = self.training.trainer
        done = len(tr.losses) - run.losses
        if done <= 0:
            return "interrupted before a training step finished"
        if done == 1:
            return (f"training step {tr.steps_done} done: {tr.loss_name} = {tr.losses[-1]:.6g}"
                    + self._training_news(False, run.losses))
        first = tr.losses[run.losses - 1] if run.losses else tr.losses[0]
        return (f"{done} training steps done (to step {tr.steps_done}): "
                f"{tr.loss_name} {first:.6g} → {tr.losses[-1]:.6g}" + self._training_news(False, run.losses))

    def _end_of_passes(self) -> str:
        if self.training is None:
            return "done: every gradient is final"
        return "every gradient is final; the updates are next: s one param, c all of them"

    def _training_news(self, loss: bool = True, since: int | None = None) -> str:
        """At the end of a training step, its loss (unless not `loss`), the latest held-out
        scores measured after step `since` (default: the step before), and whether training
        diverged."""
        training = self.training
        if training is None or training.phase != DONE:
            return ""
        tr = training.trainer
        news = f"training step {tr.steps_done} done: {tr.loss_name} = {tr.losses[-1]:.6g}" if loss else ""
        e = tr.evaluations[-1] if tr.evaluations else None
        if e is not None and e.step > (tr.steps_done - 1 if since is None else since):
            metric = f", {tr.metric} {e.metric:.2%}" if e.metric is not None else ""
            at = f" (after step {e.step})" if e.step != tr.steps_done else ""
            news += f"; held out{at}: {tr.loss_name} = {e.loss:.6g}{metric}"
        if tr.diverged:
            return f"{news}; {tr.diverged.message()}"
        return news + ("; s or t goes on to the next" if loss else "")

    def _training_command(self, line: str, name: str, arg: str) -> bool:
        """The commands that move through the training loop; True if `line` was one of them."""
        tr = self.training.trainer
        if name not in ("train", "step", "next", "back", "restart", "set", "jump"):
            return False
        if name == "restart" and arg != "step":
            if arg:
                return False            # the command language says what restart takes
            self.log_panel.command(line, "", False)
            tr.reset()
            self._moved(0, "restarted: the initial params, before training step 1", everything=True)
            return True
        if name in ("set", "jump") and not tr.applied:
            return False               # in the passes: as without training
        count = 1
        if name in ("train", "step", "back"):
            try:
                count = count_arg(arg)
            except BpError as err:
                self.log_panel.command(line, err.message, True)
                return True
        if name in ("set", "jump"):
            self.log_panel.command(line, "the updates have begun: take them back (r) or finish the "
                                         f"training step (t) before a `{name}`", True)
            return True
        self.log_panel.command(line, "", False)
        if name == "train":
            self.screen.set_focus(self.nodes)   # as after T: the keys work again at once
            self.action_train(count)
        elif name == "step":
            self.action_step(count)
        elif name == "next":
            self.action_next()
        elif name == "back":
            self.action_back(count)
        else:                          # restart step: this training step from its beginning
            self.action_back(tr.t)
        return True
