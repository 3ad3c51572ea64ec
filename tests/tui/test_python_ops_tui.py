"""An op written in Python whose VJP fails: the TUI logs the error and stays, just before the
failing step, where `r` and `s` still work (an exception would end Textual's message loop)."""
from __future__ import annotations

import asyncio

import bpdebug
from bpdebug import op
from bpdebug.tui.app import BpDebugApp

from .conftest import log_text, screen_text


@op
def double(x):
    return 2 * x


@double.vjp
def double_vjp(dout, out, x):
    return dout @ x          # shapes (2,) @ (2,): a number, not a gradient of x's shape


def test_a_failing_vjp_is_logged_and_the_app_goes_on():
    async def go():
        s = bpdebug.load("x = [1, 2]\ny = double(x)\nL = sum(y)", "ops.bp", ops=[double])
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")
            await pilot.pause()
            assert s.t == 4 and s.pass_ == "backward"      # the backward step of L, not of y
            log = " ".join(log_text(app).split())   # the log wraps long lines
            assert "op 'double' at node 'y': its VJP returned a gradient of shape () for 'x'" in log
            assert "in double_vjp" in log and "stopped: an op written in Python failed" in log
            await pilot.press("r")
            assert s.t == 3
            await pilot.press("s", "s")
            assert s.t == 4 and "BACKWARD  step 4 of 6" in screen_text(app)
    asyncio.run(go())
