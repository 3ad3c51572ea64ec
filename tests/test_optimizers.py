"""Optimizers and schedules against PyTorch's rules, written out by hand in numpy from the
algorithms torch.optim documents (no torch needed): after N steps on the same data the params
agree to 1e-9 relative. Gradients on the reference side come from backprop written by hand."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.train.optimizers import make_optimizer
from bpdebug.train.schedules import parse_schedule
from bpdebug.train.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
Y = np.array([[0], [1], [1], [0]], float)
NAMES = ("h.W", "h.b", "out.W", "out.b")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def xor_gradients(p: dict) -> dict:
    """dC/dparam of xor.bp's 2-3-1 sigmoid net with C = 0.5 * sum((a - y)^2) / 4, by hand."""
    h = sigmoid(X @ p["h.W"] + p["h.b"])
    a = sigmoid(h @ p["out.W"] + p["out.b"])
    dz2 = (a - Y) / 4 * a * (1 - a)
    dz1 = dz2 @ p["out.W"].T * h * (1 - h)
    return {"h.W": X.T @ dz1, "h.b": dz1.sum(0), "out.W": h.T @ dz2, "out.b": dz2.sum(0)}


def torch_sgd(p, steps, lr, momentum=0.0, nesterov=False, weight_decay=0.0, lrs=None):
    """torch.optim.SGD's documented algorithm (dampening 0)."""
    p = {k: v.copy() for k, v in p.items()}
    buf = {}
    for t in range(1, steps + 1):
        gamma = lrs[t - 1] if lrs else lr
        grads = xor_gradients(p)
        for k in NAMES:
            g = grads[k]
            if weight_decay != 0:
                g = g + weight_decay * p[k]
            if momentum != 0:
                buf[k] = g if t == 1 else momentum * buf[k] + g
                g = g + momentum * buf[k] if nesterov else buf[k]
            p[k] = p[k] - gamma * g
    return p


def torch_adam(p, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    """torch.optim.Adam's documented algorithm (amsgrad off)."""
    p = {k: v.copy() for k, v in p.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(1, steps + 1):
        grads = xor_gradients(p)
        for k in NAMES:
            g = grads[k]
            if weight_decay != 0:
                g = g + weight_decay * p[k]
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g * g
            m_hat = m[k] / (1 - beta1 ** t)
            v_hat = v[k] / (1 - beta2 ** t)
            p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def trained(steps: int, lr: float, schedule=None, **optimizer) -> tuple[dict, dict]:
    """(initial params, params after `steps` steps) of xor.bp under bpdebug's Trainer."""
    trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr, optimizer=make_optimizer(**optimizer),
                      schedule=schedule)
    start = {k: np.array(v) for k, v in trainer.param_values().items()}
    trainer.run(steps)
    assert trainer.steps_done == steps
    return start, trainer.param_values()


def assert_close(ours: dict, reference: dict) -> None:
    for k in NAMES:
        np.testing.assert_allclose(ours[k], reference[k], rtol=1e-9, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("kwargs", [
    {"name": "sgd"},
    {"name": "sgd", "weight_decay": 0.01},
    {"name": "momentum", "momentum": 0.9},
    {"name": "momentum", "momentum": 0.5, "weight_decay": 0.003},
    {"name": "momentum", "momentum": 0.9, "nesterov": True},
], ids=["sgd", "sgd-wd", "momentum", "momentum-wd", "nesterov"])
def test_sgd_and_momentum_agree_with_torchs_rule(kwargs):
    start, ours = trained(25, 2.0, **kwargs)
    reference = torch_sgd(start, 25, 2.0, kwargs.get("momentum", 0.0), kwargs.get("nesterov", False),
                          kwargs.get("weight_decay", 0.0))
    assert_close(ours, reference)
    assert not np.allclose(ours["h.W"], start["h.W"])          # they did move


@pytest.mark.parametrize("kwargs", [{}, {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.02}],
                         ids=["defaults", "other-constants"])
def test_adam_agrees_with_torchs_bias_corrected_rule(kwargs):
    start, ours = trained(25, 0.05, name="adam", **kwargs)
    assert_close(ours, torch_adam(start, 25, 0.05, **kwargs))


def test_adams_first_step_moves_every_element_by_about_lr():
    # m-hat / sqrt(v-hat) is g / |g| at t = 1: a step of lr whatever the gradient's size
    start, ours = trained(1, 0.01, name="adam")
    for k in NAMES:
        np.testing.assert_allclose(np.abs(ours[k] - start[k]), 0.01, rtol=1e-3)   # eps aside


def torch_rates(kind: str, lr: float, steps: int, lr_end: float = 0.0, every=1, factor=1.0) -> list:
    """The rate of each step, as torch's LinearLR (to lr_end), CosineAnnealingLR (eta_min =
    lr_end, T_max = steps) and StepLR give it, stepped once per training step."""
    out = []
    for t in range(steps):                      # t: scheduler steps taken before this step
        if kind == "linear":
            out.append(lr + (lr_end - lr) * t / steps)
        elif kind == "cosine":
            out.append(lr_end + (lr - lr_end) * (1 + math.cos(math.pi * t / steps)) / 2)
        elif kind == "step":
            out.append(lr * factor ** (t // every))
        else:
            out.append(lr)
    return out


@pytest.mark.parametrize("text, kind, extra", [
    ("constant", "constant", {}), ("linear", "linear", {"lr_end": 0.25}), ("cosine", "cosine", {"lr_end": 0.1}),
    ("step:4:0.5", "step", {"every": 4, "factor": 0.5})], ids=["constant", "linear", "cosine", "step"])
def test_schedules_give_torchs_rates_and_the_updates_use_them(text, kind, extra):
    steps, lr = 12, 2.0
    schedule = parse_schedule(text, extra.get("lr_end", 0.0), steps)
    trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), lr, schedule=schedule)
    start = {k: np.array(v) for k, v in trainer.param_values().items()}
    trainer.run(steps)
    expected = torch_rates(kind, lr, steps, **extra)
    np.testing.assert_allclose(trainer.rates, expected, rtol=1e-12)
    assert_close(trainer.param_values(), torch_sgd(start, steps, lr, lrs=expected))


def test_a_step_schedule_past_floats_range_gives_an_infinite_rate_not_an_overflow_error():
    assert parse_schedule("step:1:10").rate(1.0, 400) == math.inf


@pytest.mark.parametrize("text, message", [
    ("warmup", "unknown schedule 'warmup'"), ("step:0:0.5", "EVERY in step:EVERY:FACTOR"),
    ("step:10", "expected step:EVERY:FACTOR"), ("step:10:-1", "FACTOR in step:EVERY:FACTOR"),
    ("step:²:0.5", "EVERY in step:EVERY:FACTOR"), ("step:10:nan", "FACTOR")])
def test_bad_schedules_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_schedule(text, steps=10)
    with pytest.raises(ValueError, match="runs over a number of steps"):
        parse_schedule("cosine")


def test_taking_an_update_back_restores_the_optimizers_state_too():
    trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), 0.1, optimizer=make_optimizer("adam"))
    trainer.run(3)
    trainer.finish_step()
    after = trainer.param_values()
    trainer.back(len(trainer.params))                  # the fourth step's updates, taken back
    trainer.finish_updates()                           # and applied again: the same numbers
    for k in NAMES:
        np.testing.assert_array_equal(trainer.param_values()[k], after[k])
    assert trainer.state[trainer.params[0]][0] == 4    # Adam's t counts the step once


