"""ONNX import: models built with onnx.helper, forward values compared with onnx's own reference
evaluator, gradients with central differences of that evaluator (float64 models), and every
mistake a user can make with a model or its options one message, exit 2."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from bpdebug import BpError  # noqa: E402
from bpdebug.check import check_session  # noqa: E402
from bpdebug.cli import main as cli_main  # noqa: E402
from bpdebug.imports.onnx_import import KNOWN_OPSET  # noqa: E402
from bpdebug.imports.onnx_model import ModelOptions, import_model  # noqa: E402

F64 = TensorProto.DOUBLE


def model(nodes, inputs, outputs, inits=(), opset=17, dtype=F64):
    """A model from nodes; inputs/outputs as {name: shape}, inits as {name: array}."""
    g = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, dtype, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, dtype, s) for n, s in outputs.items()],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in dict(inits).items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def load(m, values=None, **options):
    return import_model(m, "test.onnx", values, ModelOptions(**options))


def reference(m, feeds: dict) -> dict:
    """Every tensor onnx's reference evaluator computes, by name."""
    return ReferenceEvaluator(m).run(None, feeds, intermediate=True)


def agrees_with_reference(m, feeds: dict, rtol=1e-9, atol=1e-12, **options):
    """Import and run m; every node named after an ONNX tensor holds the reference's value."""
    s = load(m, **options, inputs=feeds)
    s.run()
    ref = reference(m, feeds)
    compared = 0
    for node in s.graph.nodes:
        if node.onnx_name in ref and node.kind == "op":
            np.testing.assert_allclose(s.values[node.index], ref[node.onnx_name], rtol=rtol, atol=atol,
                                       err_msg=node.name)
            compared += 1
    assert compared
    return s


rng = np.random.default_rng(7)
X = rng.standard_normal((3, 4))


