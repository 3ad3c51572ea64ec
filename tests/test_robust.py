"""Hostile input found by fuzzing and by hand (issue 13): numbers where a count, size, seed or
rate goes, tensors nobody can allocate, text that is not UTF-8, outputs that would replace
inputs. Each gets one located message and exit 2, or works."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
XOR = str(EXAMPLES / "xor.bp")


def located(err: str, program: str, line: int, caret: str) -> None:
    """The message is at `line` of `<-e>`, with the caret under the last `caret` of that line."""
    lines = err.splitlines()
    source = program.splitlines()[line - 1]
    assert lines[0].startswith(f"<-e>:{line}:"), err
    assert lines[1].strip() == source.strip()
    at = lines[1].index(source.strip()) + source.strip().rindex(caret)
    assert lines[2].index("^") == at and lines[2].count("^") == len(caret), err


# ---- numbers in a program: each argument checked once, in graph/arguments.py ----------------------

PROGRAM_MISTAKES = [
    ("x = zeros(-1e309, 2)", "a size of zeros() must be a whole number of at least 0, got -inf", "-1e309"),
    ("x = ones(2.5)", "a size of ones() must be a whole number of at least 0, got 2.5", "2.5"),
    ("x = randn(3, seed=1e309)", "seed must be a whole number from 0 to 4294967295, got inf", "1e309"),
    ("x = randn(3, seed=-1)", "seed must be a whole number from 0 to 4294967295, got -1", "-1"),
    ("x = randn(3, scale=-1e309)", "scale must be a finite number, got -inf", "-1e309"),
    ("x = uniform(2, lo=3, hi=1)", "lo must not be above hi", "uniform(2, lo=3, hi=1)"),
    ("x = uniform(3, lo=-1e309)", "lo must be a finite number, got -inf", "-1e309"),
    ("x = uniform(3, lo=-1e308, hi=1e308)", "hi - lo must be a finite number", "uniform(3, lo=-1e308, hi=1e308)"),
    ("x = uniform(3, seed=y)", "seed takes a number written out, not the name 'y'", "y"),
    ("x = eye(2, 3)", "eye(n) takes one size", "eye(2, 3)"),
    ("x = [[1, 2]]\nlayer h = dense(x, 3, seed=inf)", "seed takes a number written out, not the name 'inf'", "inf"),
    ("x = [[1, 2]]\ny = 2\nlayer h = dense(x, 3, seed=y)", "seed takes a number written out, not the name 'y'", "y"),
    ("x = [[1, 2]]\nlayer h = dense(x, 1e309)", "units must be a whole number of at least 1, got inf", "1e309"),
    ("x = [[1, 2]]\nlayer h = dense(x, -3)", "units must be a whole number of at least 1, got -3", "-3"),
    ("x = [1, 2]\nf = sum(x, axis=1e309)", "axis must be a whole number from -2147483647 to 2147483647, got inf",
     "1e309"),
    ("x = [1, 2]\nf = sum(dropout(x, p=1e309))", "p must be at least 0 and less than 1, got inf", "1e309"),
    ("x = 2\nf = sum(x, axis=0)", "shapes do not fit at node 'f' (sum)", "sum(x, axis=0)"),
    ("x = 2\nf = mean(x, axis=0)", "shapes do not fit at node 'f' (mean)", "mean(x, axis=0)"),
    ("f = mean(zeros(0))", "shapes do not fit at node 'f' (mean)", "mean(zeros(0))"),
    ("x = zeros(0, 3)\ny = zeros(0, 1)\nlayer h = dense(x, 1)\nloss C = quadratic(h, y)",
     "quadratic() of a batch of 0 rows has no value", "quadratic(h, y)"),
    # sizes nobody can allocate: checked with Python ints before anything is allocated
    ("x = zeros(4294967296, 4294967296)", "zeros() in 'x' would have shape (4294967296, 4294967296): "
     "18,446,744,073,709,551,616 elements, 148 EB", "zeros(4294967296, 4294967296)"),
    ("x = zeros(0, 1e30)", "zeros() in 'x' would have shape (0, 1000000000000000019884624838656): a size of",
     "zeros(0, 1e30)"),
    ("x = eye(20000)", "eye() in 'x' would have shape (20000, 20000): 400,000,000 elements, 3.2 GB", "eye(20000)"),
    ("h = [[1, 2]]\nlayer o = dense(h, 4294967296)",
     "param 'o.W' would have shape (2, 4294967296): 8,589,934,592 elements, 68.7 GB", "layer o = dense(h, 4294967296)"),
    ("x = ones(3, 100000)\nlayer h = dense(x, 1000000000)",
     "param 'h.W' would have shape (100000, 1000000000): 100,000,000,000,000 elements, 800 TB",
     "layer h = dense(x, 1000000000)"),
    ("x = zeros(3, 0)\nlayer h = dense(x, 1e12)", "param 'h.W' would have shape (0, 1000000000000): a size of",
     "layer h = dense(x, 1e12)"),
    ("x = randn(1, 4, 4)\nlayer c = conv(x, 1e9, kernel=3)",
     "param 'c.W' would have shape (1000000000, 1, 3, 3): 9,000,000,000 elements, 72 GB",
     "layer c = conv(x, 1e9, kernel=3)"),
    ("x = ones(20000, 1)\ny = ones(1, 20000)\nf = sum(x @ y)",
     "node 'f.1' (matmul) would have shape (20000, 20000): 400,000,000 elements, 3.2 GB", "x @ y"),
    ("x = randn(1, 4, 4)\nw = randn(2, 1, 3, 3)\nf = sum(conv2d(x, w, padding=2147483647))",
     "node 'f.1' (conv2d) would have shape (2, 4294967296, 4294967296)", "conv2d(x, w, padding=2147483647)"),
]


@pytest.mark.parametrize("program, message, caret", PROGRAM_MISTAKES)
def test_numbers_in_a_program_are_checked_where_they_are_written(cli, program, message, caret):
    line = program.count("\n") + 1               # the mistake is on the last line
    if "f =" not in program and "loss" not in program:
        program += "\nf = sum(" + (program.split("layer ")[1].split()[0] if "layer" in program else "x") + ")"
    code, out, err = cli("run", "-e", program)
    assert code == 2 and out == "" and message in err and "internal error" not in err, err
    located(err, program, line, caret)


def test_an_empty_tensor_is_allowed_where_it_has_a_value():
    s = bpdebug.load("x = zeros(0, 3)\nlayer h = dense(x, 2)\nf = sum(h) + sum(mean(x, axis=1))")
    assert s.run().reason == "end" and s.value("f") == 0.0 and s.grad("x").shape == (0, 3)


# ---- one size limit, --max-elements ------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["-e", "x = ones(10, 10)\nf = sum(x)"], "ones() in 'x' would have shape (10, 10): 100 elements, 800 bytes"),
    (["-e", "v = [1, 2, 3, 4]\nf = sum(v)"], "leaf 'v' would have shape (4,): 4 elements, 32 bytes"),
    (["-e", "f = sum(x)", "--set", "x=[1, 2, 3, 4]"], "leaf 'x' would have shape (4,)"),
    (["-e", "x = [1, 2]\nf = sum(outer(x, x))"], "node 'f.1' (outer) would have shape (2, 2)"),
    (["-e", "x = [[1, 2]]\nlayer h = dense(x, 2)\nf = sum(h)"], "param 'h.W' would have shape (2, 2)"),
])
def test_one_limit_for_every_tensor_set_with_max_elements(cli, argv, message):
    code, _, err = cli("run", *argv, "--max-elements", "3")
    assert code == 2 and message in err and "the limit is 3 elements a tensor (--max-elements N" in err, err
    code, _, err = cli("run", *argv, "--max-elements", "100")
    assert code == 0, err


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "1e309", "10^12", "2.5", "x", "²"])
def test_max_elements_takes_a_whole_number(cli, value):
    code, _, err = cli("run", "-e", "f = 2", "--max-elements", value)
    assert code == 2 and f"argument --max-elements: must be a whole number of at least 1, got {value}" in err


def test_data_files_are_held_to_the_limit_before_they_are_loaded(cli, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    (tmp_path / "x.csv").write_text("a,b\n" + "1,2\n" * 5)
    for read in ('npy("x.npy")', 'csv("x.csv")'):
        program = tmp_path / "p.bp"
        program.write_text(f"data X = {read}\nf = sum(X)\n")
        code, _, err = cli("run", program, "--max-elements", "9")
        assert code == 2 and "data 'X' would have shape (5, 2): 10 elements" in err and "p.bp:1:" in err, err
        assert cli("run", program, "--max-elements", "10")[0] == 0


def test_a_params_file_is_held_to_the_limit_and_its_headers_checked(cli, tmp_path):
    np.savez(tmp_path / "big.npz", w=np.zeros(30))
    code, _, err = cli("run", "-e", "param w = zeros(10)\nf = sum(w)", "--load", tmp_path / "big.npz",
                       "--max-elements", "20")
    assert code == 2 and "big.npz: 'w' would have shape (30,)" in err
    member = io.BytesIO()
    np.save(member, np.zeros(3))
    with zipfile.ZipFile(tmp_path / "lies.npz", "w") as archive:   # a header promising 80 TB
        archive.writestr("w.npy", member.getvalue().replace(b"(3,)", b"(9999999999999,)"))
    code, _, err = cli("run", "-e", "param w = zeros(10)\nf = sum(w)", "--load", tmp_path / "lies.npz")
    assert code == 2 and "lies.npz is damaged: 'w' promises shape (9999999999999,)" in err


def test_a_replay_is_held_to_the_limit_too(cli, tmp_path):
    trace = tmp_path / "t.bpt"
    assert cli("run", "-e", "x = ones(10, 10)\nf = sum(x)", "--trace", trace)[0] == 0
    code, _, err = cli("replay", trace, "--json", "--max-elements", "50")
    assert code == 2 and "does not build" in err and "would have shape (10, 10)" in err
    assert cli("replay", trace, "--json")[0] == 0


def test_running_out_of_memory_anyway_is_one_message(cli, monkeypatch):
    import bpdebug.cli.run as run_command

    def exhausted(args):
        raise MemoryError
    monkeypatch.setattr(run_command, "main", exhausted)
    code, _, err = cli("run", "-e", "f = 2", "--max-elements", "1000000000000")
    assert code == 2 and "out of memory with tensors of up to 1,000,000,000,000 elements" in err


# ---- numbers on the command line: one rule for every option --------------------------------------------

NOT_NUMBERS = ["inf", "-inf", "nan", "-1", "1e309", "10^12", "x", "²", "1_0"]
COUNTS = ["--steps", "--batch", "--eval-every"]
TRAINING = ["--lr", "--momentum", "--beta1", "--beta2", "--eps", "--weight-decay", "--lr-end", "--val",
            "--seed", *COUNTS]
OPTIONS = ([("train", XOR, flag) for flag in TRAINING] + [("script", XOR, flag) for flag in TRAINING]
           + [("tui", XOR, flag) for flag in TRAINING]
           + [("check", XOR, flag) for flag in ("--eps", "--rtol", "--atol")]
           + [("diff", "a.bpt", flag) for flag in ("--rtol", "--atol")] + [("graph", XOR, "--at")])


@pytest.mark.parametrize("command, file, flag", OPTIONS)
def test_every_number_option_refuses_what_is_not_in_its_range(cli, command, file, flag):
    extra = ["b.bpt"] if command == "diff" else ["-c", "step"] if command == "script" else []
    values = NOT_NUMBERS + (["1e12", "0", "2.5"] if flag in COUNTS else [])
    for value in values:
        code, out, err = cli(command, file, *extra, flag, value)
        assert code == 2 and out == "" and "internal error" not in err, (flag, value, err)
        assert err.count("error") == 1 and (f"argument {flag}:" in err or f"{flag} expects" in err), err


# ---- text that is not UTF-8 ------------------------------------------------------------------------

def test_text_that_is_not_utf8_is_printed_escaped_by_a_real_process():
    """argv that is not UTF-8, a strict stdout (PYTHONIOENCODING=utf-8, as under a UTF-8 locale
    with output piped): the transcript shows the text escaped, and everything printed is UTF-8."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "bpdebug", "script", "examples/chain_rule.bp", "-c", b"print \xff"],
                          capture_output=True, cwd=ROOT, env=env, timeout=60)
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")   # strict: valid UTF-8
    assert done.returncode == 2 and out.startswith("(bpdebug) print \\udcff\n") and "internal error" not in err