def test_an_adam_update_of_a_scalar_is_spelled_out_with_its_numbers():
    trainer = Trainer(bpdebug.load("param w = 3\nloss C = (w - 1)^2"), 0.5, optimizer=make_optimizer("adam"))
    trainer.session.run()
    u = trainer.update()                               # dC/dw = 2 (w - 1) = 4
    lines = {q.name: q for q in u.explain()}
    assert list(lines) == ["m", "v", "m\u0302", "v\u0302", "w"]
    assert lines["m"].numbers == "0.9 * 0 + 0.1 * 4" and lines["m"].value == pytest.approx(0.4)
    assert lines["v"].numbers == "0.999 * 0 + 0.001 * 4^2" and lines["v"].value == pytest.approx(0.016)
    assert lines["m\u0302"].value == pytest.approx(4) and lines["v\u0302"].value == pytest.approx(16)
    assert lines["w"].numbers == "3 - 0.5 * 4 / (sqrt(16) + 1e-08)"
    assert u.new == pytest.approx(3 - 0.5 * 4 / (4 + 1e-8))
    assert u.formula == "w = w - 0.5 * m\u0302 / (sqrt(v\u0302) + 1e-08)"


def test_momentum_shows_its_velocity_and_a_tensor_param_its_values():
    trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), 0.5,
                      optimizer=make_optimizer("momentum", momentum=0.9, weight_decay=0.1))
    trainer.run(1)
    trainer.begin_step()
    trainer.session.run()
    u = trainer.update()
    g, v, param = u.explain()
    assert (g.name, g.formula) == ("g", "dC/dh.W + 0.1 * h.W") and g.numbers is None
    assert (v.name, v.formula) == ("v", "0.9 * v + g")
    np.testing.assert_allclose(v.value, 0.9 * (u.state_before) + (u.grad + 0.1 * u.old))
    assert (param.name, param.formula) == ("h.W", "h.W - 0.5 * v")
    np.testing.assert_array_equal(param.value, u.new)