def mlp(opset=17, dtype=F64):
    np_type = np.float64 if dtype == F64 else np.float32
    W1 = rng.standard_normal((4, 5)).astype(np_type)
    W2 = rng.standard_normal((3, 5)).astype(np_type)
    nodes = [
        helper.make_node("Gemm", ["input.1", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"], name="/fc1/Gemm"),
        helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("Gemm", ["/relu/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm",
                         transB=1, alpha=0.5, beta=2.0),
    ]
    inits = {"fc1.weight": W1, "fc1.bias": np.full(5, 0.1, np_type), "fc2.weight": W2,
             "fc2.bias": np.array([0.1, -0.2, 0.3], np_type)}
    return model(nodes, {"input.1": ["N", 4]}, {"logits": ["N", 3]}, inits, opset, dtype)


def test_an_mlp_agrees_with_the_reference_evaluator():
    s = agrees_with_reference(mlp(), {"input.1": X})
    kinds = {n.name: n.kind for n in s.graph.nodes if n.is_leaf}
    assert kinds == {"input_1": "data", "fc1.weight": "param", "fc1.bias": "param", "fc2.weight": "param",
                     "fc2.bias": "param"}
    assert s.graph.node("fc1.Gemm_output_0").onnx_name == "/fc1/Gemm_output_0"
    loss = s.graph.nodes[s.graph.output]
    assert loss.name == "loss" and loss.op.name == "sum"


def test_gradients_agree_with_central_differences_of_the_reference_evaluator():
    m = mlp()
    s = load(m, inputs={"input.1": X})
    s.run()
    for name in ("fc1.weight", "fc2.bias"):
        init = {t.name: t for t in m.graph.initializer}[name]
        value = numpy_helper.to_array(init)
        numerical = np.zeros(value.shape)
        for e in range(value.size):
            ends = []
            for h in (1e-6, -1e-6):
                moved = value.copy()
                moved.flat[e] += h
                init.CopyFrom(numpy_helper.from_array(moved, name))
                ends.append(ReferenceEvaluator(m).run(None, {"input.1": X})[0].sum())
            numerical.flat[e] = (ends[0] - ends[1]) / 2e-6
        init.CopyFrom(numpy_helper.from_array(value, name))
        np.testing.assert_allclose(s.grad(name), numerical, rtol=1e-6, atol=1e-8)


UNARY = ["Abs", "Exp", "Log", "Neg", "Relu", "Sigmoid", "Sin", "Cos", "Tan", "Softplus", "Sqrt", "Tanh"]


@pytest.mark.parametrize("op", UNARY)
def test_each_elementwise_op(op):
    x = np.abs(rng.standard_normal((2, 3))) + 0.5 if op in ("Log", "Sqrt") else rng.standard_normal((2, 3))
    m = model([helper.make_node(op, ["x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]})
    agrees_with_reference(m, {"x": x})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow", "MatMul"])
def test_each_binary_op_with_broadcasting(op):
    shapes = ([2, 3, 4], [4, 5]) if op == "MatMul" else ([2, 3], [3])
    a = rng.standard_normal(shapes[0])
    b = np.abs(rng.standard_normal(shapes[1])) + 0.5
    if op == "Pow":
        a = np.abs(a) + 0.1
    m = model([helper.make_node(op, ["a", "b"], ["y"])], {"a": shapes[0], "b": shapes[1]}, {"y": None})
    s = agrees_with_reference(m, {"a": a, "b": b})
    assert check_session(s).ok


@pytest.mark.parametrize("opset", [11, 13, 18])
@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean"])
def test_reductions_with_axes_as_attribute_or_input(op, opset):
    x = rng.standard_normal((2, 3, 4))
    axes_as_input = opset >= (18 if op == "ReduceMean" else 13)
    if axes_as_input:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)
        inits = {"axes": np.array([0, -1], np.int64)}
    else:
        node = helper.make_node(op, ["x"], ["y"], keepdims=0, axes=[0, -1])
        inits = {}
    agrees_with_reference(model([node], {"x": [2, 3, 4]}, {"y": [3]}, inits, opset), {"x": x})


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset, axis", [(13, None), (13, 0), (11, None), (11, 1)])
def test_softmax_along_an_axis(op, opset, axis):
    x = rng.standard_normal((3, 4))
    node = helper.make_node(op, ["x"], ["y"], **({} if axis is None else {"axis": axis}))
    agrees_with_reference(model([node], {"x": [3, 4]}, {"y": [3, 4]}, opset=opset), {"x": x})


def test_batch_norm_in_inference_form_and_its_statistics_stay_out_of_training():
    stats = {"scale": np.array([1.0, 2, 3]), "bias": np.array([0.0, 1, -1]),
             "mean": np.array([0.5, 0, -0.5]), "var": np.array([1.0, 4, 0.25])}
    node = helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-3)
    s = agrees_with_reference(model([node], {"x": [4, 3]}, {"y": [4, 3]}, stats), {"x": rng.standard_normal((4, 3))})
    assert {n.name: n.kind for n in s.graph.nodes if n.kind in ("param", "leaf")} == {
        "scale": "param", "bias": "param", "mean": "leaf", "var": "leaf"}


def test_identity_and_dropout_pass_their_input_through():
    nodes = [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Dropout", ["a"], ["b"]),
             helper.make_node("Tanh", ["b"], ["y"])]
    s = agrees_with_reference(model(nodes, {"x": [2]}, {"y": [2]}), {"x": np.array([0.5, -1.0])})
    assert [n.name for n in s.graph.nodes] == ["x", "y", "loss"]
    assert s.graph.index("b") == s.graph.index("x")     # the names still reach the node


def test_constant_chains_are_folded_by_the_reference_implementation():
    # ReduceSum over the axis Shape -> Gather -> Unsqueeze computes; a Constant multiplies
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Constant", [], ["one"], value=numpy_helper.from_array(np.array(1, np.int64))),
             helper.make_node("Constant", [], ["first"], value_int=0),
             helper.make_node("Gather", ["s", "first"], ["n"]),
             helper.make_node("Sub", ["n", "one"], ["last"]),
             helper.make_node("Unsqueeze", ["last", "zero"], ["axes"]),
             helper.make_node("ReduceSum", ["x", "axes"], ["r"], keepdims=0),
             helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(np.array(2.0))),
             helper.make_node("Mul", ["r", "two"], ["y"])]
    m = model(nodes, {"x": [2, 3]}, {"y": [2]}, {"zero": np.array([0], np.int64)}, opset=13)
    s = agrees_with_reference(m, {"x": rng.standard_normal((2, 3))}, rtol=1e-6)
    assert [n.op_name for n in s.graph.nodes] == ["data", "sum", "const", "mul", "sum"]


SHAPE_OPS = [  # (opset, node, input shape, initializers)
    (14, helper.make_node("Reshape", ["x", "s"], ["y"]), [2, 3, 4], {"s": np.array([0, -1], np.int64)}),
    (13, helper.make_node("Flatten", ["x"], ["y"]), [2, 3, 4], {}),
    (13, helper.make_node("Flatten", ["x"], ["y"], axis=2), [2, 3, 4], {}),
    (11, helper.make_node("Squeeze", ["x"], ["y"], axes=[1]), [2, 1, 4], {}),
    (13, helper.make_node("Squeeze", ["x", "a"], ["y"]), [2, 1, 4], {"a": np.array([-2], np.int64)}),
    (13, helper.make_node("Squeeze", ["x"], ["y"]), [1, 3, 1], {}),
    (11, helper.make_node("Unsqueeze", ["x"], ["y"], axes=[0, 3]), [2, 3], {}),
    (13, helper.make_node("Unsqueeze", ["x", "a"], ["y"]), [2, 3], {"a": np.array([1, -1], np.int64)}),
    (13, helper.make_node("Concat", ["x", "x", "c"], ["y"], axis=1), [2, 3], {"c": np.ones((2, 1))}),
    (13, helper.make_node("Transpose", ["x"], ["y"], perm=[1, 2, 0]), [2, 3, 4], {}),
    (13, helper.make_node("Transpose", ["x"], ["y"]), [2, 3, 4], {}),
    (13, helper.make_node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=0), [2, 3, 4], {}),
    (18, helper.make_node("ReduceMax", ["x", "a"], ["y"]), [2, 3, 4], {"a": np.array([0, 2], np.int64)}),
    (13, helper.make_node("ReduceSum", ["x", "a"], ["y"]), [2, 3, 4], {"a": np.array([1], np.int64)}),
    (13, helper.make_node("ReduceMean", ["x"], ["y"]), [2, 3, 4], {}),
    (16, helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.2), [2, 3], {}),
    (13, helper.make_node("GlobalAveragePool", ["x"], ["y"]), [2, 3, 4, 5], {}),
]


@pytest.mark.parametrize("opset, node, shape, inits", SHAPE_OPS,
                         ids=[f"{n.op_type}-{k}" for k, (_, n, _, _) in enumerate(SHAPE_OPS)])
def test_shape_ops_reductions_and_activations(opset, node, shape, inits):
    s = agrees_with_reference(model([node], {"x": shape}, {"y": None}, inits, opset), {"x": rng.standard_normal(shape)})
    assert check_session(s).ok


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_before_opset_13_takes_the_axes_from_axis_on_as_one(op):
    # onnx's reference evaluator computes it along the one axis in every opset; the operator's
    # definition for opsets 1 to 12 (which overrides the reference) flattens, as done here
    x = rng.standard_normal((2, 3, 4))
    s = load(model([helper.make_node(op, ["x"], ["y"], axis=1)], {"x": [2, 3, 4]}, {"y": None}, opset=11),
             inputs={"x": x})
    s.run()
    rows = x.reshape(2, 12)
    log_p = rows - rows.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    expected = (log_p if op == "LogSoftmax" else np.exp(log_p)).reshape(2, 3, 4)
    np.testing.assert_allclose(s.value("y"), expected, rtol=1e-12)
    assert check_session(s).ok


IMAGE = rng.standard_normal((2, 3, 7, 6))
IMAGE_OPS = [  # (node, initializers)
    (helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 2, 1, 2], strides=[2, 1]),
     {"w": rng.standard_normal((4, 3, 3, 3)), "b": np.array([0.1, 0.2, -0.3, 0.0])}),
    (helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER"), {"w": rng.standard_normal((2, 3, 3, 3))}),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2]), {}),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2]), {}),
    (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3], strides=[1, 3]), {}),
    (helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"]),
     {"scale": np.array([1.0, 2, 3]), "bias": np.array([0.0, 1, -1]), "mean": np.array([0.5, 0, -0.5]),
      "var": np.array([1.0, 4, 0.25])}),
]


