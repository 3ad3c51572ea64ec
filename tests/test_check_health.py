"""Gradient health per parameter and per layer: norms, exact zeros (dead relu units),
saturation (sigmoid/tanh outputs at their bounds), flagged; shown by `bpdebug check`."""
from __future__ import annotations

import json

import numpy as np
import pytest

import bpdebug
from bpdebug.check import check_session
from bpdebug.cli import main as cli_main

NET = """
X = randn(8, 3, seed=1)
Y = uniform(8, 2, lo=0, hi=1, seed=2)
layer h1 = dense(X, 4, act={act}, W=randn(3, 4, seed=3, scale={scale}), b=[{bias}, {bias}, 0.1, -0.1])
layer h2 = dense(h1, 2, act=sigmoid, seed=4)
loss L = quadratic(h2, Y)
"""


def report_for(act="relu", scale=0.5, bias=0.0):
    return check_session(bpdebug.load(NET.format(act=act, scale=scale, bias=bias)))


def test_healthy_network_has_no_flags_and_norms_of_the_gradients():
    s = bpdebug.load(NET.format(act="relu", scale=0.5, bias=0.0))
    report = check_session(s)
    assert [p.name for p in report.params] == ["h1.W", "h1.b", "h2.W", "h2.b"]
    for p in report.params:
        assert p.grad_norm == pytest.approx(np.linalg.norm(s.grad(p.name)))
        assert p.flags == []
    h1 = report.layers[0]
    assert (h1.name, h1.act, h1.units) == ("h1", "relu", 4)
    assert h1.grad_norm == pytest.approx(np.hypot(np.linalg.norm(s.grad("h1.W")), np.linalg.norm(s.grad("h1.b"))))
    assert h1.flags == [] and report.layers[1].flags == []


def test_dead_relu_units_are_counted_and_flagged():
    report = report_for(bias=-50.0)           # two of four units never fire on any example
    h1 = report.layers[0]
    assert h1.dead_units == 2
    assert any("2 of 4 relu units are dead" in f for f in h1.flags)
    W = next(p for p in report.params if p.name == "h1.W")
    assert W.zero_share >= 0.5 and W.flags     # their weights get exactly zero gradient


def test_saturated_sigmoid_layer_is_flagged():
    report = report_for(act="sigmoid", scale=400.0)
    h1 = report.layers[0]
    assert h1.saturated_share >= 0.5
    assert any("saturated" in f for f in h1.flags)


def test_tanh_saturation_counts_both_bounds():
    report = report_for(act="tanh", scale=400.0)
    assert report.layers[0].saturated_share >= 0.5


def test_health_is_a_warning_not_a_mistake(capsys):
    program = NET.format(act="relu", scale=0.5, bias=-50.0)
    assert cli_main(["check", "-e", program]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "gradient health per layer" in out and "2 of 4 relu units are dead" in out
    assert cli_main(["check", "-e", program, "--json"]) == 0
    health = json.loads(capsys.readouterr().out)["health"]
    assert health["layers"][0]["dead_units"] == 2 and health["layers"][0]["act"] == "relu"
    assert [p["name"] for p in health["params"]] == ["h1.W", "h1.b", "h2.W", "h2.b"]
