"""Traces through the Python API: a recording replays exactly what the live run did (every
event, value and gradient at every step), stepping and jumping in a replay match the live
session, recording follows `back` and `set`, and damaged files give located errors."""
from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug.commands import execute
from bpdebug.lang import BpError
from bpdebug.trace import ReplaySession, open_trace, record, recording
from bpdebug.trace.format import decode, encode

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEEDS = sorted(p.name for p in EXAMPLES.glob("*.bp"))

TENSORS = """
W = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
v = [1.0, -2.5, 3.0]
b = [0.1, -0.2]
h = tanh(W @ v + b)
s = sum(h * h) + mean(max(v, 0.5 * v)) + sum(softmax(h))
"""
EVERY_OP = """
x = 0.5; y = 1.5; c = -0.25
a = x*x*y + 2*x - y/x + x^y + -c
b = max(a, y) + min(x, c) + relu(x - 1) + abs(c) + sqrt(y) + exp(x) + log(y + 2)
d = sin(a) * cos(b) + tan(x) + tanh(a) * sigmoid(b) + softplus(c)
dead = d * 3
f = d / (a + 1)
output f
"""
CUSTOM = """
def f3(a, b, c) = a*b + c
grad f3 wrt a = b
grad f3 wrt b = a
grad f3 wrt c = 1
def sq(t) = t * t
x = 2; y = 3
z = f3(x, y, x) * f3(y, x, 1) + sq(x) + sq(y) + sq(x * y)
"""


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a, float), np.asarray(b, float),
                                                         equal_nan=True)


def assert_same_state(live, replay):
    assert live.t == replay.t and live.pass_ == replay.pass_ and live.current == replay.current
    for i in range(live.n):
        assert same(live.values[i], replay.values[i]), (live.t, live.graph.nodes[i].name)
        assert same(live.grads[i], replay.grads[i]), (live.t, live.graph.nodes[i].name)
    a, b = live.event(), replay.event()
    assert (a is None) == (b is None)
    if a is None:
        return
    assert (a.step, a.pass_, a.node.name, a.formula) == (b.step, b.pass_, b.node.name, b.formula)
    assert same(a.value, b.value) and same(a.upstream, b.upstream)
    assert [n for n, _ in a.inputs] == [n for n, _ in b.inputs]
    assert all(same(x, y) for (_, x), (_, y) in zip(a.inputs, b.inputs))
    assert len(a.terms) == len(b.terms)
    for x, y in zip(a.terms, b.terms):
        assert (x.input, x.derivative) == (y.input, y.derivative)
        assert same(x.local, y.local) and same(x.contribution, y.contribution)
        assert same(x.accumulated, y.accumulated), (a.node.name, x.input)
    assert [n for n, _ in live.received(a.node.index)] == [n for n, _ in replay.received(b.node.index)]


def recorded(tmp_path, text: str, values=None, name="p.bp"):
    """(live session run to the end while recording, replay of the trace)."""
    path = tmp_path / "t.bpt"
    live = bpdebug.load(text, name, values)
    with recording(live, path, values):
        live.run()
    return live, open_trace(path)


def every_step(live, replay):
    live.restart()
    replay.restart()
    assert_same_state(live, replay)
    for _ in range(live.total):
        live.step()
        replay.step()
        assert_same_state(live, replay)


@pytest.mark.parametrize("name", SEEDS)
def test_a_seed_example_replays_exactly_what_the_live_run_did(tmp_path, name):
    text = (EXAMPLES / name).read_text()
    for csv in EXAMPLES.glob("*.csv"):
        shutil.copy(csv, tmp_path)
    (tmp_path / "data").mkdir()
    for csv in (EXAMPLES / "data").glob("*.csv"):   # the first 100 rows of the digits are enough here
        (tmp_path / "data" / csv.name).write_text("".join(csv.read_text().splitlines(keepends=True)[:101]))
    live, replay = recorded(tmp_path, text, name=str(tmp_path / name))
    assert isinstance(replay, ReplaySession) and replay.recorded == live.total
    every_step(live, replay)


@pytest.mark.parametrize("text", [TENSORS, EVERY_OP, CUSTOM], ids=["tensors", "every-op", "custom"])
def test_tensor_custom_and_every_op_programs_replay_exactly(tmp_path, text):
    live, replay = recorded(tmp_path, text)
    every_step(live, replay)