@pytest.mark.parametrize("node, inits", IMAGE_OPS, ids=[n.op_type for n, _ in IMAGE_OPS])
def test_convolution_pooling_and_batch_norm_of_images(node, inits):
    s = agrees_with_reference(model([node], {"x": list(IMAGE.shape)}, {"y": None}, inits), {"x": IMAGE})
    assert check_session(s).ok


@pytest.mark.parametrize("node, words", [
    (helper.make_node("Conv", ["x", "w"], ["y"], group=3), "Conv with group=3 is not supported"),
    (helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 0, 0]), "not the same on both sides"),
    (helper.make_node("Conv", ["x", "w"], ["y"], dilations=[2, 2]), "dilations [2, 2]"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
     "ceil_mode=1 takes windows past the edge"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 1, 1]), "MaxPool with padding"),
    (helper.make_node("Squeeze", ["x"], ["y"], axes=[1]), "Squeeze of an axis of size other than 1"),
])
def test_image_options_bpdebug_does_not_have_are_named(node, words):
    m = model([node], {"x": list(IMAGE.shape)}, {"y": None}, {"w": rng.standard_normal((3, 3, 3, 3))}, opset=11)
    with pytest.raises(BpError) as err:
        load(m, inputs={"x": IMAGE})
    assert f"ONNX node 'y' ({node.op_type}): " in str(err.value) and words in str(err.value)


