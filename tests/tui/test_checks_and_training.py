"""The gradient checker and training in the TUI, driven with Pilot: failing nodes flagged,
`break mismatch` showing the three answers, the origin of nan, the update phase after the
backward pass, and the training keys."""
from __future__ import annotations

import asyncio
import re
import time

import numpy as np
import pytest

import bpdebug
from bpdebug.train import Trainer
from bpdebug.tui.app import BpDebugApp
from bpdebug.tui.checks import cheap_to_check

from .conftest import EXAMPLES, SEED, chain, flat, load, log_text, row_text, screen_text, training_app

SQRT = "x = 0\nw = 3\ny = sqrt(x)\nz = y * w\nf = z + 1\n"     # df/dx = inf is born at y's backward step
WRONG_SQUARE = "def square(x) = x * x\ngrad square wrt x = x\n"  # off by a factor of 2


def run(coro):
    return asyncio.run(coro)


async def command(pilot, line: str) -> None:
    await pilot.press("colon", *line, "enter", "escape")


# ---- the gradient checker -------------------------------------------------------------------

@pytest.mark.parametrize("name, flagged", [("factor.bp", True), ("factor_fixed.bp", False)])
def test_a_wrong_derivative_is_flagged_and_the_fixed_one_is_not(name, flagged):
    async def go():
        s = bpdebug.load_file(EXAMPLES / "mistakes" / name)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 6)                      # the forward step of e = square(p - t)
            assert s.current == s.graph.index("e")
            assert row_text(app, "e").startswith("✗") is flagged
            assert ("e fails its gradient check" in log_text(app)) is flagged
            assert not any(row_text(app, n).startswith("✗") for n in ("w", "x", "t", "p", "L"))
            await pilot.press("c")                           # the flag stays through the backward pass
            assert row_text(app, "e").startswith("✗") is flagged
    run(go())


def test_break_mismatch_stops_in_the_backward_pass_and_shows_the_three_answers():
    async def go():
        s = bpdebug.load_file(EXAMPLES / "mistakes" / "factor.bp")
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await command(pilot, "break mismatch")
            await pilot.press("c")
            e = s.graph.index("e")
            assert s.current == e and s.pass_at(s.t - 1) == "backward"
            # dL/de = 0.5 and e.1 = p - t = -0.8: the right answer is 0.5 * 2 * (-0.8) = -0.8,
            # the hand-written rule (x instead of 2x) sends 0.5 * (-0.8) = -0.4
            text = screen_text(app)
            assert "inspector: e (current)" in text
            for answer in ("hand-written -0.4", "autodiff     -0.8", "numerical    -0.8"):
                assert answer in text and answer in log_text(app)
            assert "hand-written disagrees with autodiff and numerical" in flat(log_text(app))
            assert "breakpoint 1 (mismatch)" in log_text(app)
    run(go())


def test_a_big_graph_is_checked_only_when_asked():
    program = WRONG_SQUARE + chain(2500) + "e = square(x2499)\nL = e * 2\n"

    async def go():
        s = load(program)
        assert not cheap_to_check(s.graph)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")
            assert s.t == s.total and not app.checks.on and app.checks.failing == {}
            await pilot.press("end")
            assert not row_text(app, "e").startswith("✗")
            await command(pilot, "check")
            assert app.checks.on and list(app.checks.failing) == [s.graph.index("e")]
            assert row_text(app, "e").startswith("✗")
    run(go())


def test_break_nonfinite_names_the_origin_and_the_values_it_read():
    async def go():
        s = load(SQRT)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await command(pilot, "break nonfinite")
            await pilot.press("c")
            y = s.graph.index("y")
            assert s.current == y and s.pass_at(s.t - 1) == "backward"
            assert ("nan or inf is born here: backward step of y = sqrt(x) made df/dx = inf from finite "
                    "df/dy = 3, y = 0, x = 0") in flat(log_text(app))
            assert row_text(app, "y").startswith("✱") and row_text(app, "x").startswith("!")
            await pilot.press("s", "s")                      # the backward steps of w, then x: inf
            assert "non-finite at x (born at y)" in screen_text(app)
            assert "nan or inf was born at y, in the backward pass" in screen_text(app)
    run(go())


# ---- training ---------------------------------------------------------------------------------

def central_difference(name: str, param: str, k: int, eps: float = 1e-6) -> float:
    """dLoss/d(param element k) by central differences, on fresh sessions of the program."""
    losses = []
    for sign in (1, -1):
        s = bpdebug.load_file(EXAMPLES / name)
        node = s.graph.node(param)
        value = np.array(node.value, dtype=float)
        value.flat[k] += sign * eps
        s.set_leaf(param, value)
        s.run()
        losses.append(float(np.reshape(s.values[s.graph.output], -1)[0]))
    return (losses[0] - losses[1]) / (2 * eps)


