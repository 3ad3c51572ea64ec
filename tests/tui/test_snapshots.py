"""Screenshots at fixed sizes, compared with the accepted ones in __snapshots__/ (update them
with `pytest tests/tui/test_snapshots.py --snapshot-update` after looking at the report)."""
from __future__ import annotations

from pathlib import Path

import bpdebug
from bpdebug.tui.app import BpDebugApp

from .conftest import FANOUT, NAN, SEED, load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_seed_at_the_start(snap_compare):
    assert snap_compare(BpDebugApp(load(SEED)), terminal_size=(120, 40))


def test_seed_backward_step_of_q(snap_compare):
    """The add gate passing dL/dq = -4 to x and y: local derivatives, contributions, circuit."""
    assert snap_compare(BpDebugApp(load(SEED)), press=["s"] * 7, terminal_size=(120, 40))


def test_seed_done_at_80x24(snap_compare):
    assert snap_compare(BpDebugApp(load(SEED)), press=["c"], terminal_size=(80, 24))


def test_fan_out_with_a_breakpoint_and_a_watch(snap_compare):
    async def setup(pilot):
        await pilot.press("down", "down", "b", "colon", *"watch grad(a)", "enter", "escape")
        await pilot.press("c", "c")               # to the backward step of a

    assert snap_compare(BpDebugApp(load(FANOUT)), run_before=setup, terminal_size=(120, 40))


def test_tensors_in_a_network(snap_compare):
    session = bpdebug.load_file(EXAMPLES / "network_232.bp")
    assert snap_compare(BpDebugApp(session), press=["s"] * 24, terminal_size=(120, 40))


def test_nonfinite_at_100x30(snap_compare):
    assert snap_compare(BpDebugApp(load(NAN)), press=["s"] * 3, terminal_size=(100, 30))


def test_help(snap_compare):
    assert snap_compare(BpDebugApp(load(SEED)), press=["question_mark"], terminal_size=(80, 24))


def test_xor_update_phase_and_loss_curve_at_80x24(snap_compare):
    """Three training steps, then the next step's passes and its first update (h.W) at 80x24:
    the UPDATE banner, the param's row, the update in the inspector, the loss curve, the compact
    footer with the training keys."""
    from bpdebug.train import Trainer

    trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), 0.5, all_gradients=True)
    app = BpDebugApp(trainer.session, trainer=trainer)
    assert snap_compare(app, press=["t", "t", "t", "c", "s"], terminal_size=(80, 24))


def test_square_backward_in_a_light_theme_at_80x24(snap_compare):
    """x*x in textual-light, the inspector scrolled by keyboard to the two terms of x's
    gradient, 3 then 6; the banner and the formula readable on a light ground at 80x24."""
    app = BpDebugApp(load("x = 3\nf = x * x\n"))
    app.theme = "textual-light"
    assert snap_compare(app, press=["s", "s", "s", "tab", "down", "down", "down"], terminal_size=(80, 24))


def test_network_backward_with_tensors_in_full_at_200x60(snap_compare):
    """network_232 at out.z's backward step on a wide terminal: vectors in full in the list,
    dC/d... everywhere, the training step's counts."""
    session = bpdebug.load_file(EXAMPLES / "network_232.bp")
    assert snap_compare(BpDebugApp(session), press=["s"] * 24, terminal_size=(200, 60))


def test_a_def_call_stepped_over_in_the_backward_pass_at_120x40(snap_compare):
    app = BpDebugApp(load("def sq(a) = a * a\nx = 3\ny = sq(x) + 1\n"))
    assert snap_compare(app, press=["s"] * 7 + ["n"], terminal_size=(120, 40))
