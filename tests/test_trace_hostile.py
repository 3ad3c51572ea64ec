"""A trace is data from anyone: replaying or comparing one never opens a file its program names,
and every damaged or hostile one (a bad header, a bad event, a full disk when writing) gets one
located message and exit 2, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bpdebug.cli import main
from bpdebug.lang import BpError
from bpdebug.trace import open_trace

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain_rule.bp"
CSV_PROGRAM = 'data X = csv("d.csv")\nw = 2\nf = sum(X * w)\n'
TENSORS = "W = [[1.0, 2.0], [3.0, 4.0]]\nv = [1.0, -1.0]\nf = sum(tanh(W @ v))\n"

# Runs the CLI with an audit hook that notes every file opened, and prints them last, on stderr.
AUDITED = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from bpdebug.cli import main
code = main(sys.argv[1:])
print("OPENED", repr(opened), file=sys.stderr)
sys.exit(code)
"""


def bp(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def audited(*argv, cwd) -> tuple[int, str, list]:
    done = subprocess.run([sys.executable, "-c", AUDITED, *map(str, argv)], capture_output=True,
                          text=True, cwd=cwd, timeout=60)
    err, _, opened = done.stderr.rpartition("OPENED ")
    return done.returncode, done.stdout + err, eval(opened)   # noqa: S307 -- a list of str we printed


def lines_of(path: Path) -> list:
    return path.read_bytes().split(b"\n")


def rewrite(path: Path, header: dict | None = None, raw_header: bytes | None = None) -> Path:
    lines = lines_of(path)
    lines[0] = raw_header if raw_header is not None else json.dumps(header).encode()
    path.write_bytes(b"\n".join(lines))
    return path


@pytest.fixture
def csv_trace(tmp_path, capsys) -> Path:
    """A trace of a program with a data leaf read from d.csv, and the csv deleted after."""
    (tmp_path / "p.bp").write_text(CSV_PROGRAM)
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    assert bp(capsys, "run", tmp_path / "p.bp", "--trace", tmp_path / "t.bpt")[0] == 0
    (tmp_path / "d.csv").unlink()
    return tmp_path / "t.bpt"


@pytest.fixture
def chain_trace(tmp_path, capsys) -> Path:
    path = tmp_path / "chain.bpt"
    assert bp(capsys, "run", CHAIN, "--trace", path)[0] == 0
    return path


# ---- a shared trace is data ------------------------------------------------------------------

def test_replay_and_diff_never_open_a_file_the_trace_names(csv_trace, tmp_path):
    evil = tmp_path / "evil.bpt"       # the same steps, the program now naming /dev/zero
    evil.write_bytes(csv_trace.read_bytes())
    header = json.loads(lines_of(csv_trace)[0])
    rewrite(evil, dict(header, source=CSV_PROGRAM.replace("d.csv", "/dev/zero")))
    for argv, shows in ((["replay", evil, "--json"], '"value": 20.0'), (["replay", csv_trace, "--print"], "f = 20"),
                        (["diff", csv_trace, evil], "the traces agree"),
                        (["script", evil, "-c", "continue", "-c", "p X"], "[[1, 2], [3, 4]]")):
        code, out, opened = audited(*argv, cwd=tmp_path)
        assert code == 0 and shows in out, out
        assert not any(p.endswith(("d.csv", "/dev/zero")) for p in opened), (argv, opened)


@pytest.mark.parametrize("name", ["/dev/zero", "missing.csv"])
def test_a_data_leaf_the_trace_holds_no_value_for_is_an_error_not_a_read(csv_trace, tmp_path, name):
    header = json.loads(lines_of(csv_trace)[0])
    rewrite(csv_trace, dict(header, data={}, source=CSV_PROGRAM.replace("d.csv", name)))
    for argv in (["replay", csv_trace, "--json"], ["diff", csv_trace, csv_trace]):
        code, out, opened = audited(*argv, cwd=tmp_path)
        assert code == 2 and f"{csv_trace}:1:1: error: the program this trace holds does not build " \
                              "(line 1 of the program): data 'X' would be read from a file: a replay " \
                              "reads no files, and this trace holds no value for it" in out, out
        assert not any(p.endswith(name) for p in opened), opened


# ---- headers ----------------------------------------------------------------------------------

def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("change, words", [
    ({"data": {"x": True}}, "'data' gives 'x' the step True"),
    ({"data": {"X": 0}}, "'data' gives 'X' the step 0"),
    ({"data": {"X": 10 ** 30}}, "'data' gives 'X' the step 100000000000000000000000000..."),
    ({"data": {"X": 1.5}}, "'data' gives 'X' the step 1.5"),
    ({"data": {"X": 3}}, "the header places data 'X' at step 3, which is not that data leaf's"),
    ({"data": []}, "no valid 'data' (an object of steps expected)"),
    ({"nodes": True}, "no valid 'nodes'"),
    ({"nodes": 1e400}, "no valid 'nodes'"),
    ({"nodes": -4, "steps": -8}, "'nodes' (-4) and 'steps' (-8) do not fit"),
    ({"nodes": 10 ** 18, "steps": 2 * 10 ** 18}, "the header says 1000000000000000000 nodes; its program has 4"),
    ({"steps": 9}, "'nodes' (4) and 'steps' (9) do not fit"),
    ({"output": "g"}, "the header names the output 'g'; its program's output is 'f'"),
    ({"output": None}, "no valid 'output'"),
    ({"file": 7}, "no valid 'file'"),
    ({"file": "a\u0000b"}, "'file' is not a file name"),
    ({"set": {"w": 3}}, "bad 'set' value for 'w': a value is written as a string, not int"),
    ({"set": {"w": "9999999999x9999999999:AAAA"}}, "bad 'set' value for 'w': shape 9999999999x9999999999"),
    ({"set": {"w": "\u0663:AAAAAAAAAAA="}}, "bad 'set' value for 'w': '\\u0663' is not a shape"),
    ({"set": {"w": "AAAA=AAAAAA"}}, "bad 'set' value for 'w': 'AAAA=AAAAAA' is not base64"),
    ({"set": {"\udc80": "AAAAAAAAAAA"}}, "'set' holds '\\udc80', which is not a name"),
    ({"data": {"X\n": 1}}, "'data' holds 'X\\n', which is not a name"),
    ({"source": "f = (("}, "the program this trace holds does not build (line 1 of the program)"),
    ({"source": ["x = 1"]}, "no valid 'source'"),
    ({"bpdebug_trace": True}, "this trace is in format True"),
    ({"bpdebug_trace": [1]}, "this trace is in format a list"),
    ({"bpdebug_trace": {"a": deep(900)}}, "this trace is in format a dict"),
    ({"bpdebug_trace": 1e400, "bpdebug": "\u001b[2J"}, "this trace is in format inf (written by bpdebug \\x1b[2J)"),
])
def test_every_wrong_header_entry_is_one_message_on_line_1(csv_trace, capsys, change, words):
    header = json.loads(lines_of(csv_trace)[0])
    rewrite(csv_trace, dict(header, **change))
    with pytest.raises(BpError) as err:
        open_trace(csv_trace)
    assert words in err.value.message and err.value.line == 1 and err.value.filename == str(csv_trace)
    code, out, err = bp(capsys, "replay", csv_trace, "--json")
    assert code == 2 and out == "" and f"{csv_trace}:1:1: error: " in err and "Traceback" not in err


@pytest.mark.parametrize("header", [
    b'{"bpdebug_trace": 1, "data": ' + deep(100_000).encode() + b"}",       # RecursionError in json
    b'{"bpdebug_trace": 1, "nodes": 1' + b"0" * 5000 + b"}",                # past int's digit limit
    b'{"bpdebug_trace": 1, "file": "\xff\xfe"}',                              # not UTF-8
    b'{"bpdebug_trace": 1} {"more": 2}',
    b'{"bpdebug_trace": NaN}',
    b"\x00" * 100,
])
def test_a_header_json_cannot_read_is_not_a_trace(chain_trace, capsys, header):
    rewrite(chain_trace, raw_header=header)
    code, out, err = bp(capsys, "replay", chain_trace, "--print")
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"{chain_trace}:1:1: error: " in err and ("not a bpdebug trace" in err or "format" in err)


def test_data_placed_on_a_step_that_holds_no_rows_is_an_error_on_that_line(csv_trace):
    header = json.loads(lines_of(csv_trace)[0])
    rewrite(csv_trace, dict(header, data={"X": 1, "f": 4}))
    with pytest.raises(BpError) as err:
        open_trace(csv_trace)
    assert err.value.line == 5 and err.value.message == "expected the value of data 'f' here (rows of examples)"


def test_missing_keys_are_named(chain_trace):
    header = json.loads(lines_of(chain_trace)[0])
    for key in ("file", "nodes", "steps", "output", "set", "data", "source"):
        rewrite(chain_trace, {k: v for k, v in header.items() if k != key})
        with pytest.raises(BpError, match=f"no valid '{key}'"):
            open_trace(chain_trace)


# ---- events -----------------------------------------------------------------------------------

@pytest.fixture
def tensor_trace(tmp_path, capsys) -> Path:
    (tmp_path / "t.bp").write_text(TENSORS)
    assert bp(capsys, "run", tmp_path / "t.bp", "--trace", tmp_path / "t.bpt")[0] == 0
    return tmp_path / "t.bpt"


@pytest.mark.parametrize("line, field, words", [
    (3, b"2:AAA=AAAA8L8AAAAAAAAA8D8=", "corrupted event: '2:AAA=AAAA8L8AAAAAAA' is not base64"),
    (3, b"3:AAAAAAAA8D8AAAAAAADwvwAAAAAAAAAA", "step 2 (forward v) holds shape 3 as its value, "
                                               "where the program has shape 2"),
    (3, b"-----------", "step 2 (forward v) holds no value as its value"),
    (3, b"AAAAAAAA8D8", "holds shape () (a scalar) as its value, where the program has shape 2"),
    (3, b"2x0:", "holds shape 2x0 as its value"),
    (3, b"99999999999x99999999999:AAAAAAAAAAA=", "shape 99999999999x99999999999 does not fit 1 numbers"),
    (3, b"2" + b"x1" * 40 + b":AAAAAAAA8D8AAAAAAADwvw==", "is not a shape"),
])
def test_a_damaged_tensor_is_an_error_with_its_line_when_the_trace_opens(tensor_trace, capsys, line,
                                                                         field, words):
    lines = lines_of(tensor_trace)
    lines[line - 1] = field
    tensor_trace.write_bytes(b"\n".join(lines))
    for argv in (["replay", tensor_trace, "--print"], ["replay", tensor_trace, "--json"],
                 ["script", tensor_trace, "-c", "continue"], ["diff", tensor_trace, tensor_trace]):
        code, out, err = bp(capsys, *argv)
        assert code == 2 and out == "" and f"{tensor_trace}:{line}:1: error: " in err and words in err, err


def test_a_forward_line_of_dashes_in_a_scalar_trace_is_found_when_it_opens(chain_trace):
    lines = lines_of(chain_trace)
    lines[4] = b"-" * 11                    # step 4, forward q: the value of a node cannot be none
    chain_trace.write_bytes(b"\n".join(lines))
    with pytest.raises(BpError) as err:
        open_trace(chain_trace)
    assert err.value.line == 5 and err.value.message == \
        "corrupted event: step 4 (forward q) holds no value as its value, where the program has shape () (a scalar)"


def test_a_trace_of_millions_of_lines_is_indexed_only_as_far_as_its_program_goes(chain_trace):
    import tracemalloc

    chain_trace.write_bytes(lines_of(chain_trace)[0] + b"\n" * 30_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(BpError) as err:
            open_trace(chain_trace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.line == 12 and "more events than the program has steps (10)" in err.value.message
    assert peak < 60e6          # an index of every line would be 240 MB


def test_a_damaged_backward_field_of_the_wrong_shape_is_found(tensor_trace, capsys):
    lines = lines_of(tensor_trace)
    fields = lines[-2].split(b" ")          # the last step: W's backward, upstream of shape 2x2
    fields[0] = b"AAAAAAAA8D8"
    lines[-2] = b" ".join(fields)
    tensor_trace.write_bytes(b"\n".join(lines))
    code, _, err = bp(capsys, "replay", tensor_trace, "--json")
    assert code == 2 and "(backward W) holds shape () (a scalar) as its upstream gradient, where " \
                          "the program has shape 2x2" in err


def test_diff_names_the_damaged_trace_and_its_line(tensor_trace, tmp_path, capsys):
    other = tmp_path / "other.bpt"
    lines = lines_of(tensor_trace)
    lines[2] = b"2:AAA=AAAA8L8AAAAAAAAA8D8="
    other.write_bytes(b"\n".join(lines))
    for a, b in ((tensor_trace, other), (other, tensor_trace)):
        code, _, err = bp(capsys, "diff", a, b)
        assert code == 2 and f"{other}:3:1: error: corrupted event" in err, err


# ---- writing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["run", CHAIN], ["script", CHAIN, "-c", "step"], ["tui", CHAIN]])
def test_a_trace_to_a_full_disk_is_a_clear_error(capsys, argv):
    code, out, err = bp(capsys, *argv, "--trace", "/dev/full")
    assert code == 2 and err == "bpdebug: error: cannot write the trace /dev/full: No space left on device\n"


def test_a_disk_filling_up_stops_the_recording_and_says_at_which_step(tmp_path):
    # A file size limit makes writes past it fail (Python ignores SIGXFSZ), as a full disk would.
    program = "\n".join(["x0 = 0.5"] + [f"x{i} = sin(x{i - 1}) + {i}" for i in range(1, 2000)])
    (tmp_path / "p.bp").write_text(program)
    limit = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
             "from bpdebug.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", limit, "run", "p.bp", "--trace", "t.bpt"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("bpdebug: error: cannot write the trace t.bpt: File too large; the "
                                  "recording stopped after step "), done.stderr
    kept = int(done.stderr.split("after step ")[1])
    replay = open_trace(tmp_path / "t.bpt")          # what was written before it replays
    assert 0 < kept <= replay.recorded < replay.total