def test_the_scalar_fast_path_writes_the_same_bytes_as_the_plain_one(tmp_path):
    for text in (EVERY_OP, CUSTOM, "x = 2; y = x * x; z = y * x + y"):
        files = []
        for fast in (True, False):
            path = tmp_path / f"{fast}.bpt"
            live = bpdebug.load(text)
            recorder = record(live, path)
            recorder.scalar = recorder.scalar and fast
            live.run()
            recorder.close()
            files.append(path.read_bytes())
        assert files[0] == files[1]


def test_recording_changes_nothing_in_the_run(tmp_path):
    text = (EXAMPLES / "network_232.bp").read_text()
    live, _ = recorded(tmp_path, text)
    plain = bpdebug.load(text)
    plain.run()
    for i in range(plain.n):
        assert same(plain.values[i], live.values[i]) and same(plain.grads[i], live.grads[i])


def test_back_forward_and_jumps_in_a_replay_match_the_live_session(tmp_path):
    live, replay = recorded(tmp_path, EVERY_OP)
    live.restart()
    rng = random.Random(4)
    for _ in range(150):
        move = rng.choice(["step", "back", "goto", "next", "restart"])
        if move == "goto":
            target = rng.randint(0, live.total)
            live.goto(target)
            replay.goto(target)
        else:
            arg = f" {rng.randint(1, 5)}" if move in ("step", "back") else ""
            assert execute(live, move + arg).text == execute(replay, move + arg).text
        assert_same_state(live, replay)


def test_breakpoints_conditions_and_watches_work_on_a_recording(tmp_path):
    live, replay = recorded(tmp_path, EVERY_OP)
    script = ["restart", "break backward a if abs(grad(x)) > 0", "watch grad(x)", "tbreak forward d",
              "continue", "p a", "continue", "where", "back 3", "continue", "info breakpoints",
              "until b", "p x", "continue", "continue"]
    for line in script:
        assert execute(live, line).text == execute(replay, line).text, line


def test_a_replay_cannot_be_changed(tmp_path):
    _, replay = recorded(tmp_path, "x = 2; f = x * x")
    replay.goto(3)
    result = execute(replay, "set x = 3")
    assert result.error and "this is a recording" in result.text
    assert replay.t == 3 and replay.value("x") == 2.0


def test_set_in_a_recorded_session_starts_the_trace_again_with_the_new_value(tmp_path):
    path = tmp_path / "t.bpt"
    live = bpdebug.load("x = 2; y = 3; q = x * y; f = q + x")
    with recording(live, path):
        for line in ["step 4", "back 2", "step 5", "set x = 5", "continue", "back 3", "step 2"]:
            assert not execute(live, line).error
    replay = open_trace(path)
    fresh = bpdebug.load("x = 2; y = 3; q = x * y; f = q + x", values={"x": 5.0})
    fresh.run()
    assert replay.recorded == fresh.total
    assert replay.trace.header["set"] == {"x": 5.0}
    every_step(fresh, replay)


def test_a_recording_stopped_early_replays_the_steps_it_has(tmp_path):
    path = tmp_path / "t.bpt"
    live = bpdebug.load((EXAMPLES / "chain_rule.bp").read_text())
    with recording(live, path):
        execute(live, "break backward q")
        assert live.run().reason == "breakpoint"
    replay = open_trace(path)
    assert replay.recorded == live.t < replay.total and not replay.trace.warning
    stop = replay.run()
    assert stop.reason == "end" and "the recording ends here" in stop.detail
    assert_same_state(live, replay)


def test_data_comes_from_the_trace_not_from_the_csv(tmp_path):
    shutil.copy(EXAMPLES / "xor.bp", tmp_path)
    shutil.copy(EXAMPLES / "xor.csv", tmp_path)
    live = bpdebug.load_file(tmp_path / "xor.bp")
    with recording(live, tmp_path / "t.bpt"):
        live.run()
    (tmp_path / "xor.csv").unlink()
    replay = open_trace(tmp_path / "t.bpt")
    assert replay.trace.header["data"] == {"X": 1, "Y": 2}
    every_step(live, replay)