@pytest.mark.parametrize("args, code", [
    (["script", "examples/chain_rule.bp", "-c", "print \udcff"], 2),
    (["script", "examples/chain_rule.bp", "-c", "break \udcff", "-c", "step"], 2),
    (["run", "-e", "f = \udcff"], 2),
    (["run", "-e", "# \udcff\nf = 2 * x", "--set", "x=1", "--json"], 0),
    (["run", "-e", "# \udcff\nf = 2 * x", "--set", "x=1"], 0),
    (["run", "-e", "f = 2 * x", "--set", "x=1", "--break", "\udcff"], 2),
    (["check", "-e", "# \udcff\nf = 2 * x", "--set", "x=1"], 0),
    (["train", "-e", "# \udcff\nparam w = 2\nloss C = w * w", "--steps", "2"], 0),
    (["run", "examples/\udcff.bp"], 2),
    (["graph", "-e", "f = 2 * x", "--set", "\udcff=1"], 2),
])
def test_text_that_is_not_utf8_is_printed_escaped_by_every_printer(monkeypatch, args, code):
    from bpdebug.cli import main
    streams = {name: io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict") for name in ("out", "err")}
    monkeypatch.setattr(sys, "stdout", streams["out"])
    monkeypatch.setattr(sys, "stderr", streams["err"])
    monkeypatch.chdir(ROOT)
    assert main(args) == code
    printed = {}
    for name, stream in streams.items():
        stream.flush()
        printed[name] = stream.buffer.getvalue().decode("utf-8")
    assert "internal error" not in printed["err"]
    if code == 2:
        assert "\\udcff" in printed["out"] + printed["err"]


# ---- smaller ones ---------------------------------------------------------------------------------------

def test_a_divergence_to_the_largest_floats_plots_and_exits_1(cli):
    code, out, err = cli("train", "-e", "param w = 1e308\nloss C = w", "--steps", "5", "--lr", "1e308")
    assert code == 1 and "training stopped at step 3: w became nan or inf" in err
    assert "1e+308 ┤" in out and "-1e+308 ┤" in out and "internal error" not in err


@pytest.fixture
def copied(tmp_path):
    for name in ("xor.bp", "xor.csv", "chain_rule.bp"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    np.savez(tmp_path / "w.npz", w=np.zeros(2))
    (tmp_path / "cmds.txt").write_text("step\n")
    return tmp_path


@pytest.mark.parametrize("argv, victim, what", [
    (["train", "xor.bp", "--steps", "2", "--save", "xor.bp"], "xor.bp", "the program"),
    (["train", "xor.bp", "--steps", "2", "--save", "xor.csv"], "xor.csv", "the data file"),
    (["run", "xor.bp", "--save", "./xor.csv"], "xor.csv", "the data file"),
    (["run", "chain_rule.bp", "--trace", "chain_rule.bp"], "chain_rule.bp", "the program"),
    (["graph", "chain_rule.bp", "-o", "chain_rule.bp", "--format", "dot"], "chain_rule.bp", "the program"),
    (["script", "chain_rule.bp", "--commands", "cmds.txt", "--trace", "cmds.txt"], "cmds.txt", "the commands file"),
    (["run", "-e", "param w = [1, 2]\nf = sum(w)", "--load", "w.npz", "--save", "w.npz"], "w.npz",
     "the params file given to --load"),
    (["check", "xor.bp", "--save", "../" + "{dir}/xor.bp"], "xor.bp", "the program"),
])
def test_no_output_replaces_an_input(cli, copied, monkeypatch, argv, victim, what):
    monkeypatch.chdir(copied)
    before = (copied / victim).read_bytes()
    argv = [a.format(dir=copied.name) for a in argv]
    code, _, err = cli(*argv)
    assert code == 2 and f"would overwrite {what}" in err and "which this command reads" in err, err
    assert (copied / victim).read_bytes() == before


def test_outputs_elsewhere_are_written(cli, copied, monkeypatch):
    monkeypatch.chdir(copied)
    assert cli("train", "xor.bp", "--steps", "2", "--save", "out.npz", "--json")[0] == 0
    assert (copied / "out.npz").exists()


def test_diff_refuses_an_infinite_tolerance(cli, tmp_path):
    trace = tmp_path / "t.bpt"
    cli("run", "-e", "f = 2 * x", "--set", "x=3", "--trace", trace)
    code, out, err = cli("diff", trace, trace, "--rtol", "inf")
    assert code == 2 and "argument --rtol: must be a number of at least 0, got inf" in err
    code, out, err = cli("diff", trace, trace, "--rtol", "1e300", "--json")
    assert code == 0 and json.loads(out)["same"] and err == ""


def test_the_python_api_takes_the_limit_as_the_cli_does():
    from bpdebug.graph.arguments import elements_limited
    with elements_limited(5):
        with pytest.raises(BpError, match=r"would have shape \(6,\)"):
            bpdebug.load("x = ones(6)\nf = sum(x)")
    assert bpdebug.load("x = ones(6)\nf = sum(x)").run().reason == "end"


# ---- damaged ONNX models (found by tests/test_fuzz.py's model fuzzer) -------------------------------

def _damaged(tmp_path, name: str, damage) -> Path:
    """examples/models/NAME with `damage(model)` done to it, saved; a damage may also return the
    serialized bytes to write instead."""
    import onnx
    model = onnx.load(str(EXAMPLES / "models" / name))
    raw = damage(model)
    path = tmp_path / "damaged.onnx"
    path.write_bytes(raw if isinstance(raw, bytes) else model.SerializeToString())
    return path


def _set_attributes(node_index: int, **attrs):
    def damage(model):
        from onnx import helper
        node = model.graph.node[node_index]
        kept = [a for a in node.attribute if a.name not in attrs]
        del node.attribute[:]
        node.attribute.extend(kept + [helper.make_attribute(k, v) for k, v in attrs.items()])
    return damage


def _no_output(model):
    del model.graph.node[1].output[:]


def _name_not_utf8(model):
    model.graph.node[0].name = "XXXXXXXXX"
    return model.SerializeToString().replace(b"XXXXXXXXX", b"\xff\xfe\xfdXXXXXX")


def _unknown_data_type(model):
    model.graph.initializer[0].data_type = 40


@pytest.mark.parametrize("name, damage, words", [
    ("mlp.onnx", _set_attributes(0, alpha=[1, 2]),
     "ONNX node '/fc1/Gemm' (Gemm): attribute 'alpha' holds INTS, where Gemm takes FLOAT"),
    ("mlp.onnx", _set_attributes(2, transB="yes"), "attribute 'transB' holds STRING, where Gemm takes INT"),
    ("cnn.onnx", _set_attributes(2, strides=[0, 1]), "ONNX node '/pool/MaxPool' (MaxPool): each of strides must "
                                                     "be a whole number from 1 to 2147483647, got 0"),
    ("cnn.onnx", _set_attributes(2, kernel_shape=[2, 2**40]), "each of kernel_shape must be a whole number from 1 to"),
    ("cnn.onnx", _set_attributes(2, kernel_shape=[2]), "kernel_shape takes 2 numbers here (2-D images); got [2]"),
    ("cnn.onnx", _set_attributes(0, pads=[1, 1]), "pads takes 4 numbers here (2-D images); got [1, 1]"),
    ("cnn.onnx", _set_attributes(0, pads=[1, 1, -1, 1]), "each of pads must be a whole number from 0 to"),
    ("mlp.onnx", _no_output, "node '/relu/Relu' (Relu) has no output: the model is damaged"),
    ("mlp.onnx", _name_not_utf8, "is damaged: it holds a name that is not UTF-8 text"),
    ("mlp.onnx", _unknown_data_type, "is damaged: initializer 'fc1.weight' has data type 40, which ONNX does not define"),
])
def test_a_damaged_onnx_model_is_a_message_and_exit_2(cli, tmp_path, name, damage, words):
    code, _, err = cli("run", _damaged(tmp_path, name, damage))
    assert code == 2 and words in err and "Traceback" not in err and "internal error" not in err, err


def test_a_signalling_nan_among_a_models_weights_loads_without_a_warning(tmp_path):
    """A flipped bit can make a float32 weight a signalling nan, which numpy warns about when it
    casts it to float64; the weight stays a nan, found as any other nan is."""
    import struct
    import warnings

    from bpdebug.imports.onnx_model import load_model

    def damage(model):
        w = model.graph.initializer[0]
        values = np.frombuffer(w.raw_data, dtype=np.float32).copy()
        values.view(np.uint32)[0] = struct.unpack("<I", b"\x01\x00\x80\x7f")[0]   # 0x7f800001
        w.raw_data = values.tobytes()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = load_model(str(_damaged(tmp_path, "mlp.onnx", damage)))
    assert np.isnan(s.graph.node("fc1.weight").value).sum() == 1


def test_ops_takes_python_files_only(cli, tmp_path):
    """Found by the fuzz campaign: `--ops examples/xor.csv` (text Python can compile) had no loader."""
    data = tmp_path / "layers.csv"
    data.write_text("x1,x2,y\n0,0,0\n")
    code, _, err = cli("run", XOR, "--ops", data)
    assert code == 2 and f"--ops takes files of Python (FILE.py); {data} is not one" in err, err
