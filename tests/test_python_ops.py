"""Ops written in Python (`@op`, `@f.vjp`, `op.from_cache`, `--ops FILE.py`): their gradients
agree with central differences of the whole program, `check` names a wrong VJP, and every
mistake in the user's code is one located message naming the op, the node, the shapes and the
line of the user's file (exit 2)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError, op
from bpdebug.check import check_session
from bpdebug.cli import main as cli_main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "python_ops"


@op
def affine(x, w, b):
    return x @ w + b


@affine.vjp
def affine_vjp(dout, out, x, w, b):
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


NET = "X = [[1, 2, 3], [0, -1, 2]]\nparam W = randn(3, 2, seed=1)\nparam b = [0.5, -0.5]\nL = sum(tanh(affine(X, W, b)))"


def numerical_gradient(text: str, ops, leaf: str, h: float = 1e-6):
    """d output / d leaf by central differences of the whole program, run again per element."""
    base = bpdebug.load(text, ops=ops)
    value = np.asarray(base.graph.node(leaf).value, dtype=float)
    out = np.zeros(value.shape)
    for e in range(value.size):
        ends = []
        for sign in (1, -1):
            moved = value.copy()
            moved.flat[e] += sign * h
            s = bpdebug.load(text, values={leaf: moved}, ops=ops)
            s.run()
            ends.append(s.value(s.graph.nodes[s.graph.output].name))
        out.flat[e] = (ends[0] - ends[1]) / (2 * h)
    return out


def write(tmp_path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text("import numpy as np\nfrom bpdebug import op\n" + textwrap.dedent(code))
    return str(path)


@pytest.mark.parametrize("leaf", ["X", "W", "b"])
def test_a_vjp_gives_the_gradients_of_central_differences(leaf):
    s = bpdebug.load(NET, ops=[affine])
    s.run()
    assert np.allclose(s.grad(leaf), numerical_gradient(NET, [affine], leaf), atol=1e-7)


def test_the_op_is_one_node_whose_step_shows_its_contributions():
    s = bpdebug.load(NET, ops=[affine])
    node = s.graph.node("L.1")
    assert node.op.name == "affine" and [s.graph.nodes[j].name for j in node.inputs] == ["X", "W", "b"]
    s.until("L.1")
    ev = s.until("L.1").event  # the backward step of the op's node
    assert ev.pass_ == "backward" and ev.node.name == "L.1"
    dout = 1 - np.tanh(affine(np.array([[1., 2, 3], [0, -1, 2]]), s.value("W"), s.value("b"))) ** 2
    assert np.allclose(ev.terms[2].contribution, dout.sum(axis=0))
    assert "hand-written: affine_vjp (" in ev.terms[0].derivative


def test_local_texts_name_the_nodes_the_op_reads():
    @op(local=("w.T", "x.T", "1"))
    def lin(x, w, b):
        return x @ w + b

    @lin.vjp
    def lin_vjp(dout, out, x, w, b):
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    s = bpdebug.load(NET.replace("affine", "lin"), ops=lin)
    s.run()
    ev = s.event(s.total - 1 - s.graph.index("L.1"))
    assert [t.derivative for t in ev.terms] == [
        "d(lin(X, W, b))/dX = W.T", "d(lin(X, W, b))/dW = X.T", "d(lin(X, W, b))/db = 1"]


def test_from_cache_uses_the_forwards_cache_and_names_the_op_after_it():
    calls = []

    def scale_forward(x, w):
        calls.append("forward")
        return x * w, ("the cache", x, w)

    def scale_backward(dout, cache):
        calls.append(cache[0])
        _, x, w = cache
        return dout * w, (dout * x).sum(axis=0)

    scale = op.from_cache(scale_forward, scale_backward)
    assert scale.name == "scale"
    text = "X = [[1, 2], [3, 4]]\nparam w = [0.5, -2]\nL = sum(scale(X, w) ^ 2)"
    s = bpdebug.load(text, ops=[scale])
    calls.clear()                              # building ran it once, on ones, for its shape
    s.run()
    assert calls == ["forward", "the cache"]   # one forward, and its cache reached the backward
    assert np.allclose(s.grad("w"), numerical_gradient(text, [scale], "w"), atol=1e-6)


def test_an_op_without_a_vjp_is_differentiated_numerically_and_says_so():
    @op
    def cube(x):
        return x ** 3

    s = bpdebug.load("x = [1, -2]\nL = sum(cube(x))", ops=[cube])
    s.run()
    assert np.allclose(s.grad("x"), [3.0, 12.0], rtol=1e-6)
    ev = s.event(s.total - 1 - s.graph.index("L.1"))
    assert "numerical (no VJP given" in ev.terms[0].derivative


def test_keyword_arguments_with_defaults_are_attributes(tmp_path):
    @op
    def leaky(x, slope=0.1):
        return np.where(x > 0, x, slope * x)

    @leaky.vjp
    def leaky_vjp(dout, out, x, slope=0.1):
        return dout * np.where(x > 0, 1.0, slope)

    s = bpdebug.load("x = [1, -2]\nL = sum(leaky(x, slope=2))", ops=[leaky])
    s.run()
    assert s.value("L") == -3.0 and list(s.grad("x")) == [1.0, 2.0]


def test_ops_from_a_module_or_a_list_and_scalars_stay_floats():
    import types

    module = types.ModuleType("mine")
    module.affine = affine
    module.other = 3
    module.scale = op(lambda x, k: x.shape == () and x * k, name="scale")   # numpy in, floats out
    s = bpdebug.load("x = [[2]]\nw = [[3]]\nb = [1]\nf = sum(affine(x, w, b)) + scale(2, 3)", ops=module)
    s.run()
    (k,) = [n.index for n in s.graph.nodes if n.op.name == "scale"]
    assert s.value("f") == 13.0 and isinstance(s.values[k], float)
    assert [s.grad(n).tolist() for n in ("x", "w", "b")] == [[[3.0]], [[2.0]], [1.0]]
    with pytest.raises(TypeError, match="ops= takes ops made with @op"):
        bpdebug.load("f = 1", ops=[print])


def test_check_names_the_node_of_a_wrong_vjp_with_the_hint_rules():
    @op
    def mm(x, w):
        return x @ w

    @mm.vjp
    def mm_vjp(dout, out, x, w):
        return dout @ w, x.T @ dout          # missing transpose: w is square

    @op
    def twice(x):
        return 2 * x

    @twice.vjp
    def twice_vjp(dout, out, x):
        return dout                          # off by a factor of 2

    text = "X = [[1, 2], [3, -1]]\nparam W = [[1, 2], [-3, 0.5]]\nh = mm(X, W)\nL = sum(twice(h) ^ 2)"
    report = check_session(bpdebug.load(text, ops=[mm, twice]))
    bad = {c.name: c for c in report.nodes if c.ok is False}
    assert set(bad) == {"h", "L.1"} and report.first_bad.name == "h"
    assert bad["h"].hint == "mm_vjp wrt x: missing transpose of 'w' (here W)"
    assert "the VJP mm_vjp (" in bad["h"].detail and "of op mm for 'x' (here 'X')" in bad["h"].detail
    assert bad["L.1"].hint == "twice_vjp wrt x: off by a factor of 2"


def test_the_example_mistake_is_named_and_the_fixed_version_passes(capsys):
    net = str(EXAMPLES / "net.bp")
    assert cli_main(["check", net, "--ops", str(EXAMPLES / "layers.py"), "--json"]) == 1
    import json
    report = json.loads(capsys.readouterr().out)
    assert report["first_bad"] == "L"
    (node,) = [n for n in report["nodes"] if n["ok"] is False]
    assert node["op"] == "softmax_loss" and "softmax_loss_vjp wrt scores: off by a factor" in node["hint"]
    assert cli_main(["check", net, "--ops", str(EXAMPLES / "layers_fixed.py"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    labels = [c for c in report["leaves"] if c["name"] == "labels"]
    assert labels[0]["verdict"] == "unchecked"    # its VJP sends None: no gradient to compare


def test_the_example_network_trains_in_mini_batches(capsys):
    # a batch rebuilds the program: with its ops
    code = cli_main(["train", str(EXAMPLES / "net.bp"), "--ops", str(EXAMPLES / "layers_fixed.py"),
                     "--steps", "30", "--lr", "0.5", "--json"])
    import json
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["losses"][-1] < 0.5 * out["losses"][0]


# ---- mistakes in the user's code ------------------------------------------------------------------

BROKEN = """
@op
def mm(x, w):
    return x @ w

