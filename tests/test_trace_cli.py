"""Traces from the command line: run/script --trace, replay --json/--print, script over a trace,
diff, and damaged traces (exit 2 with the line, never a traceback)."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bpdebug.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CHAIN = EXAMPLES / "chain_rule.bp"
NETWORK = EXAMPLES / "network_232.bp"
SQUARE = """
def sq(t) = t * t
grad sq wrt t = {grad}
x = 3
f = sq(x) * x
"""


def bp(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def chain_trace(tmp_path, capsys):
    path = tmp_path / "chain.bpt"
    assert bp(capsys, "run", CHAIN, "--trace", path)[0] == 0
    return path


@pytest.mark.parametrize("program", [CHAIN, NETWORK, EXAMPLES / "neuron_fanout.bp"])
def test_replay_json_is_exactly_run_json(tmp_path, capsys, program):
    code, live, _ = bp(capsys, "run", program, "--json", "--trace", tmp_path / "t.bpt")
    assert code == 0
    code, replayed, err = bp(capsys, "replay", tmp_path / "t.bpt", "--json")
    assert code == 0 and err == ""
    assert replayed == live and json.loads(replayed)["output"]


def test_replay_print_is_the_transcript_of_stepping_through_the_live_run(capsys, chain_trace):
    code, replayed, _ = bp(capsys, "replay", chain_trace, "--print")
    steps = ["-c", "step"] * 10
    _, live, _ = bp(capsys, "script", CHAIN, *steps)
    assert code == 0
    assert replayed.splitlines() == [line for line in live.splitlines() if line != "(bpdebug) step"]
    assert "[backward 7/10] q = x + y" in replayed and "done: f = -12" in replayed


# network_232.bp with plain leaves for weights: a live program with params trains (its script
# goes on into the update phase), which a recording of the passes does not hold.
UNTRAINED_NETWORK = """x = [0.05, 0.10]
E = [0.01, 0.99]
hidden.W = [[0.15, 0.25, -0.30], [0.20, -0.10, 0.35]]
hidden.b = [0.35, 0.35, 0.35]
hidden.a = sigmoid(x @ hidden.W + hidden.b)
out.W = [[0.40, 0.50], [0.45, -0.55], [-0.20, 0.60]]
out.b = [0.60, 0.60]
out.z = hidden.a @ out.W + out.b
loss C = quadratic(sigmoid(out.z), E)
"""


def test_script_over_a_trace_prints_what_the_live_script_prints(tmp_path, capsys):
    trace = tmp_path / "n.bpt"
    network = tmp_path / "network.bp"
    network.write_text(UNTRAINED_NETWORK)
    assert bp(capsys, "run", network, "--trace", trace)[0] == 0
    commands = tmp_path / "cmds"
    commands.write_text("break backward out.z\nwatch norm(grad(hidden.W))\ncontinue\np out.z\n"
                        "back 2;; where\ntbreak forward C\nrestart\ncontinue\nuntil hidden.a\nlist\n"
                        "info breakpoints\ncontinue\ncontinue\n")
    code, replayed, err = bp(capsys, "script", trace, "--commands", commands)
    assert code == 0 and err == ""
    assert bp(capsys, "script", network, "--commands", commands)[1] == replayed
    assert "stopped at breakpoint 1 (backward out.z)" in replayed


def test_script_can_record_and_a_recording_cannot_take_set_or_trace(tmp_path, capsys, chain_trace):
    out = tmp_path / "s.bpt"
    assert bp(capsys, "script", CHAIN, "-c", "step 3", "-c", "back", "-c", "continue", "--trace", out)[0] == 0
    assert out.read_bytes() == chain_trace.read_bytes()
    code, _, err = bp(capsys, "script", chain_trace, "--set", "x=1", "-c", "c")
    assert code == 2 and "is a recording: --set cannot change it" in err
    code, _, err = bp(capsys, "script", chain_trace, "--trace", tmp_path / "x.bpt", "-c", "c")
    assert code == 2 and "already a recording" in err
    code, out_text, err = bp(capsys, "script", chain_trace, "-c", "set x = 4")
    assert code == 2 and "this is a recording" in err


def test_diff_of_the_same_program_agrees(tmp_path, capsys, chain_trace):
    other = tmp_path / "again.bpt"
    bp(capsys, "run", CHAIN, "--trace", other)
    code, out, _ = bp(capsys, "diff", chain_trace, other)
    assert code == 0 and "the traces agree: 10 steps" in out
    code, out, _ = bp(capsys, "diff", chain_trace, other, "--json")
    assert code == 0 and json.loads(out) == {"same": True, "first_divergence": None, "differences": 0}


def test_diff_of_a_changed_leaf_names_the_first_divergence(tmp_path, capsys, chain_trace):
    other = tmp_path / "x.bpt"
    bp(capsys, "run", CHAIN, "--set", "x=-3", "--trace", other)
    code, out, _ = bp(capsys, "diff", chain_trace, other, "--json")
    assert code == 1
    # x, q and f forward; f's local d/dz (= q) and z's gradient backward
    assert json.loads(out) == {"same": False, "differences": 5, "first_divergence": {
        "step": 1, "pass": "forward", "node": "x", "field": "value", "a": -2.0, "b": -3.0}}
    code, out, _ = bp(capsys, "diff", chain_trace, other)
    assert code == 1 and "differ at 5 of 10 steps" in out and "step 1 (forward x), value" in out
    code, out, _ = bp(capsys, "diff", chain_trace, other, "--atol", "4", "--json")   # f: -12, -8
    assert code == 0 and json.loads(out)["same"] is True


def test_diff_finds_a_custom_op_with_a_wrong_grad_line(tmp_path, capsys):
    traces = []
    for name, grad in [("right", "2*t"), ("wrong", "t")]:
        program = tmp_path / f"{name}.bp"
        program.write_text(SQUARE.format(grad=grad))
        traces.append(tmp_path / f"{name}.bpt")
        assert bp(capsys, "run", program, "--trace", traces[-1])[0] == 0
    code, out, _ = bp(capsys, "diff", *traces, "--json")
    result = json.loads(out)
    assert code == 1 and result["same"] is False
    # the forward pass agrees; the backward step of the call sq(x) (f.1) is the first to differ
    assert result["first_divergence"] == {"step": 5, "pass": "backward", "node": "f.1",
                                          "field": "local[x]", "a": 6.0, "b": 3.0}
    assert result["differences"] == 2          # f.1's step, and x's gradient


def test_diff_of_different_programs_aligns_nodes_by_name(tmp_path, capsys, chain_trace):
    program = tmp_path / "p.bp"
    program.write_text("z = -4\ny = 5\nx = -2\nq = x + y\nf = q * z\n")
    other = tmp_path / "p.bpt"
    bp(capsys, "run", program, "--trace", other)
    assert json.loads(bp(capsys, "diff", chain_trace, other, "--json")[1])["same"] is True
    program.write_text("x = -2\ny = 5\nz = -4\nq = x + y\nr = q * z\n")
    bp(capsys, "run", program, "--trace", other)
    code, out, _ = bp(capsys, "diff", chain_trace, other, "--json")
    assert code == 1
    assert json.loads(out)["first_divergence"] == {"step": 5, "pass": "forward", "node": "f",
                                                  "field": "node", "a": "f", "b": None}


def test_a_truncated_trace_replays_and_says_where_it_was_cut(capsys, chain_trace):
    lines = chain_trace.read_bytes().split(b"\n")
    chain_trace.write_bytes(b"\n".join(lines[:6]) + b"\n" + lines[6][:4])   # cut in step 6's line
    code, out, err = bp(capsys, "replay", chain_trace, "--json")
    assert code == 1 and f"{chain_trace}:7: the last line is incomplete" in err
    state = json.loads(out)                              # the 5 forward steps were kept
    assert state["value"] == -12.0 and state["nodes"][0]["grad"] is None    # not computed: null
    code, out, err = bp(capsys, "script", chain_trace, "-c", "continue", "-c", "p q")
    assert code == 0 and "q = x + y" in out and "warning" in err


@pytest.mark.parametrize("damage, words", [
    (lambda lines: lines.__setitem__(4, b"garbage here"), ":5:1: error: corrupted event: step 4"),
    (lambda lines: lines.__setitem__(0, lines[0].replace(b'"bpdebug_trace": 1', b'"bpdebug_trace": 7')),
     ":1:1: error: this trace is in format 7"),
    (lambda lines: lines.__setitem__(0, b"{}"), ":1:1: error: not a bpdebug trace"),
])
def test_a_damaged_trace_is_exit_2_with_its_line(capsys, chain_trace, damage, words):
    lines = chain_trace.read_bytes().split(b"\n")
    damage(lines)
    chain_trace.write_bytes(b"\n".join(lines))
    for argv in (["replay", chain_trace, "--json"], ["diff", chain_trace, chain_trace]):
        code, out, err = bp(capsys, *argv)
        assert code == 2 and words in err and out == ""


def test_a_program_is_not_a_trace(capsys):
    code, _, err = bp(capsys, "replay", CHAIN, "--print")
    assert code == 2 and "not a bpdebug trace" in err


def test_no_traceback_from_a_damaged_trace_in_a_fresh_interpreter(tmp_path, chain_trace):
    lines = chain_trace.read_bytes().split(b"\n")
    lines[3] = b"AAAA=AAA8D8"                         # the right shape, but not base64
    chain_trace.write_bytes(b"\n".join(lines))
    for argv in (["replay", chain_trace, "--json"], ["script", chain_trace, "-c", "c"],
                 ["diff", chain_trace, chain_trace]):
        done = subprocess.run([sys.executable, "-m", "bpdebug", *map(str, argv)], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and ":4:1: error: corrupted event" in done.stderr


def test_replay_opens_the_tui_on_the_recording(chain_trace):
    from bpdebug.trace import open_trace
    from bpdebug.tui.app import BpDebugApp

    async def go():
        session = open_trace(chain_trace)
        app = BpDebugApp(session)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")
            assert app.running is None and session.t == 10 and session.grad("x") == -4.0
            await pilot.press(*"rrrr")
            assert session.t == 6 and session.grads[0] is None
            await pilot.press("colon", *"set x = 3", "enter")
            assert session.value("x") == -2.0
    asyncio.run(go())


def test_headless_trace_commands_do_not_import_textual(chain_trace):
    code = ("import sys, bpdebug.cli\n"
            f"t = {str(chain_trace)!r}\n"
            "assert bpdebug.cli.main(['run', 'examples/chain_rule.bp', '--trace', t + '2']) == 0\n"
            "assert bpdebug.cli.main(['replay', t, '--json']) == 0\n"
            "assert bpdebug.cli.main(['replay', t, '--print']) == 0\n"
            "assert bpdebug.cli.main(['script', t, '-c', 'c']) == 0\n"
            "assert bpdebug.cli.main(['diff', t, t + '2']) == 0\n"
            "assert 'textual' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
