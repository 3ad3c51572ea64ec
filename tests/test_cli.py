"""The headless CLI in a subprocess: `bpdebug run` and `bpdebug script`, exit codes 0 and 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BPDEBUG = [sys.executable, "-m", "bpdebug"]


def bp(*args, stdin: str | None = None, cwd=ROOT):
    return subprocess.run([*BPDEBUG, *map(str, args)], capture_output=True, text=True, input=stdin,
                          cwd=cwd, timeout=60)


def assert_clean_failure(done, *fragments):
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


# ---- run -------------------------------------------------------------------------------------------

def test_run_prints_a_table_of_every_node():
    done = bp("run", "examples/chain_rule.bp")
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:6]]
            for line in done.stdout.splitlines() if line.startswith("│")}
    assert rows["q"] == ["add", "", "3", "-4"]
    assert rows["x"] == ["leaf", "", "-2", "-4"]
    assert rows["f"] == ["mul", "", "-12", "1"]
    assert "5 nodes, output f" in done.stdout
    assert done.stderr == ""


JSON_PROGRAM = """def cube(a) = a * a * a
grad cube wrt a = 3 * a^2
def sq(a) = a * a
x = 2
y = cube(x)
w = sq(y)
v = [1, 3]
loss f = w + sum(v * v)
"""


def test_run_json_has_exactly_the_documented_format():
    done = bp("run", "--json", "-e", JSON_PROGRAM)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"output", "value", "stop", "nodes"} and data["stop"] is None
    assert data["output"] == "f" and data["value"] == 64.0 + 10.0
    for node in data["nodes"]:
        assert set(node) == {"name", "op", "inputs", "shape", "value", "grad"}
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["x"] == {"name": "x", "op": "leaf", "inputs": [], "shape": [], "value": 2.0,
                          "grad": 2 * 8.0 * 3 * 2.0 ** 2}
    assert nodes["y"]["op"] == "cube" and nodes["y"]["inputs"] == ["x"]     # a custom op: its name
    assert nodes["w"]["op"] == "sq"                                        # an inline def's call too
    assert nodes["v"]["shape"] == [2] and nodes["v"]["value"] == [1.0, 3.0] and nodes["v"]["grad"] == [2.0, 6.0]
    assert nodes["f"]["grad"] == 1.0


def test_run_json_flags_nonfinite_values_as_strings():
    done = bp("run", "--json", "-e", "v = [1, 0]\nf = sum(log(v))")
    data = json.loads(done.stdout)
    nodes = {n["name"]: n for n in data["nodes"]}
    assert data["value"] == "-inf"
    assert nodes["v"]["grad"] == [1.0, "inf"]


def test_run_flags_nonfinite_nodes_in_the_table():
    done = bp("run", "-e", "x = 1\ny = 0\nf = x / y")
    assert done.returncode == 0
    assert "non-finite values (nan or inf) at 3 node(s): x, y, f" in done.stdout
    assert "Warning" not in done.stderr


def test_run_lists_a_big_graph_by_its_ends_and_its_nonfinite_nodes(tmp_path):
    chain = ["x0 = 0.5"] + [f"x{i} = tanh(x{i - 1})" for i in range(1, 400)]
    chain[150] = "x150 = log(x149 - 1000)"  # nan in the middle, where the table would skip
    program = tmp_path / "big.bp"
    program.write_text("\n".join(chain))
    short = bp("run", program)
    assert short.returncode == 0
    names = {line.split()[1] for line in short.stdout.splitlines() if line.startswith("│ x")}
    assert {"x0", "x99", "x150", "x300", "x399"} <= names and "x120" not in names
    assert "nodes not listed: --all lists every node" in short.stdout
    full = bp("run", program, "--all")
    assert "x120 " in full.stdout and "not listed" not in full.stdout


def test_set_replaces_a_layers_parameters():
    done = bp("run", "examples/xor.bp", "--set", "h.W=[[1, 2, 3], [4, 5, 6]]", "--set", "h.b=[1, 2, 3]", "--json")
    assert done.returncode == 0, done.stderr
    nodes = {n["name"]: n for n in json.loads(done.stdout)["nodes"]}
    assert nodes["h.W"]["value"] == [[1, 2, 3], [4, 5, 6]] and nodes["h.b"]["value"] == [1, 2, 3]
    assert_clean_failure(bp("run", "examples/xor.bp", "--set", "h.W=[1, 2]"), "W must have shape (2, units)")


def test_run_with_e_and_set():
    done = bp("run", "--json", "-e", "f = (x + y) * z", "--set", "x=-2", "--set", "y=5", "--set", "z=-4")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    grads = {n["name"]: n["grad"] for n in data["nodes"]}
    assert data["value"] == -12.0 and (grads["x"], grads["y"], grads["z"]) == (-4.0, -4.0, 3.0)


def test_set_overrides_a_value_in_the_file_and_takes_tensors():
    done = bp("run", "--json", EXAMPLES / "product_gate.bp", "--set", "x=10")
    assert json.loads(done.stdout)["value"] == -30.0
    done = bp("run", "--json", "-e", "f = sum(v * v)", "--set", "v=[1, 2]")
    assert json.loads(done.stdout)["value"] == 5.0


def test_run_stops_at_a_break_and_says_where():
    done = bp("run", EXAMPLES / "chain_rule.bp", "--break", "backward q")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stopped at breakpoint 1 (backward q)\n[backward 7/10] q = x + y")


def test_run_break_json_carries_the_stop_and_null_for_what_is_not_computed():
    done = bp("run", "--json", EXAMPLES / "chain_rule.bp", "--break", "forward q")
    data = json.loads(done.stdout)
    assert data["stop"] == {"step": 4, "pass": "forward", "node": "q", "breakpoint": 1}
    nodes = {n["name"]: n for n in data["nodes"]}
    assert data["value"] is None and nodes["f"]["value"] is None       # the output: not computed yet
    assert [nodes[k]["grad"] for k in "xyzq"] == [None] * 4           # the table shows them as —, not 0
    assert nodes["f"]["grad"] == 1.0                                  # the seed
    done = bp("run", "--json", EXAMPLES / "chain_rule.bp", "--break", "backward q")
    data = json.loads(done.stdout)
    assert data["stop"] == {"step": 7, "pass": "backward", "node": "q", "breakpoint": 1}
    assert data["value"] == -12.0
    assert {n["name"]: n["grad"] for n in data["nodes"]} == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}


def test_run_json_gives_a_zero_gradient_only_once_the_backward_step_is_taken():
    program = "x = 2\nunused = 5\nf = x * 3\noutput f"        # f does not depend on `unused`
    at_end = {n["name"]: n["grad"] for n in json.loads(bp("run", "--json", "-e", program).stdout)["nodes"]}
    assert at_end["unused"] == 0.0
    stopped = bp("run", "--json", "-e", program, "--break", "backward f")
    assert {n["name"]: n["grad"] for n in json.loads(stopped.stdout)["nodes"]}["unused"] is None


def test_run_with_a_conditional_break_in_json():
    done = bp("run", "--json", EXAMPLES / "chain_rule.bp", "--break", "if value < -3")
    data = json.loads(done.stdout)
    values = {n["name"]: n["value"] for n in data["nodes"]}
    assert values["z"] == -4.0 and values["q"] is None    # stopped after the forward step of z


@pytest.mark.parametrize("args, fragments", [
    (["run", "-e", "x = 1\nf = x *"], ["<-e>:2:8: error: unexpected end of input", "    f = x *", "^"]),
    (["run", "-e", "x = 1\nf = sigmod(x)"], ["unknown function 'sigmod'", "did you mean 'sigmoid'?"]),
    (["run", "-e", "v = [1, 2]\nf = v * 2"], ["needs a scalar output"]),
    (["run", "examples/missing.bp"], ["cannot read examples/missing.bp"]),
    (["run"], ["no program"]),
    (["run", "examples/chain_rule.bp", "-e", "f = 1"], ["either FILE or -e"]),
    (["run", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["run", "-e", "f = x * 2", "--set", "x"], ["--set expects NAME=VALUE"]),
    (["run", "-e", "f = x * 2", "--set", "x=[1"], ["--set x:"]),
    (["run", "-e", "f = x * 2", "--set", "x=1", "--break", "backward qq"], ["--break backward qq", "no node named 'qq'"]),
    (["nosuchcommand", "x"], []),
], ids=["syntax", "unknown-function", "non-scalar", "missing-file", "no-program", "both", "bad-option",
        "bad-set", "bad-set-value", "bad-break", "unknown-command"])
def test_bad_input_exits_2_with_one_clear_message(args, fragments):
    assert_clean_failure(bp(*args), *fragments)


def test_binary_file_exits_2(tmp_path):
    path = tmp_path / "garbage.bp"
    path.write_bytes(bytes(range(256)) * 4)
    assert_clean_failure(bp("run", path), str(path), "not UTF-8")


def test_empty_file_exits_2(tmp_path):
    path = tmp_path / "empty.bp"
    path.write_text("# nothing here\n")
    assert_clean_failure(bp("run", path), "the program is empty")


def test_deep_nesting_from_the_command_line(tmp_path):
    path = tmp_path / "deep.bp"
    path.write_text("x = 2\nf = " + "(" * 100_000 + "x" + ")" * 100_000 + "\n")
    done = bp("run", "--json", path)
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == 2.0


# ---- script --------------------------------------------------------------------------------------------

def test_script_with_c_prints_a_transcript():
    done = bp("script", EXAMPLES / "chain_rule.bp", "-c", "break backward q", "-c", "continue", "-c", "p x")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "(bpdebug) break backward q" and lines[1] == "breakpoint 1: backward q"
    assert lines[2] == "(bpdebug) continue"
    assert "(bpdebug) p x" in lines and "  grad:  -4" in lines


def test_script_with_a_commands_file(tmp_path):
    cmds = tmp_path / "cmds.txt"
    cmds.write_text("# step into the backward pass\nuntil f\nstep ;; step\n\nwhere\n")
    done = bp("script", EXAMPLES / "chain_rule.bp", "--commands", cmds, "-c", "p q")
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("(bpdebug) ")]
    assert commands == ["(bpdebug) until f", "(bpdebug) step", "(bpdebug) step", "(bpdebug) where",
                        "(bpdebug) p q"]
    assert "backward pass, 7 of 10 steps taken" in done.stdout


def test_comments_in_a_commands_file_run_to_the_end_of_the_line(tmp_path):
    cmds = tmp_path / "cmds.txt"
    cmds.write_text("s 3 # three steps\nstep ;; p q  # two commands, then a comment\n")
    done = bp("script", EXAMPLES / "chain_rule.bp", "--commands", cmds)
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("(bpdebug) ")]
    assert commands == ["(bpdebug) s 3", "(bpdebug) step", "(bpdebug) p q"]
    assert "q = 3" in done.stdout


def test_quit_ends_a_script():
    done = bp("script", EXAMPLES / "chain_rule.bp", "-c", "step", "-c", "quit", "-c", "step")
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("(bpdebug)")] == \
        ["(bpdebug) step", "(bpdebug) quit"]


def test_script_reads_commands_from_stdin():
    done = bp("script", "-e", "x = 3\nf = x * x", "--commands", "-", stdin="c\np x\n")
    assert done.returncode == 0 and "  grad:  6" in done.stdout


def test_script_stops_at_a_bad_command_with_exit_2():
    done = bp("script", EXAMPLES / "chain_rule.bp", "-c", "step", "-c", "contnue", "-c", "step")
    assert_clean_failure(done, "-c #2: error: unknown command 'contnue'; did you mean 'continue'?")
    assert done.stdout.count("(bpdebug) ") == 2


def test_script_without_commands_exits_2():
    assert_clean_failure(bp("script", EXAMPLES / "chain_rule.bp"), "no commands")


def test_script_with_a_missing_commands_file_exits_2(tmp_path):
    assert_clean_failure(bp("script", EXAMPLES / "chain_rule.bp", "--commands", tmp_path / "none"),
                         "cannot read commands")


def test_help_and_version():
    done = bp("--help")
    assert done.returncode == 0 and "run" in done.stdout and "script" in done.stdout
    done = bp("--version")
    assert done.returncode == 0 and done.stdout.startswith("bpdebug ")


SEEDS = ("product_gate.bp", "add_gate.bp", "max_gate.bp", "chain_rule.bp", "computational_graph.bp",
         "neuron_fanout.bp", "gradient_2d.bp", "network_232.bp")


def test_every_seed_example_runs_from_the_command_line():
    for name in SEEDS:
        path = EXAMPLES / name
        done = bp("run", "--json", path)
        assert done.returncode == 0, (path, done.stderr)
        assert json.loads(done.stdout)["output"]


def test_unbounded_and_odd_files_are_one_clear_error():
    for argv in (["run", "/dev/zero"], ["script", "examples/chain_rule.bp", "--commands", "/dev/zero"]):
        done = bp(*argv)
        assert done.returncode == 2 and "is larger than 64 MiB" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_a_program_starting_with_a_byte_order_mark_loads(tmp_path):
    (tmp_path / "bom.bp").write_bytes("\ufeffx = 2\nf = x * x\n".encode("utf-8"))
    done = bp("run", "--json", tmp_path / "bom.bp")
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == 4.0