def test_float32_models_agree_within_float32_rounding():
    m = mlp(dtype=TensorProto.FLOAT)
    agrees_with_reference(m, {"input.1": X.astype(np.float32)}, rtol=1e-5)


# ---- names, inputs and losses ----------------------------------------------------------------------

def test_names_are_made_valid_and_unique_and_json_keeps_the_originals(tmp_path, capsys):
    nodes = [helper.make_node("Relu", ["input.1"], ["23"]), helper.make_node("Neg", ["23"], ["onnx::Neg_5"]),
             helper.make_node("Exp", ["onnx::Neg_5"], ["loss"]), helper.make_node("Tanh", ["loss"], ["loss/"])]
    path = tmp_path / "names.onnx"
    onnx.save(model(nodes, {"input.1": [2]}, {"loss/": [2]}), path)
    assert cli_main(["run", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = [(n["name"], n.get("onnx_name")) for n in out["nodes"]]
    assert got == [("input_1", "input.1"), ("t23", "23"), ("onnx_Neg_5", "onnx::Neg_5"), ("loss_2", "loss"),
                   ("loss_3", "loss/"), ("loss", None)]
    assert out["output"] == "loss"


def test_random_inputs_are_seeded_standard_normal_of_the_declared_shape():
    a, b = load(mlp()), load(mlp(), batch=6)
    assert a.graph.node("input_1").shape == (1, 4) and b.graph.node("input_1").shape == (6, 4)
    np.testing.assert_array_equal(a.graph.node("input_1").value, np.random.default_rng(0).standard_normal((1, 4)))
    assert load(mlp()).graph.node("input_1").value.tolist() == a.graph.node("input_1").value.tolist()


def test_inputs_from_an_npz_by_name_and_set_by_the_shown_name(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    np.savez(tmp_path / "in.npz", **{"input.1": X})
    assert cli_main(["run", str(path), "--inputs", str(tmp_path / "in.npz"), "--json"]) == 0
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)["nodes"]}
    assert nodes["input_1"]["value"] == X.tolist()
    assert cli_main(["run", str(path), "--set", "input_1=[[1, 2, 3, 4]]", "--set", "fc2.bias=[0, 0, 0]",
                     "--json"]) == 0
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)["nodes"]}
    assert nodes["input_1"]["value"] == [[1, 2, 3, 4]] and nodes["fc2.bias"]["value"] == [0, 0, 0]


def test_losses(tmp_path):
    m = mlp()
    ref = reference(m, {"input.1": X})["logits"]
    np.save(tmp_path / "t.npy", np.ones((3, 3)))
    np.save(tmp_path / "i.npy", np.array([0, 2, 1]))
    np.save(tmp_path / "h.npy", np.eye(3)[[0, 2, 1]])
    expected = {"sum": ref.sum(), "mean": ref.mean(), f"mse:{tmp_path / 't.npy'}": ((ref - 1) ** 2).mean()}
    log_p = ref - np.log(np.exp(ref).sum(axis=1, keepdims=True))
    xent = -log_p[[0, 1, 2], [0, 2, 1]].mean()
    expected[f"softmax_cross_entropy:{tmp_path / 'i.npy'}"] = xent
    expected[f"softmax_cross_entropy:{tmp_path / 'h.npy'}"] = xent
    for spec, value in expected.items():
        s = load(m, inputs={"input.1": X}, loss=spec)
        s.run()
        assert s.graph.nodes[s.graph.output].name == "loss"
        assert s.value("loss") == pytest.approx(value, rel=1e-12), spec
        assert check_session(s).ok


