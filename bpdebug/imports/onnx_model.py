"""ONNX models: `bpdebug model.onnx`. The model becomes a Graph of ordinary nodes of the op
table, one ONNX node at a time through the mappings of onnx_ops.py:

- initializers become params, keeping their names (BatchNormalization's running mean and
  variance become plain leaves: training leaves them alone);
- graph inputs become data leaves: values from --inputs FILE.npz or --set, else seeded
  standard-normal numbers of the declared shape, a symbolic batch dimension being --batch N
  (default 1);
- a loss node named `loss` (--loss sum, mean, mse:TARGETS.npy, softmax_cross_entropy:LABELS.npy)
  is the scalar the backward pass starts from;
- a node whose inputs are all constants (the Shape -> Gather -> Concat chains exporters emit
  around Reshape) is folded to numbers by onnx's reference implementation of its op.

Node names are the output tensors' names made into names a command can type (`/fc1/Gemm_output_0`
is `fc1.Gemm_output_0`); each node keeps the original as `onnx_name`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..files import MAX_DATA_BYTES, read_limited
from ..graph import Graph
from ..lang import BpError


@dataclass
class ModelOptions:
    inputs: dict = field(default_factory=dict)   # input name -> array (--inputs FILE.npz)
    batch: int | None = None                     # the size of a symbolic batch dimension
    loss: str = "sum"


def onnx_module():
    try:
        import onnx
    except ImportError:
        raise BpError("reading ONNX models needs the onnx package: pip install 'bpdebug[onnx]'") from None
    return onnx


def load_model(path: str, values: dict | None = None, options: ModelOptions | None = None):
    """A Session over the model at `path` (`values`: leaf values by shown name, as --set gives)."""
    onnx = onnx_module()
    raw = _read(path)
    try:
        model = onnx.load_model_from_string(raw)
    except Exception as err:   # protobuf's DecodeError and friends
        raise BpError(f"{path} is not an ONNX model ({type(err).__name__}: {err})", filename=path) from None
    _check_damage(model, path)
    return import_model(model, path, values, options or ModelOptions())


def _check_damage(model, path: str) -> None:
    """What protobuf decodes from a damaged file but neither onnx nor bpdebug takes, said once
    here: a name that is not UTF-8 (protobuf hands it over as bytes), a data type no ONNX
    version has."""
    from onnx import helper

    g = model.graph
    for t in g.initializer:
        try:
            helper.tensor_dtype_to_np_dtype(t.data_type) if t.data_type else None
        except KeyError:
            raise BpError(f"{path} is damaged: initializer '{t.name}' has data type {t.data_type}, "
                          "which ONNX does not define", filename=path) from None
    names = [o.domain for o in model.opset_import] + [t.name for t in g.initializer]
    names += [v.name for v in (*g.input, *g.output)]
    for n in g.node:
        names += [n.op_type, n.domain, n.name, *n.input, *n.output, *(a.name for a in n.attribute)]
    if any(isinstance(name, bytes) for name in names):
        raise BpError(f"{path} is damaged: it holds a name that is not UTF-8 text", filename=path)


def import_model(model, path: str, values: dict | None, options: ModelOptions):
    from ..engine import Session

    from .onnx_import import Importer

    graph = Importer(model, path, values or {}, options).graph()
    graph.origin = OnnxOrigin(model, path, options, graph)
    return Session(graph)


def _read(path: str) -> bytes:
    try:
        return read_limited(path, MAX_DATA_BYTES, f"model {path}")
    except OSError as err:
        raise BpError(f"cannot read {path}: {err.strerror or err}", filename=path) from None


class OnnxOrigin:
    """Where an imported graph came from: the model, to import again with other leaf values (a
    mini-batch), and to write trained params back into (`train --save trained.onnx`)."""

    def __init__(self, model, path: str, options: ModelOptions, graph: Graph):
        self.model, self.path, self.options = model, path, options
        self.onnx_names = {n.name: n.onnx_name for n in graph.nodes if n.kind == "param"}

    def load(self, values: dict):
        return import_model(self.model, self.path, values, self.options)

    def trace_fields(self) -> dict:
        """A replay imports the model again; its inputs and targets come from the trace."""
        return {"model": {"loss": self.options.loss, "batch": self.options.batch}}

    def save(self, out: str, params: dict) -> None:
        """A copy of the model with these params (by shown name) as its initializers."""
        onnx = onnx_module()
        from onnx import helper, numpy_helper

        trained = {self.onnx_names[name]: value for name, value in params.items() if name in self.onnx_names}
        copy = onnx.ModelProto()
        copy.CopyFrom(self.model)
        for init in copy.graph.initializer:
            if init.name in trained:
                dtype = helper.tensor_dtype_to_np_dtype(init.data_type)
                init.CopyFrom(numpy_helper.from_array(np.asarray(trained[init.name]).astype(dtype), init.name))
        try:
            onnx.save_model(copy, out)
        except OSError as err:
            raise BpError(f"cannot write {out}: {err.strerror or err}") from None