def test_values_are_encoded_exactly_and_without_decimals():
    for x in [0.0, -0.0, 1.0, -12.5, 1e-310, 1.7976931348623157e308, float("inf"), float("nan"),
              np.float64(0.1), np.arange(6.0).reshape(2, 3), np.zeros((0, 3)), np.array([np.nan, -np.inf]),
              None]:
        field = encode(x)
        assert " " not in field and "." not in field
        back = decode(field)
        if x is None:
            assert back is None
        else:
            assert np.shape(back) == np.shape(x)
            assert np.asarray(back, "<f8").tobytes() == np.asarray(x, "<f8").tobytes()
    for bad in ["AAAAAAAA8D", "AAAAAAAA8D8=", "AA*AAAAA8D8", "2x3:AAAA", "x:AAAA", "3:!!!!"]:
        with pytest.raises(ValueError):
            decode(bad)


# ---- damaged traces ------------------------------------------------------------------------------

@pytest.fixture
def chain_trace(tmp_path):
    path = tmp_path / "t.bpt"
    live = bpdebug.load_file(EXAMPLES / "chain_rule.bp")
    with recording(live, path):
        live.run()
    return path


def test_a_trace_cut_inside_a_line_replays_the_complete_steps_and_names_the_line(chain_trace):
    data = chain_trace.read_bytes()
    lines = data.split(b"\n")
    chain_trace.write_bytes(b"\n".join(lines[:8]) + b"\n" + lines[8][:5])
    replay = open_trace(chain_trace)
    assert replay.recorded == 7
    assert f"{chain_trace}:9: the last line is incomplete" in replay.trace.warning
    replay.goto(7)
    assert replay.value("f") == -12.0 and replay.grad("q") == -4.0


def test_a_trace_cut_between_lines_is_a_shorter_recording(chain_trace):
    lines = chain_trace.read_bytes().split(b"\n")
    chain_trace.write_bytes(b"\n".join(lines[:4]) + b"\n")
    replay = open_trace(chain_trace)
    assert replay.recorded == 3 and not replay.trace.warning
    assert replay.run().reason == "end" and replay.values[2] == -4.0 and replay.values[3] is None


@pytest.mark.parametrize("damage, line, words", [
    (lambda lines: lines.__setitem__(3, b"AAAAAAAA8D8 AAAAAAAA8D8"), 4, "step 3 (forward"),
    (lambda lines: lines.__setitem__(7, lines[7][:-4]), 8, "step 7 (backward"),
    (lambda lines: lines.__setitem__(2, b"AAAA\xffAAA8D8"), 3, "step 2 (forward"),
    (lambda lines: lines.insert(5, b"AAAAAAAA8D8"), 0, "more events"),
])
def test_a_corrupted_line_is_an_error_with_its_line_number(chain_trace, damage, line, words):
    lines = chain_trace.read_bytes().split(b"\n")
    damage(lines)
    chain_trace.write_bytes(b"\n".join(lines))
    with pytest.raises(BpError) as err:
        open_trace(chain_trace)
    assert words in err.value.message
    if line:
        assert err.value.line == line and str(err.value).startswith(f"{chain_trace}:{line}:")


def test_every_field_of_a_scalar_trace_is_checked_when_it_opens(chain_trace):
    lines = chain_trace.read_bytes().split(b"\n")
    lines[7] = lines[7][:12] + b"AAAA=AAA8D8" + lines[7][23:]     # the right shape, not base64
    chain_trace.write_bytes(b"\n".join(lines))
    with pytest.raises(BpError) as err:
        open_trace(chain_trace)
    assert err.value.line == 8 and "step 7 (backward q)" in err.value.message


def test_a_damaged_tensor_is_found_when_the_trace_opens(tmp_path):
    _, replay = recorded(tmp_path, TENSORS)
    path = replay.trace.path
    lines = Path(path).read_bytes().split(b"\n")
    lines[1] = lines[1][:12] + b"=" + lines[1][13:]               # W's value: '=' inside base64
    Path(path).write_bytes(b"\n".join(lines))
    with pytest.raises(BpError) as err:
        open_trace(path)
    assert err.value.line == 2 and "corrupted event" in err.value.message


@pytest.mark.parametrize("header, words", [
    (b'{"bpdebug_trace": 2, "bpdebug": "9.0"}', "format 2 (written by bpdebug 9.0)"),
    (b'{"bpdebug_trace": 1, "bpdebug": "0.1.0"}', "no valid 'file'"),
    (b'{"bpdebug_trace"', "not a bpdebug trace"),
    (b"x = 1", "not a bpdebug trace"),
])
def test_a_bad_header_is_a_clear_error(chain_trace, header, words):
    lines = chain_trace.read_bytes().split(b"\n")
    chain_trace.write_bytes(b"\n".join([header] + lines[1:]))
    with pytest.raises(BpError) as err:
        open_trace(chain_trace)
    assert words in err.value.message and err.value.line == 1