def test_the_targets_set_the_batch_of_random_inputs(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((5, 3)))
    s = load(mlp(), loss=f"mse:{tmp_path / 't.npy'}")
    assert s.graph.node("input_1").shape == (5, 4) and s.graph.node("targets").kind == "data"


@pytest.mark.parametrize("args, words", [
    (["--loss", "max"], "--loss expects sum, mean, mse:TARGETS.npy or softmax_cross_entropy:LABELS.npy"),
    (["--loss", "mse:{tmp}/wide.npy", "--batch", "2"], "the targets in {tmp}/wide.npy have shape (2, 4); the "
                                                        "model's output 'logits' has shape (2, 3)"),
    (["--loss", "softmax_cross_entropy:{tmp}/bad.npy"], "must be class indices 0 to 2"),
    (["--loss", "mse:{tmp}/none.npy"], "cannot read"),
    (["--inputs", "{tmp}/wide.npz"], "input 'input_1' is declared (N, 4); the value given has shape (2, 5)"),
    (["--inputs", "{tmp}/wide.npy"], "is not an .npz archive"),
    (["--set", "input_2=[1]"], "--set gives 'input_2', which is not an input or an initializer"),
    (["--set", "fc1.bias=[1, 2]"], "'fc1.bias' has shape (5,); the value given has shape (2,)"),
    (["--batch", "0"], "--batch: must be a whole number from 1 to 1048576, got 0"),
    (["--batch", "1e309"], "--batch: must be a whole number from 1 to 1048576, got 1e309"),
    (["--batch", "²"], "--batch: must be a whole number from 1 to 1048576, got ²"),
    (["--batch", "1048576", "--max-elements", "1000000"], "input 'input_1' would have shape (1048576, 4): "
                                                          "4,194,304 elements, 33.6 MB"),
    (["--ops", "layers.py"], "--ops adds functions to a .bp program"),
])
def test_mistakes_with_inputs_and_losses(tmp_path, capsys, args, words):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    np.save(tmp_path / "wide.npy", np.zeros((2, 4)))
    np.save(tmp_path / "bad.npy", np.array([0, 3, 1]))
    np.savez(tmp_path / "wide.npz", **{"input.1": np.zeros((2, 5))})
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    try:
        code = cli_main(["run", str(path), *args])
    except SystemExit as exit_:      # a usage error, from argparse
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert words.replace("{tmp}", str(tmp_path)) in err and "Traceback" not in err


def test_a_symbolic_axis_other_than_the_batch_needs_values():
    m = model([helper.make_node("Relu", ["x"], ["y"])], {"x": ["N", "T"]}, {"y": ["N", "T"]})
    with pytest.raises(BpError, match="the size of axis 1 is not known; give its values with --inputs"):
        load(m)
    s = load(m, inputs={"x": np.ones((2, 7))})
    assert s.graph.node("x").shape == (2, 7)


# ---- models bpdebug cannot import ---------------------------------------------------------------------

def test_unsupported_ops_are_named_in_one_error_with_the_supported_list(tmp_path, capsys):
    nodes = [helper.make_node("Erf", ["x"], ["a"], name="erf1"), helper.make_node("Erf", ["a"], ["b"], name="erf2"),
             helper.make_node("HardSwish", ["b"], ["c"], name="hs"),
             helper.make_node("FusedThing", ["c"], ["y"], domain="com.example", name="f")]
    m = model(nodes, {"x": [2]}, {"y": [2]})
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    path = tmp_path / "u.onnx"
    onnx.save(m, path)
    assert cli_main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "the model uses ONNX ops bpdebug cannot import: Erf (nodes 'erf1', 'erf2'); HardSwish (node 'hs'); " \
           "com.example.FusedThing (node 'f')" in err
    assert "hint: supported: Abs, Add, AveragePool, BatchNormalization" in err and "Traceback" not in err


@pytest.mark.parametrize("opset, words", [(KNOWN_OPSET + 5, f"the model uses ONNX opset {KNOWN_OPSET + 5}; bpdebug's "
                                                            f"importer knows opsets 7 to {KNOWN_OPSET}"),
                                          (6, "the model uses ONNX opset 6")])
def test_an_opset_the_importer_does_not_know(opset, words):
    with pytest.raises(BpError) as err:
        load(model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2]}, {"y": [2]}, opset=opset))
    assert words in str(err.value) and "version_converter" in str(err.value)


