"""The other ways in, in the TUI: an op written in Python whose VJP fails (the error is logged,
the app goes on), and an ONNX model (`bpdebug model.onnx`, its original names in the inspector)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bpdebug
from bpdebug import op
from bpdebug.cli import main
from bpdebug.tui.app import BpDebugApp

from .conftest import log_text, screen_text

MODELS = Path(__file__).resolve().parents[2] / "examples" / "models"


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


def test_bpdebug_model_onnx_opens_it_with_its_options_and_shows_the_onnx_names(monkeypatch):
    pytest.importorskip("onnx")
    started = []
    monkeypatch.setattr(BpDebugApp, "run", lambda app, *args, **kwargs: started.append(app))
    assert main([str(MODELS / "mlp.onnx"), "--inputs", str(MODELS / "mlp_inputs.npz"), "--loss", "mean"]) == 0
    app = started[0]
    s = app.session
    assert s.graph.node("input").shape == (8, 4) and app.training is not None   # initializers are params

    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"sssss")     # input, its params, then Gemm's transpose and matmul
            text = screen_text(app)
            assert "fc1.Gemm_output_0.2 = input @ fc1.Gemm_output_0.1" in text and "ONNX name" not in text
            await pilot.press("s")          # the add that ends the Gemm: the node of its output
            assert "ONNX name: /fc1/Gemm_output_0" in screen_text(app)
    monkeypatch.undo()
    asyncio.run(go())
