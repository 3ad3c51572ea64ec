"""The update phase done all at once (train/end_to_end.py: the optimizer on every param laid end
to end) gives exactly the numbers and the Updates of one update at a time, whatever the
optimizer, with scalar and tensor params, after stepping some updates by hand, and back."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.train import Trainer
from bpdebug.train.optimizers import make_optimizer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# a shared scalar bias (b=0.35), vector biases and matrices: every kind of param
PROGRAM = ("x = [[0.05, 0.10], [0.3, -0.2], [0.9, 0.4]]\nY = [[0.01, 0.99], [0.5, 0.5], [1, 0]]\n"
           "layer h = dense(x, 3, b=0.35, act=tanh, seed=1)\nlayer o = dense(h, 2, act=sigmoid, seed=2)\n"
           "loss C = quadratic(o, Y)\n")
OPTIMIZERS = [{"name": "sgd"}, {"name": "sgd", "weight_decay": 0.1}, {"name": "momentum"},
              {"name": "momentum", "nesterov": True, "weight_decay": 0.01}, {"name": "adam"},
              {"name": "adam", "beta1": 0.5, "weight_decay": 0.2}]


def trainer(one_by_one: bool, **optimizer) -> Trainer:
    t = Trainer(bpdebug.load(PROGRAM), 0.5, optimizer=make_optimizer(**optimizer))
    assert t._end_to_end is not None               # small params: all at once unless told not to
    if one_by_one:
        t._end_to_end = None
    return t


def assert_same_updates(a: Trainer, b: Trainer) -> None:
    assert [u.param for u in a.updates] == [u.param for u in b.updates]
    for u, v in zip(a.updates, b.updates):
        for field in ("old", "grad", "new"):
            np.testing.assert_array_equal(getattr(u, field), getattr(v, field), err_msg=f"{u.param} {field}")
            assert np.shape(getattr(u, field)) == np.shape(getattr(v, field))
        for before, after in ((u.state_before, v.state_before), (u.state_after, v.state_after)):
            np.testing.assert_equal(before, after)
        assert [(x.name, x.numbers) for x in u.explain()] == [(x.name, x.numbers) for x in v.explain()]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: "-".join(f"{v}" for v in o.values()))
def test_all_at_once_is_exactly_one_at_a_time(optimizer):
    a, b = trainer(False, **optimizer), trainer(True, **optimizer)
    for _ in range(6):
        a.run(1)
        b.run(1)
        assert_same_updates(a, b)
    assert a.losses == b.losses
    for name, value in b.param_values().items():
        np.testing.assert_array_equal(a.param_values()[name], value, err_msg=name)
    assert isinstance(a.param_values()["h.b"], float)   # a scalar param stays a number


def test_updates_stepped_by_hand_then_the_rest_at_once_and_back():
    a, b = trainer(False, name="adam"), trainer(True, name="adam")
    for t in (a, b):
        t.run(2)
        t.step(t.session.total + 2)             # the passes, then two updates one at a time
        t.finish_updates()                      # the other two: one by one (the phase has begun)
    assert_same_updates(a, b)
    for t in (a, b):
        t.run(1)
        t.back(3)                               # three updates of the last step taken back
        assert t.applied == 1
    for name, value in b.param_values().items():
        np.testing.assert_array_equal(a.param_values()[name], value, err_msg=name)
    np.testing.assert_equal(a.state, b.state)
    for t in (a, b):
        t.run(3)                                # and on from there, all at once again for a
    assert_same_updates(a, b)
    assert a.losses == b.losses


def test_big_params_are_updated_one_at_a_time():
    big = "param W = randn(300, 300, seed=0)\nparam c = 1\nloss C = sum(W * W) * c\n"
    assert Trainer(bpdebug.load(big), 0.1)._end_to_end is None


def test_a_param_set_from_outside_is_read_again():
    a, b = trainer(False, name="momentum"), trainer(True, name="momentum")
    for t in (a, b):
        t.run(2)
        t.begin_step()
        t._set_param(t.session.graph.index("o.b"), np.array([0.25, -0.5]))   # as `set` or --load would
        t.run(2)
    for name, value in b.param_values().items():
        np.testing.assert_array_equal(a.param_values()[name], value, err_msg=name)