@pytest.mark.parametrize("node, words", [
    (helper.make_node("Gemm", ["x", "w"], ["y"], transA=1, foo=2), "attribute 'foo' is not supported"),
    (helper.make_node("Softmax", ["x", "w"], ["y"]), "it has 2 inputs; bpdebug's mapping takes 1"),
    (helper.make_node("MatMul", ["x", "v"], ["y"]), "shapes do not fit"),
])
def test_a_node_that_cannot_be_imported_is_named(node, words):
    m = model([node], {"x": [2, 2]}, {"y": None}, {"w": np.eye(2), "v": np.ones((3, 2))})
    with pytest.raises(BpError) as err:
        load(m)
    assert f"ONNX node 'y' ({node.op_type}): " in str(err.value) and words in str(err.value)


def test_not_a_model_and_a_missing_file(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x93NUMPY not a model at all")
    assert cli_main(["run", str(bad)]) == 2
    assert "is not an ONNX model" in capsys.readouterr().err
    assert cli_main(["check", str(tmp_path / "none.onnx")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_onnx_options_on_a_program_are_refused(capsys):
    assert cli_main(["run", "-e", "f = 1", "--loss", "mean"]) == 2
    assert "--loss is for ONNX models" in capsys.readouterr().err


def test_without_the_onnx_package_the_message_says_how_to_get_it(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("no onnx")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    from bpdebug.imports.onnx_model import load_model
    with pytest.raises(BpError, match=r"pip install 'bpdebug\[onnx\]'"):
        load_model("x.onnx")


# ---- everything else bpdebug does ------------------------------------------------------------------

def test_check_passes_an_imported_model(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    assert cli_main(["check", str(path), "--batch", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and {c["name"] for c in report["leaves"]} >= {"fc1.weight", "input_1"}


def test_train_save_writes_the_trained_initializers_into_a_copy_of_the_model(tmp_path, capsys):
    path, out = tmp_path / "mlp.onnx", tmp_path / "trained.onnx"
    onnx.save(mlp(dtype=TensorProto.FLOAT), path)
    np.savez(tmp_path / "in.npz", **{"input.1": X})
    np.save(tmp_path / "labels.npy", np.array([0, 2, 1]))
    assert cli_main(["train", str(path), "--inputs", str(tmp_path / "in.npz"), "--loss",
                     f"softmax_cross_entropy:{tmp_path / 'labels.npy'}", "--steps", "20", "--lr", "0.5",
                     "--save", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["losses"][-1] < result["losses"][0]
    trained = onnx.load(out)
    inits = {t.name: numpy_helper.to_array(t) for t in trained.graph.initializer}
    assert inits["fc1.weight"].dtype == np.float32 and [n.op_type for n in trained.graph.node] == ["Gemm", "Relu", "Gemm"]
    np.testing.assert_allclose(inits["fc1.weight"], result["params"]["fc1.weight"], rtol=1e-6)
    # the trained model computes the loss the last training step left
    logits = ReferenceEvaluator(trained).run(None, {"input.1": X.astype(np.float32)})[0].astype(float)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert -log_p[[0, 1, 2], [0, 2, 1]].mean() < result["losses"][0]


def test_train_in_mini_batches_imports_the_model_again_for_the_batch(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    np.savez(tmp_path / "in.npz", **{"input.1": rng.standard_normal((8, 4))})
    np.save(tmp_path / "t.npy", np.zeros((8, 3)))
    assert cli_main(["train", str(path), "--inputs", str(tmp_path / "in.npz"), "--loss", f"mse:{tmp_path / 't.npy'}",
                     "--steps", "10", "--lr", "0.1", "--batch", "2", "--json"]) == 0
    losses = json.loads(capsys.readouterr().out)["losses"]
    assert len(losses) == 10 and losses[-1] < losses[0]


def test_save_of_a_model_to_npz_and_of_a_program_to_onnx(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    assert cli_main(["train", str(path), "--steps", "1", "--lr", "0.1", "--save", str(tmp_path / "p.npz")]) == 0
    assert set(np.load(tmp_path / "p.npz")) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert cli_main(["train", "-e", "param w = 2\nL = w * w", "--steps", "1", "--lr", "0.1",
                     "--save", str(tmp_path / "p.onnx")]) == 2
    assert "writes an ONNX model back" in capsys.readouterr().err


def test_script_steps_an_imported_model(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    assert cli_main(["script", str(path), "-c", "until relu.Relu_output_0", "-c", "p relu.Relu_output_0"]) == 0
    out = capsys.readouterr().out
    assert "relu.Relu_output_0 = relu(fc1.Gemm_output_0)" in out


def test_a_headless_command_on_a_model_never_imports_textual(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    probe = f"import sys, bpdebug.cli\ncode = bpdebug.cli.main(['check', {str(path)!r}])\nprint(code, 'textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr


def test_a_trace_of_a_model_replays_with_its_inputs_and_targets(tmp_path, capsys):
    path, trace = tmp_path / "mlp.onnx", tmp_path / "t.bpt"
    onnx.save(mlp(), path)
    np.savez(tmp_path / "in.npz", **{"input.1": X})
    np.save(tmp_path / "t.npy", np.ones((3, 3)))
    args = ["--inputs", str(tmp_path / "in.npz"), "--loss", f"mse:{tmp_path / 't.npy'}"]
    assert cli_main(["run", str(path), *args, "--json", "--trace", str(trace)]) == 0
    live = json.loads(capsys.readouterr().out)
    (tmp_path / "in.npz").unlink()      # the replay takes the inputs and targets from the trace
    (tmp_path / "t.npy").unlink()
    assert cli_main(["replay", str(trace), "--json"]) == 2   # it opens no path the trace names
    err = capsys.readouterr().err
    assert "recorded from the ONNX model" in err and "give it with --model FILE.onnx" in err
    assert cli_main(["replay", str(trace), "--json", "--model", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == live
    assert cli_main(["script", str(trace), "--model", str(path), "-c", "until loss", "-c", "p loss"]) == 0
    assert "loss = mean(loss.2)" in capsys.readouterr().out


# ---- the examples -----------------------------------------------------------------------------------

MODELS = Path(__file__).resolve().parent.parent / "examples" / "models"


def test_the_example_models_are_what_their_script_writes(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_models", MODELS / "make_models.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(tmp_path)
    for name in ("mlp", "cnn"):
        assert (tmp_path / f"{name}.onnx").read_bytes() == (MODELS / f"{name}.onnx").read_bytes()
        ours, theirs = np.load(tmp_path / f"{name}_inputs.npz"), np.load(MODELS / f"{name}_inputs.npz")
        assert set(ours) == set(theirs) and all(np.array_equal(ours[k], theirs[k]) for k in ours)
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}_labels.npy"), np.load(MODELS / f"{name}_labels.npy"))


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_an_example_model_agrees_with_the_reference_and_trains(name, tmp_path, capsys):
    m = onnx.load(MODELS / f"{name}.onnx")
    feeds = dict(np.load(MODELS / f"{name}_inputs.npz"))
    agrees_with_reference(m, feeds, rtol=1e-5, atol=1e-6)   # float32 models
    args = [str(MODELS / f"{name}.onnx"), "--inputs", str(MODELS / f"{name}_inputs.npz"),
            "--loss", f"softmax_cross_entropy:{MODELS / f'{name}_labels.npy'}"]
    assert cli_main(["check", *args]) == 0
    capsys.readouterr()
    assert cli_main(["train", *args, "--steps", "50", "--lr", "0.5", "--json", "--save", str(tmp_path / "t.onnx"),
                     "--val", "0.25", "--metric", "accuracy"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["losses"][-1] < 0.5 * out["losses"][0]
    assert out["val_rows"] == 2 and out["metric"] == "accuracy" and out["val_metric"][-1] is not None


def test_initializers_stored_as_external_data_next_to_the_model(tmp_path, capsys):
    from onnx.external_data_helper import convert_model_to_external_data

    m = mlp()
    convert_model_to_external_data(m, all_tensors_to_one_file=True, location="weights.data", size_threshold=0)
    onnx.save(m, tmp_path / "ext.onnx")
    assert cli_main(["run", str(tmp_path / "ext.onnx"), "--json"]) == 0   # read from the model's folder
    values = {n["name"]: n["value"] for n in json.loads(capsys.readouterr().out)["nodes"]}
    weight = {t.name: t for t in mlp().graph.initializer}["fc1.weight"]
    assert np.asarray(values["fc1.weight"]).shape == tuple(weight.dims)
    (tmp_path / "weights.data").unlink()
    assert cli_main(["run", str(tmp_path / "ext.onnx")]) == 2
    assert "cannot read initializer 'fc1.weight'" in capsys.readouterr().err