def test_an_empty_or_missing_file_is_an_error(tmp_path):
    (tmp_path / "empty.bpt").write_bytes(b"")
    for path, words in [(tmp_path / "empty.bpt", "empty"), (tmp_path / "none.bpt", "cannot read")]:
        with pytest.raises(BpError, match=words):
            open_trace(path)


def test_traces_hold_no_pickle_and_are_text(chain_trace):
    modules = sorted((Path(bpdebug.__file__).parent / "trace").glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        source = module.read_text()
        assert not re.search(r"import pickle|pickle\.|allow_pickle=True|\beval\(|\bexec\(", source)
    chain_trace.read_bytes().decode("ascii")


def test_a_breakpoint_tested_at_every_step_changes_nothing_in_the_trace(tmp_path):
    files = []
    for condition in (None, "break if abs(value) > 1e300", "break backward if isnan(grad)"):
        live = bpdebug.load(EVERY_OP)
        path = tmp_path / f"{len(files)}.bpt"
        with recording(live, path):
            if condition:
                execute(live, condition)
            assert live.run().reason == "end"
        files.append(path.read_bytes())
    assert files[0] == files[1] == files[2]


def test_a_killed_session_leaves_every_step_before_its_last_stop(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "t.bpt"
    code = ("import os, bpdebug\nfrom bpdebug.commands import execute\nfrom bpdebug.trace import record\n"
            f"s = bpdebug.load_file({str(EXAMPLES / 'network_232.bp')!r})\nrecord(s, {str(path)!r})\n"
            "execute(s, 'step 3'); execute(s, 'break backward out.z'); execute(s, 'continue')\n"
            "s.run(limit=2)\nos._exit(9)   # no cleanup, as if killed\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr
    replay = open_trace(path)
    live = bpdebug.load_file(EXAMPLES / "network_232.bp")
    execute(live, "break backward out.z")
    live.run()
    assert replay.recorded == live.t + 2 and not replay.trace.warning
    replay.goto(live.t)
    assert_same_state(live, replay)


@pytest.mark.parametrize("all_gradients", [False, True])
def test_a_training_session_records_and_replays(tmp_path, all_gradients):
    # A trainer's kernel writes gradients only to the nodes that lead to a param.
    from bpdebug.train import Trainer

    trainer = Trainer(bpdebug.load_file(EXAMPLES / "xor.bp"), 0.5, all_gradients=all_gradients)
    path = tmp_path / "xor.bpt"
    with recording(trainer.session, path, {}):
        trainer.run(2)
        trainer.session.run()
    live, replay = trainer.session, open_trace(path)
    replay.run()
    for name in ("h.W", "h.b", "out.W", "C"):
        np.testing.assert_array_equal(replay.value(name), live.value(name))
        np.testing.assert_array_equal(replay.grad(name), live.grad(name))


@pytest.mark.parametrize("text, first, second", [
    ("x = 3\nf = x * x", 3.0, 6.0),
    ("v = [1, 2]\nf = sum(v * v)", [1.0, 2.0], [2.0, 4.0]),
], ids=["scalar", "tensor"])
def test_a_node_reading_an_input_twice_records_the_running_sum(tmp_path, text, first, second):
    live, replay = recorded(tmp_path, text)
    square = live.graph.nodes[-1] if "sum" not in text else live.graph.node("f.1")
    event = replay.trace.event(replay.trace.backward_step(square.index))
    assert [np.asarray(a).tolist() for a in event.accumulated] == [first, second]
    replay.goto(replay.total)
    assert np.asarray(replay.grad(live.graph.nodes[0].name)).tolist() == second      # the last write
    every_step(live, replay)


def test_next_over_a_def_call_in_a_replay_is_the_live_one(tmp_path):
    live, replay = recorded(tmp_path, "def sq(a) = a * a\nx = 3\ny = sq(x) * x")
    live.restart()
    replay.restart()
    while live.t < live.total:
        a, b = live.next(), replay.next()
        assert (a.event.node.name, a.event.formula, a.event.over) == (b.event.node.name, b.event.formula, b.event.over)
        assert [(t.input, t.contribution, t.accumulated) for t in a.event.terms] == \
            [(t.input, t.contribution, t.accumulated) for t in b.event.terms]
        assert live.current == replay.current
    live.back()
    replay.back()
    assert live.current == replay.current and replay.stepped_over is None
