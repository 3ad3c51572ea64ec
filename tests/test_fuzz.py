"""Fuzzing what users feed in (issue 13): every example program damaged (bytes flipped, cut short,
lines duplicated and swapped, numbers made huge, negative or not finite, NUL, CRLF, unicode,
statements of the whole language added, ops written in Python among them) and every example
ONNX model damaged gives a Session that runs, checks and trains, or a BpError; random command lines give a Result;
random command lines of `bpdebug` exit 0, 1 or 2, never 3. Numpy's warnings are errors here:
none may reach a user's terminal.

Each test runs a modest, derandomized number of examples so the suite stays fast and CI sees the
same cases every time; `python tests/fuzz_campaign.py --minutes 10` runs the same generators
for as long as you like, with fresh seeds.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpdebug
from bpdebug import BpError
from bpdebug.check import Tolerances, check_session
from bpdebug.cli import build_parser, main
from bpdebug.cli import _commands as cli_commands
from bpdebug.commands import Result, execute
from bpdebug.graph.arguments import elements_limited

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROGRAMS = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.bp"))
MODELS = sorted(p.name for p in (EXAMPLES / "models").glob("*.onnx"))
SMALL = 10**5                 # elements a tensor may hold in these tests: fuzzing tests code, not memory
FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextlib.contextmanager
def strict(limit: int = SMALL):
    """Warnings are errors, and tensors are small."""
    with warnings.catch_warnings(), elements_limited(limit):
        warnings.simplefilter("error")
        yield


@lru_cache(maxsize=1)
def workdir() -> Path:
    """A copy of examples/ (programs, data, mistakes) that mutated programs and outputs may use
    freely: nothing the fuzzers write lands in the repository."""
    root = Path(tempfile.mkdtemp(prefix="bpdebug-fuzz-"))
    shutil.copytree(EXAMPLES, root / "examples")
    with elements_limited(SMALL):
        for name in ("chain_rule", "xor"):
            s = bpdebug.load_file(root / "examples" / f"{name}.bp")
            from bpdebug.trace import recording
            with recording(s, str(root / f"{name}.bpt")):
                s.run()
    return root


# ---- damaged examples ------------------------------------------------------------------------------

NUMBER = re.compile(rb"(?<![\w.])\d+(\.\d*)?([eE][-+]?\d+)?")
ODD_NUMBERS = [b"1e309", b"-1e309", b"-1", b"0", b"-0", b"1e12", b"4294967296", b"2.5", b"1e-320",
               b"99999999999999999999", b"0.0001", b"1e15", b"inf", b"nan", b"-2147483648"]
ODD_BYTES = [b"\x00", b"\r\n", b"\r", b"\n", "é".encode(), "\u202e".encode(), b"\xff", b"\xef\xbb\xbf",
             "²".encode(), "٣".encode(), b"\t", b"#", b";", b"(", b")", b"[", b"]", b",", b"=", b"\\",
             b"\"", b"@", b"^", b"-", b"*", "\U0001f600".encode(), b"\xed\xb3\xbf"]


SMALL_NUMBERS = [b"0", b"1", b"2", b"3", b"-1", b"-2", b"0.5"]
STATEMENTS = [   # lines a damaged program may gain, over names it defines and odd numbers
    b"{new} = zeros({n}, {n})", b"{new} = ones({n})", b"{new} = eye({n})", b"{new} = randn({n}, seed={n})",
    b"{new} = randn({n}, {n}, scale={n})", b"{new} = uniform({n}, lo={n}, hi={n})",
    b"{new} = sum({name}, axis={n})", b"{new} = mean({name}, axis={n})", b"{new} = max({name}, axis={n})",
    b"{new} = softmax({name}, axis={n})", b"{new} = logsumexp({name}, axis={n})",
    b"{new} = argmax({name}, axis={n})", b"{new} = reshape({name}, [{n}, -1])", b"{new} = flatten({name})",
    b"{new} = dropout({name}, p={n}, seed={n})", b"{new} = concat([{name}, {name}], axis={n})",
    b"{new} = stack([{name}, {name}], axis={n})", b"{new} = clip({name}, {n}, {n})",
    b"{new} = conv2d({name}, {name}, stride={n}, padding={n})", b"{new} = maxpool2d({name}, size={n})",
    b"{new} = avgpool2d({name}, size={n}, stride={n})", b"{new} = {name} @ {name}", b"{new} = {name} / {n}",
    b"{new} = {name} ^ {n}", b"{new} = log({name}) * exp({name})", b"{new} = leaky_relu({name}, slope={n})",
    b"{new} = transpose({name})", b"{new} = dot({name}, {name})", b"{new} = outer({name}, {name})",
    b"{new} = where({name}, {name}, {n})", b"layer {new} = dense({name}, {n}, seed={n})",
    b"layer {new} = conv({name}, {n}, kernel={n}, stride={n})", b"loss {new} = quadratic({name}, {name})",
    b"loss {new} = softmax_cross_entropy({name}, {name})", b"output {name}", b"{name} = {n}",
    b"param {new} = [{n}, {n}]", b"train lr={n}, steps={n}, batch={n}, val={n}",
    b"train optimizer=adam, momentum={n}, eval_every={n}", b'data {new} = csv("xor.csv", cols=[{n}, {n}])',
    b"def {new}(a) = a * {n}\ngrad {new} wrt a = dout * {n}",
    # issue 9's language: indexing and slicing, comparisons, **, rebinding, methods, np./math.
    b"{new} = {name}[{n}]", b"{new} = {name}[{n}:{n}:{n}]", b"{new} = {name}[:, {n}]", b"{new} = {name}[{n}, {n}, {n}]",
    b"{new} = ({name} > {n}) * {name}", b"{new} = {name} ** {n}", b"{name} += {n}", b"{name} = {name} * {n}",
    b"{new} = {name}#1 + {n}", b"{new} = {name}.sum(axis={n})", b"{new} = {name}.reshape({n}, -1)",
    b"{new} = np.mean({name}, axis={n})", b"{new} = math.exp({n})", b"{new} = {name}.T @ {name}",
    # ops written in Python (examples/python_ops/layers_fixed.py), with a keyword argument
    b"{new} = batchnorm({name}, {name}, {name}, eps={n})", b"{new} = affine({name}, {name}, {name})",
]
DEFINED = re.compile(rb"^\s*(?:data |param |loss |layer )?([A-Za-z_][\w.]*)\s*=", re.M)


@st.composite
def statement(draw, text: bytes) -> bytes:
    names = DEFINED.findall(text) or [b"x"]
    line = draw(st.sampled_from(STATEMENTS))
    while b"{n}" in line:
        line = line.replace(b"{n}", draw(st.sampled_from(ODD_NUMBERS + SMALL_NUMBERS)), 1)
    while b"{name}" in line:
        line = line.replace(b"{name}", draw(st.sampled_from(names)), 1)
    return line.replace(b"{new}", b"zz%d" % draw(st.integers(0, 3))) + b"\n"


def _lines(text: bytes) -> list[bytes]:
    return text.splitlines(keepends=True) or [b""]


@st.composite
def damage(draw, text: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "cut", "duplicate", "swap", "number", "insert", "crlf", "delete",
                                 "statement", "statement"]))
    at = draw(st.integers(0, len(text)))
    if kind == "flip" and text:
        at = min(at, len(text) - 1)
        return text[:at] + bytes([text[at] ^ draw(st.integers(1, 255))]) + text[at + 1:]
    if kind == "cut":
        return text[:at]
    if kind in ("duplicate", "swap", "statement"):
        lines = _lines(text)
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines)))
        if kind == "statement":
            lines.insert(j, draw(statement(text)))
        elif kind == "duplicate":
            lines.insert(j, lines[i])
        else:
            j = min(j, len(lines) - 1)
            lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    if kind == "number":
        spots = list(NUMBER.finditer(text))
        if spots:
            m = draw(st.sampled_from(spots))
            return text[:m.start()] + draw(st.sampled_from(ODD_NUMBERS)) + text[m.end():]
    if kind == "insert":
        return text[:at] + draw(st.sampled_from(ODD_BYTES)) + text[at:]
    if kind == "crlf":
        return text.replace(b"\n", b"\r\n")
    return text[:at] + text[at + draw(st.integers(1, 40)):]


@st.composite
def damaged_example(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(PROGRAMS))
    text = (EXAMPLES / name).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        text = draw(damage(text))
    return name, text


@lru_cache(maxsize=1)
def python_ops() -> list:
    """The ops of examples/python_ops/layers_fixed.py, which every fuzzed program may call (as
    with --ops): net.bp needs them, and statements drawn for other programs call them too."""
    from bpdebug.imports.ops_files import load_ops_files
    return load_ops_files([str(EXAMPLES / "python_ops" / "layers_fixed.py")])


def load_run_check_train(path: Path) -> None:
    """What a user does with a program: load it, run both passes, check every node and take two
    training steps; only BpError may come out."""
    try:
        s = bpdebug.load_file(path, ops=python_ops())
    except BpError as err:
        assert str(err)                      # the message renders
        return
    run_check_train(s)


def run_check_train(s) -> None:
    assert s.run().reason == "end"
    if sum(int(np.prod(n.shape)) for n in s.graph.nodes) <= 20_000:   # digits_mlp's check takes 1 s
        report = check_session(s, Tolerances(1e-6, 1e-5, 1e-8))
        assert isinstance(report.ok, bool)
    if any(n.kind == "param" for n in s.graph.nodes):
        from bpdebug.train import Trainer
        from bpdebug.train.program import program_training
        from bpdebug.train.settings import Settings
        try:
            trainer = Trainer.from_settings(s, Settings().updated(program_training(s.graph).given).checked())
        except BpError:
            return
        for _ in range(2):
            trainer.finish_step()


def run_damaged(name: str, text: bytes) -> None:
    path = workdir() / "examples" / name
    path = path.with_name("fuzzed_" + path.name)      # beside the data files the program names
    path.write_bytes(text)
    with strict():
        load_run_check_train(path)


@FUZZ
@given(damaged_example())
def test_damaged_examples_load_run_check_and_train_or_give_a_bperror(example):
    run_damaged(*example)


def test_every_example_is_fuzzed_and_runs_undamaged():
    assert len(PROGRAMS) >= 20 and "xor.bp" in PROGRAMS and "python_ops/net.bp" in PROGRAMS
    assert len(MODELS) >= 2 and "mlp.onnx" in MODELS
    for name in PROGRAMS:
        path = workdir() / "examples" / name
        with strict(10**6):       # each loads (digits_mlp's data is past SMALL): fuzzing starts from working input
            run_check_train(bpdebug.load_file(path, ops=python_ops()))
    for name in MODELS:
        with strict():
            run_check_train(load_model(str(EXAMPLES / "models" / name)))


# ---- damaged ONNX models ----------------------------------------------------------------------------


@st.composite
def damaged_model(draw) -> tuple[str, bytes]:
    """An example model with bytes flipped, cut or inserted (protobuf decodes much of that into
    another model: odd dims, attributes, op types), or a number in it made odd."""
    name = draw(st.sampled_from(MODELS))
    text = (EXAMPLES / "models" / name).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, len(text) - 1))
        if kind == "flip":
            text = text[:at] + bytes([text[at] ^ draw(st.integers(1, 255))]) + text[at + 1:]
        elif kind == "cut":
            text = text[:at]
        elif kind == "insert":
            text = text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 16)):]
        if not text:
            break
    return name, text


def load_model(path: str):
    from bpdebug.imports.onnx_model import load_model as load
    return load(path)


@settings(FUZZ, max_examples=100)
@given(damaged_model())
def test_damaged_onnx_models_load_run_check_and_train_or_give_a_bperror(example):
    name, raw = example
    path = workdir() / f"fuzzed_{name}"
    path.write_bytes(raw)
    with strict():
        try:
            s = load_model(str(path))
        except BpError as err:
            assert str(err)
            return
        run_check_train(s)


# ---- the command language ----------------------------------------------------------------------------

SESSIONS = ["chain_rule.bp", "network_232.bp", "neuron_fanout.bp", "mistakes/sigmoid_sign.bp", "xor.bp"]
WORDS = ["step", "s", "next", "n", "continue", "c", "back", "r", "until", "u", "break", "b", "tbreak",
         "delete", "disable", "enable", "watch", "unwatch", "print", "p", "where", "w", "list", "l", "set",
         "restart", "info", "i", "check", "help", "h", "?", "train", "lr", "jump", "ignore", "condition",
         "up", "down", "quit", "stepp", "", "#"]
ARGS = ["", "1", "2", "3", "0", "-1", "²", "³", "inf", "nan", "1e309", "10^12", "1e12", "999999999",
        "x", "y", "q", "f", "out", "h.W", "h1.z", "C", "nosuch", "forward", "backward", "nonfinite",
        "mismatch", "all", "step", "b", "w", "breakpoints", "watches", "if value > 1", "if grad(x) < 0",
        "backward q if norm(grad) > 0", "x = 3", "x = [1, 2]", "h.W = [[1]]", "= 2", "x =", "grad(x)",
        "value", "isnan(grad)", "any(value > 5)", "1 2", "\x00", "\udcff", "(((", "[[[[", "a" * 300]
SAFE_COUNTS = [str(k) for k in range(-2, 20)] + ["²", "inf", "1e309", "10^12", "1e12", "x", ""]


@st.composite
def command_line(draw) -> str:
    word = draw(st.sampled_from(WORDS))
    if word in ("train", "step", "s", "back", "r"):
        # `train 999999999` (or `step`, which goes on into the next training steps) would run for
        # hours, as asked: counts stay small, or invalid
        return f"{word} {draw(st.sampled_from(SAFE_COUNTS))}"
    arg = draw(st.one_of(st.sampled_from(ARGS), st.text(max_size=30),
                         st.lists(st.sampled_from(ARGS), max_size=4).map(" ".join)))
    return f"{word} {arg}"


@lru_cache(maxsize=None)
def source(name: str) -> str:
    return (workdir() / "examples" / name).read_text(encoding="utf-8")


def fresh(name: str):
    """A session of the example, and the function that runs a command on it (through a Trainer
    when the program trains, as `script` does)."""
    s = bpdebug.load(source(name), str(workdir() / "examples" / name))
    if not any(n.kind == "param" for n in s.graph.nodes):
        return s, lambda line: execute(s, line)
    from bpdebug.train import Trainer
    from bpdebug.train import commands as train_commands
    from bpdebug.train.program import program_training
    from bpdebug.train.settings import Settings
    trainer = Trainer.from_settings(s, Settings().updated(program_training(s.graph).given).checked(),
                                    all_gradients=True)
    return trainer.session, lambda line: train_commands.execute(trainer, line)


@settings(FUZZ, max_examples=150)
@given(st.sampled_from(SESSIONS), st.lists(command_line(), min_size=1, max_size=12))
def test_random_command_lines_give_results_never_exceptions(name, lines):
    with strict():
        _session, run = fresh(name)
        for line in lines:
            result = run(line)
            assert isinstance(result, Result) and isinstance(result.text, str), line


# ---- the command line ------------------------------------------------------------------------------------

COMMANDS = ["run", "script", "check", "train", "graph", "replay", "diff"]
VALUES = ["1", "2", "0", "-1", "0.5", "1e-3", "inf", "-inf", "nan", "1e309", "10^12", "1e12", "x", "²", "",
          "sgd", "adam", "momentum", "cosine", "linear", "step:2:0.5", "step:0:1", "accuracy", "dot", "svg",
          "mermaid", "x=2", "X=[[1, 2]]", "q", "backward q", "if isnan(value)", "nonfinite", "step", "c",
          "train 2", "print x", "-", "\udcff"]
FILES = ["examples/chain_rule.bp", "examples/xor.bp", "examples/mazur.bp", "examples/linreg.bp",
         "examples/cnn_8x8.bp", "examples/mistakes/transpose.bp", "chain_rule.bpt", "xor.bpt",
         "examples/python_ops/net.bp", "examples/python_ops/layers.py", "examples/models/mlp.onnx",
         "examples/models/mlp_inputs.npz", "examples/models/mlp_labels.npy",
         "mse:examples/models/mlp_labels.npy", "softmax_cross_entropy:examples/models/mlp_labels.npy",
         "missing.bp", "examples", "/dev/null", "examples/xor.csv", "examples/data/README.md"]
OUTPUTS = ["out.npz", "out.bpt", "out.svg", "out.dot", "out", "/dev/full", "examples", "nodir/out.bpt",
           "\udcff.svg"]            # outputs naming inputs: test_robust.py
COUNT_FLAGS = {"--steps", "--batch", "--eval-every"}


@lru_cache(maxsize=None)
def flags(command: str) -> dict:
    """{flag: takes a value} for a subcommand, read from its parser."""
    parser = build_parser(cli_commands())
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.option_strings[-1]: a.nargs != 0 for a in sub._actions
            if a.option_strings and a.option_strings[-1] not in ("--help",)}


@st.composite
def argv(draw) -> list[str]:
    command = draw(st.sampled_from(COMMANDS))
    args = [command] + draw(st.lists(st.sampled_from(FILES), min_size=0, max_size=2))
    if command == "train":
        args += ["--steps", "2"]         # the program's own steps would take seconds; a drawn one overrides
    if command == "replay":
        args += [draw(st.sampled_from(["--json", "--print"]))]   # without either it opens the TUI
    known = flags(command)
    for flag in draw(st.lists(st.sampled_from(sorted(known)), max_size=5)):
        args.append(flag)
        if known[flag]:
            pool = OUTPUTS if flag in ("--save", "--trace", "-o", "--output") else \
                SAFE_COUNTS if flag in COUNT_FLAGS else VALUES + FILES
            args.append(draw(st.sampled_from(pool)))
    return args


def run_cli(args: list[str]) -> tuple[int, str]:
    """Exit code and stderr of `bpdebug ARGS` in this process, run in the work directory with an
    empty standard input (`--commands -` reads it)."""
    out, err = io.StringIO(), io.StringIO()
    cwd, stdin = os.getcwd(), sys.stdin
    os.chdir(workdir())
    sys.stdin = io.TextIOWrapper(io.BytesIO(b"step\n"))
    try:
        with strict(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:      # argparse's usage errors
                code = stop.code
    finally:
        os.chdir(cwd)
        sys.stdin = stdin
    return code, err.getvalue()


@settings(FUZZ, max_examples=100)
@given(argv())
def test_random_command_lines_of_bpdebug_exit_0_1_or_2(args):
    code, err = run_cli(args)
    assert code in (0, 1, 2), (args, err)
    assert "Traceback" not in err and "internal error" not in err, (args, err)