@mm.vjp
def mm_vjp(dout, out, x, w):
    return dout @ w, x.T @ dout

@op
def short(x, w):
    return x @ w

@short.vjp
def short_vjp(dout, out, x, w):
    return (dout @ w.T,)

@op
def bias(x, b):
    return x + b

@bias.vjp
def bias_vjp(dout, out, x, b):
    return dout, dout

@op
def pair(x):
    return x, x

@op
def fails(x):
    return helper(x) if np.any(x > 2) else x     # not on the ones it is built with

def helper(x):
    return x.reshape(7)

@op
def cut(x):
    return np.maximum(x, 0)

@cut.vjp
def cut_vjp(dout, out, x):
    dx = dout
    dx[x <= 2] = 0
    return dx
"""


@pytest.mark.parametrize("program, words", [
    ("L = sum(mm(x, w))", ["op 'mm' at node 'L.1': its VJP raised ValueError: matmul",
                           "ops.py:10, in mm_vjp", "return dout @ w, x.T @ dout",
                           "inputs: x (1, 3), w (3, 2); output (1, 2)"]),
    ("L = sum(short(x, w))", ["its VJP returned 1 gradient; it must return 2, one per input (x, w)",
                              "ops.py:18, in short_vjp", "return (dout @ w.T,)"]),
    ("L = sum(bias(w, [1, 2]))", ["its VJP returned a gradient of shape (3, 2) for 'b', which has shape (2,)",
                                  "hint: not summed back over the broadcast axis 0: return it .sum(axis=0)"]),
    ("L = sum(fails(x))", ["op 'fails' at node 'L.1': its forward raised ValueError: cannot reshape",
                           "ops.py:37, in helper", "return x.reshape(7)"]),
    ("L = sum(cut(x))", ["its VJP raised ValueError: assignment destination is read-only", "ops.py:46, in cut_vjp",
                         "dx[x <= 2] = 0", "hint: the arrays an op is handed (its inputs, out and dout) are the values "
                         "bpdebug shows, so they are read-only: change a copy (dx = dout.copy())"]),
])
def test_a_mistake_names_the_op_the_node_the_shapes_and_the_users_line(tmp_path, capsys, program, words):
    ops = write(tmp_path, "ops.py", BROKEN)
    bp = tmp_path / "net.bp"
    bp.write_text(f"x = [[1, 2, 3]]\nw = ones(3, 2)\n{program}\n")
    assert cli_main(["run", str(bp), "--ops", ops]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bp}:3:")   # the call in the program, with a caret under it
    assert "^^^" in err and "Traceback" not in err and "bpdebug/" not in err
    for w in words:
        assert w in err


def test_a_forward_that_returns_a_pair_gets_pointed_to_from_cache(tmp_path):
    ops = write(tmp_path, "ops.py", BROKEN)
    from bpdebug.imports.ops_files import load_ops_files
    with pytest.raises(BpError) as err:
        bpdebug.load("x = [1, 2]\nL = sum(pair(x))", ops=load_ops_files([ops]))
    assert err.value.span.line == 2
    assert "pair's forward returned a tuple of 2, not an array" in str(err.value)
    assert "op.from_cache(forward, backward)" in str(err.value)


def test_a_shape_mismatch_at_build_time_names_the_users_line():
    with pytest.raises(BpError) as err:
        bpdebug.load("x = [[1, 2]]\nw = ones(3, 2)\nb = [1, 2]\nL = sum(affine(x, w, b))", ops=[affine])
    text = str(err.value)
    assert "shapes do not fit at node 'L.1' (affine): 'x' (1, 2) and 'w' (3, 2) and 'b' (2,)" in text
    assert "affine's forward raised ValueError" in text and "return x @ w + b" in text


def test_after_a_failing_step_the_session_stands_before_it():
    @op
    def bad(x):
        return x * 2

    @bad.vjp
    def bad_vjp(dout, out, x):
        raise RuntimeError("not written yet")

    s = bpdebug.load("x = [1, 2]\ny = bad(x)\nL = sum(y)", ops=[bad])
    with pytest.raises(BpError, match="its VJP raised RuntimeError: not written yet"):
        s.run()
    assert s.t == 4 and s.event().node.name == "L" and s.pass_ == "backward"
    s.back()
    assert s.t == 3 and s.grads[s.graph.index("y")] is None
    with pytest.raises(BpError):
        s.step(2)
    assert s.t == 4


@pytest.mark.parametrize("code, words", [
    ("x = = 1\n", ["ops.py:3:5: error: ", "is not valid Python", "x = = 1", "^"]),
    ("raise ValueError('no weights')\n", ["ops.py raised ValueError while loading: no weights", "ops.py:3, in <module>"]),
    ("def f(x):\n    return x\n", ["defines no op: decorate a function with @op"]),
    ("@op\ndef f(*xs):\n    return xs\n", ["an op takes a fixed list of inputs, not *xs"]),
])
def test_mistakes_in_an_ops_file(tmp_path, capsys, code, words):
    ops = write(tmp_path, "ops.py", code)
    assert cli_main(["run", "-e", "f = 1", "--ops", ops]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for w in words:
        assert w in err


def test_a_missing_ops_file_and_two_ops_of_one_name(tmp_path, capsys):
    assert cli_main(["run", "-e", "f = 1", "--ops", str(tmp_path / "nope.py")]) == 2
    assert "cannot read" in capsys.readouterr().err
    a = write(tmp_path, "a.py", "@op\ndef f(x):\n    return x\n")
    b = write(tmp_path, "b.py", "@op\ndef f(x):\n    return x\n")
    assert cli_main(["run", "-e", "y = f(1)", "--ops", a, "--ops", b]) == 2
    assert "two ops are named 'f'" in capsys.readouterr().err


def test_a_program_never_loads_python_by_itself(tmp_path, capsys):
    write(tmp_path, "layers.py", "import sys\nsys.exit('ran')\n")
    bp = tmp_path / "net.bp"
    bp.write_text("x = 2\nf = layers(x)\n")
    assert cli_main(["run", str(bp)]) == 2
    assert "unknown function 'layers'" in capsys.readouterr().err


def test_run_json_and_script_with_ops(capsys):
    args = [str(EXAMPLES / "net.bp"), "--ops", str(EXAMPLES / "layers_fixed.py")]
    assert cli_main(["run", *args, "--json"]) == 0
    import json
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)["nodes"]}
    assert nodes["scores"]["op"] == "affine" and nodes["h.2"]["op"] == "batchnorm"
    assert cli_main(["script", *args, "-c", "until h.2", "-c", "p h.2"]) == 0
    assert "h.2 = batchnorm(h.1, gamma, beta)" in capsys.readouterr().out


def test_a_headless_command_with_ops_never_imports_textual():
    import subprocess
    import sys

    argv = ["run", str(EXAMPLES / "net.bp"), "--ops", str(EXAMPLES / "layers_fixed.py")]
    probe = f"import sys, bpdebug.cli\ncode = bpdebug.cli.main({argv!r})\nprint(code, 'textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr


def test_a_trace_replays_only_with_the_ops_named_again(tmp_path, capsys):
    trace = tmp_path / "t.bpt"
    args = [str(EXAMPLES / "net.bp"), "--ops", str(EXAMPLES / "layers_fixed.py")]
    assert cli_main(["run", *args, "--json", "--trace", str(trace)]) == 0
    live = capsys.readouterr().out
    assert cli_main(["replay", str(trace), "--json"]) == 2
    assert "it calls ops written in Python (affine, batchnorm, softmax_loss): give their file with --ops" \
        in capsys.readouterr().err
    assert cli_main(["replay", str(trace), "--json", "--ops", str(EXAMPLES / "layers_fixed.py")]) == 0
    assert capsys.readouterr().out == live



def test_diff_of_two_traces_takes_the_ops_they_were_recorded_with(tmp_path, capsys):
    good, bad = tmp_path / "good.bpt", tmp_path / "bad.bpt"
    for layers, trace in (("layers_fixed.py", good), ("layers.py", bad)):
        assert cli_main(["run", str(EXAMPLES / "net.bp"), "--ops", str(EXAMPLES / layers),
                         "--trace", str(trace)]) == 0
    capsys.readouterr()
    assert cli_main(["diff", str(good), str(bad)]) == 2
    assert "give their file with --ops" in capsys.readouterr().err
    assert cli_main(["diff", str(good), str(bad), "--json", "--ops", str(EXAMPLES / "layers_fixed.py")]) == 1
    first = json.loads(capsys.readouterr().out)["first_divergence"]
    assert first["pass"] == "backward"          # the forward passes agree: the bug is in a VJP

def test_check_names_a_wrong_sign_and_a_sum_over_the_wrong_axis():
    @op
    def add_bias(x, b):
        return x + b

    @add_bias.vjp
    def add_bias_vjp(dout, out, x, b):
        return dout, dout.sum(axis=1)        # b is broadcast along axis 0: square, so the shape fits

    @op
    def flip(x):
        return -2 * x

    @flip.vjp
    def flip_vjp(dout, out, x):
        return 2 * dout

    report = check_session(bpdebug.load("x = randn(3, 3, seed=0)\nparam b = [1, 2, 3]\nL = sum(flip(add_bias(x, b)) ^ 2)",
                                        ops=[add_bias, flip]))
    hints = {c.name: c.hint for c in report.nodes if c.ok is False}
    assert hints == {"L.1": "add_bias_vjp wrt b: summed over axis 1, not 0", "L.2": "flip_vjp wrt x: wrong sign"}
    assert "dout.sum(axis=0)" in report.first_bad.detail


def test_an_op_written_in_python_takes_the_language_of_issue_9():
    # a method call, rebinding with +=, indexing and a comparison mask around a Python op
    text = ("X = [[1, 2, 3], [0, -1, 2]]\nparam W = randn(3, 2, seed=1)\nparam b = [0.5, -0.5]\n"
            "z = X.affine(W, b)\nz += 1\nL = sum(where(z > 0, z, 0.1 * z)[0]) + z#1[1, 1] ** 2")
    s = bpdebug.load(text, ops=[affine])
    assert s.run().reason == "end"
    assert s.graph.node("z#1").op.name == "affine"
    for leaf in ("W", "b"):
        np.testing.assert_allclose(s.grad(leaf), numerical_gradient(text, [affine], leaf), rtol=1e-5, atol=1e-7)
    with pytest.raises(BpError, match="unknown function 'afine' in X.afine"):
        bpdebug.load(text.replace("X.affine", "X.afine"), ops=[affine])
