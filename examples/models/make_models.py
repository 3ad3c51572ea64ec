"""Writes the example ONNX models with onnx.helper, so anyone can regenerate them:

    python examples/models/make_models.py

mlp.onnx   a 4-8-3 classifier as PyTorch exports nn.Linear: Gemm with transB=1 (weights stored
           (out, in)), Relu, Gemm; input `input` (N, 4), output `logits` (N, 3)
cnn.onnx   a small CNN on 1x8x8 images: Conv 3x3 (4 filters, padding 1), Relu, MaxPool 2x2, the
           Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain exporters write for
           x.view(x.size(0), -1), then Gemm to 3 classes; input `image` (N, 1, 8, 8)

with the inputs of each as an .npz (keys are the input names) and class labels as an .npy:

    bpdebug run examples/models/mlp.onnx --inputs examples/models/mlp_inputs.npz \\
        --loss softmax_cross_entropy:examples/models/mlp_labels.npy
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
ROWS = 8


def _init(name: str, value: np.ndarray):
    return numpy_helper.from_array(value.astype(np.float32), name)


def mlp(rng) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"], name="/fc1/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("Gemm", ["/relu/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
    ]
    inits = [_init("fc1.weight", rng.standard_normal((8, 4)) / 2), _init("fc1.bias", np.full(8, 0.1)),
             _init("fc2.weight", rng.standard_normal((3, 8)) / np.sqrt(8)), _init("fc2.bias", np.zeros(3))]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_models.py")


def cnn(rng) -> onnx.ModelProto:
    ints = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["/conv/Conv_output_0"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["/conv/Conv_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["/relu/Relu_output_0"], ["/pool/MaxPool_output_0"], name="/pool/MaxPool",
                         kernel_shape=[2, 2], strides=[2, 2]),
        # x.view(x.size(0), -1), as the exporter writes it
        helper.make_node("Shape", ["/pool/MaxPool_output_0"], ["/Shape_output_0"], name="/Shape"),
        helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"], name="/Gather",
                         axis=0),
        helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"], ["/Unsqueeze_output_0"],
                         name="/Unsqueeze"),
        helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_2_output_0"], ["/Concat_output_0"],
                         name="/Concat", axis=0),
        helper.make_node("Reshape", ["/pool/MaxPool_output_0", "/Concat_output_0"], ["/Reshape_output_0"],
                         name="/Reshape"),
        helper.make_node("Gemm", ["/Reshape_output_0", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
    ]
    inits = [_init("conv.weight", rng.standard_normal((4, 1, 3, 3)) / 3), _init("conv.bias", np.zeros(4)),
             _init("fc.weight", rng.standard_normal((3, 64)) / 8), _init("fc.bias", np.zeros(3)),
             ints("/Constant_output_0", 0), ints("/Constant_1_output_0", [0]), ints("/Constant_2_output_0", [-1])]
    graph = helper.make_graph(nodes, "cnn",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_models.py")


def main(folder: Path = HERE) -> None:
    rng = np.random.default_rng(0)
    for name, build, shape in (("mlp", mlp, (ROWS, 4)), ("cnn", cnn, (ROWS, 1, 8, 8))):
        model = build(rng)
        onnx.checker.check_model(model)
        onnx.save(model, folder / f"{name}.onnx")
        key = model.graph.input[0].name
        np.savez(folder / f"{name}_inputs.npz", **{key: rng.standard_normal(shape).astype(np.float32)})
        np.save(folder / f"{name}_labels.npy", rng.integers(0, 3, ROWS))


if __name__ == "__main__":
    main()