def test_stepping_xor_past_the_backward_pass_updates_each_param_by_minus_lr_times_its_gradient():
    async def go():
        app, trainer = training_app("xor.bp", lr=0.1)
        s = trainer.session
        params = [n for n in s.graph.nodes if n.kind == "param"]
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * s.total)                # forward and backward
            assert trainer.phase == "update" and trainer.applied == 0
            assert "BACKWARD" in screen_text(app)
            old = {p.name: np.array(p.value, copy=True) for p in params}
            grads = {p.name: np.array(s.grads[p.index], copy=True) for p in params}
            # the gradient is the real one: central differences of the loss for an element of each
            for p in params:
                assert grads[p.name].flat[0] == pytest.approx(central_difference("xor.bp", p.name, 0),
                                                              rel=1e-5, abs=1e-9)
            for k, p in enumerate(params, 1):
                await pilot.press("s")
                assert trainer.applied == k and trainer.t == s.total + k
                assert np.array_equal(p.value, old[p.name] - 0.1 * grads[p.name])
                text = screen_text(app)
                phase = "UPDATE" if k < len(params) else "DONE"            # the last one ends the step
                assert f"{phase}  update {k} of {len(params)}  sgd lr 0.1" in text   # counted apart
                assert f"sgd lr 0.1  ▶ {p.name} = {p.name} - 0.1 * dC/d{p.name}" in text
                assert f"update  {p.name} = {p.name} - 0.1 * dC/d{p.name}" in text
                assert row_text(app, p.name).startswith("  ▶")
                for q in params[:k - 1]:
                    assert row_text(app, q.name).startswith("  ↓")          # updated
                for q in params[k:]:
                    assert np.array_equal(q.value, old[q.name])             # not yet
            assert "UPDATE" not in screen_text(app) and "#1 DONE" in screen_text(app)
            assert len(trainer.losses) == 1
            assert "training step 1 done: C = " in flat(log_text(app))
            await pilot.press("r")                                          # take the last update back
            assert np.array_equal(params[-1].value, old[params[-1].name]) and trainer.losses == []
            await pilot.press("s", "s")                                     # again, then the next step
            assert trainer.steps_done == 1 and s.t == 1 and "#2 FORWARD  step 1 of 34" in screen_text(app)
            await pilot.press("r", "r")
            assert s.t == 0 and "an earlier training step cannot be taken back" in flat(log_text(app))
    run(go())


def test_the_training_keys_run_steps_and_the_loss_curve_follows():
    async def go():
        app, trainer = training_app("xor.bp", lr=0.5)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert "t T train 1/N" in screen_text(app)
            await pilot.press("t")
            await pilot.pause()
            assert len(trainer.losses) == 1 and trainer.phase == "done"
            assert f"loss C = {trainer.losses[0]:.4g} (step 1)" in screen_text(app)
            await pilot.press("T", *"20", "enter")
            while app.running:
                await pilot.pause(0.02)
            assert len(trainer.losses) == 21 and trainer.losses[-1] < trainer.losses[0]
            assert "20 training steps done (to step 21)" in flat(log_text(app))
            text = screen_text(app)
            assert f"loss C = {trainer.losses[-1]:.4g} (step 21)" in text
            assert "┤" in text and "21" in text                              # the curve and its axis
            await pilot.press("s")                                           # the next step begins
            assert trainer.session.t == 1 and "#22 FORWARD" in screen_text(app)
    run(go())


def test_continue_stops_after_the_backward_pass_then_after_the_updates():
    async def go():
        app, trainer = training_app("linreg.bp")
        s = trainer.session
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")
            assert s.t == s.total and trainer.phase == "update"
            assert "every gradient is final; the updates are next" in flat(log_text(app))
            await pilot.press("c")
            assert trainer.phase == "done" and len(trainer.losses) == 1
            await pilot.press("c")                                           # the next training step
            assert trainer.steps_done == 1 and trainer.phase == "update"
            await command(pilot, "restart step")                            # back to its beginning
            assert trainer.t == 0 and trainer.steps_done == 1
            await command(pilot, "step 3")
            assert s.t == 3
    run(go())


def test_a_program_without_params_has_no_training_keys():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert "c continue" in screen_text(app) and "train" not in screen_text(app)
            await pilot.press("t", "T")
            assert s.t == 0 and app.training is None
            await command(pilot, "train 3")
            assert "unknown command 'train'" in log_text(app)
    run(go())


def test_training_runs_in_slices_shows_progress_and_can_be_interrupted(monkeypatch):
    finish_step = Trainer.finish_step

    def slow(trainer):                                  # 5 ms a step, like a big network
        time.sleep(0.005)
        return finish_step(trainer)

    monkeypatch.setattr(Trainer, "finish_step", slow)

    async def go():
        app, trainer = training_app("linreg.bp")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("T", *"1000", "enter")
            await pilot.pause(0.1)
            assert app.running is not None and 0 < len(trainer.losses) < 1000
            assert re.search(r"training \d+ of 1000… press Esc or c to stop", screen_text(app))
            await pilot.press("escape")
            done = len(trainer.losses)
            await pilot.pause(0.05)
            assert app.running is None and len(trainer.losses) == done < 1000
            assert f"{done} training steps done (to step {done})" in flat(log_text(app))
            assert f"(step {done}" in screen_text(app)              # the loss curve's title
    run(go())


def test_the_banner_shows_the_rate_and_lr_changes_it_and_T_offers_the_programs_steps():
    async def go():
        trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), 4.0, steps=2000, all_gradients=True)
        app = BpDebugApp(trainer.session, trainer=trainer)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert "#1 FORWARD  step 0 of 34  sgd lr 4 " in screen_text(app)
            await command(pilot, "lr 2")
            assert trainer.lr == 2 and "sgd lr 2 " in screen_text(app) and "lr 2 (sgd)" in log_text(app)
            await pilot.press("T")
            assert app.command_line.value == "train 2000"
            await pilot.press("escape")
    run(go())


def test_restart_goes_back_to_the_initial_params():
    async def go():
        app, trainer = training_app("xor.bp", lr=2.0)
        start = {k: np.array(v) for k, v in trainer.param_values().items()}
        async with app.run_test(size=(120, 40)) as pilot:
            await command(pilot, "train 5")
            while app.running:
                await pilot.pause(0.02)
            assert trainer.steps_done == 5
            await command(pilot, "restart")
            assert trainer.steps_done == 0 and trainer.t == 0
            for name, value in trainer.param_values().items():
                assert np.array_equal(value, start[name])
            assert "restarted: the initial params" in flat(log_text(app))
            assert "#1 FORWARD  step 0 of 34" in screen_text(app)
            assert "no training step finished yet" in screen_text(app)        # the loss curve too
    run(go())


def test_the_update_phase_shows_adams_state_with_the_numbers_filled_in():
    async def go():
        from bpdebug.train.optimizers import make_optimizer
        trainer = Trainer(bpdebug.load("param w = 3\nloss C = (w - 1)^2"), 0.5,
                          optimizer=make_optimizer("adam"), all_gradients=True)
        app = BpDebugApp(trainer.session, trainer=trainer)
        async with app.run_test(size=(200, 50)) as pilot:     # no line wraps
            await pilot.press("c")
            text = screen_text(app)                         # the next update, previewed
            assert "adam lr 0.5" in text and "next: s applies it" in text
            await pilot.press("s")
            text = screen_text(app)
            for line in ("m = 0.9 * m + 0.1 * dC/dw = 0.9 * 0 + 0.1 * 4 = 0.4",
                         "v = 0.999 * v + 0.001 * (dC/dw)^2 = 0.999 * 0 + 0.001 * 4^2 = 0.016",
                         "m\u0302 = m / (1 - 0.9^1) = 0.4 / (1 - 0.9^1) = 4",
                         "v\u0302 = v / (1 - 0.999^1) = 0.016 / (1 - 0.999^1) = 16"):
                assert line in text
            assert "w = w - 0.5 * m\u0302 / (sqrt(v\u0302) + 1e-08)" in text
    run(go())


def test_a_diverging_training_run_stops_and_says_where():
    async def go():
        trainer = Trainer(bpdebug.load("param w = 10\nq = w * w\nloss C = exp(q)"), 0.1, all_gradients=True)
        app = BpDebugApp(trainer.session, trainer=trainer)
        async with app.run_test(size=(120, 40)) as pilot:
            await command(pilot, "train 50")
            while app.running:
                await pilot.pause(0.02)
            assert trainer.steps_done == 2
            assert "training stopped at step 2: C became inf; nan or inf was born at node C" in flat(log_text(app))
    run(go())


def test_a_training_run_logs_the_latest_held_out_score():
    async def go():
        trainer = Trainer(bpdebug.load_file(EXAMPLES / "digits_mlp.bp"), 0.01, batch=64, val=0.2,
                          metric="accuracy", all_gradients=True)
        app = BpDebugApp(trainer.session, trainer=trainer)
        async with app.run_test(size=(120, 40)) as pilot:
            await command(pilot, "train 30")
            while app.running:
                await pilot.pause(0.02)
            e = trainer.evaluations[-1]
            assert e.step == 22                                   # an epoch: 1,438 rows // 64
            assert (f"30 training steps done (to step 30): C {trainer.losses[0]:.6g} → {trainer.losses[-1]:.6g}; "
                    f"held out (after step 22): C = {e.loss:.6g}, accuracy {e.metric:.2%}") in flat(log_text(app))
    run(go())
