"""How an ONNX model becomes a Graph (see onnx_model for what the user sees): the model's
inputs, initializers and nodes, one ONNX node at a time through the mappings of onnx_ops.py,
constant chains folded, and the loss node at the end."""
from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..graph import Graph
from ..graph.builder import builder_for
from ..graph.network import cost
from ..lang import BpError
from ..ops import OPS
from ..train.program import ProgramTraining
from .onnx_data import load_array, model_inputs
from .onnx_ops import ONNX_OPS

KNOWN_OPSET = 25       # the mappings follow each op's definition up to this opset
OLDEST_OPSET = 7       # numpy broadcasting for arithmetic; older models need a converter
LOSSES = "sum, mean, mse:TARGETS.npy or softmax_cross_entropy:LABELS.npy"
RESERVED = {"loss", "targets", "labels", "value", "grad", "upstream", "step", "and", "or", "not", "param",
            "data", "output", "def", "layer", "wrt"}


_SEPARATORS, _INVALID, _UNDERSCORES = re.compile(r"[/.]+"), re.compile(r"[^A-Za-z0-9_]"), re.compile(r"_+")


class _Names:
    """Names a command can type, one per tensor, never twice."""

    def __init__(self):
        self.taken = set(RESERVED)

    def __call__(self, raw: str) -> str:
        parts = []
        for part in _SEPARATORS.split(raw):
            part = _UNDERSCORES.sub("_", _INVALID.sub("_", part))
            if not part:
                continue
            if part[0].isdigit():        # `input.1` -> input_1, `23` -> t23
                if parts:
                    parts[-1] += "_" + part
                    continue
                part = "t" + part
            parts.append(part)
        name = ".".join(parts) or "t"
        shown, k = name, 1
        while shown in self.taken:
            k += 1
            shown = f"{name}_{k}"
        self.taken.add(shown)
        return shown


class Importer:
    def __init__(self, model, path: str, values: dict, options):
        from onnx import helper

        self.helper = helper
        self.model, self.path, self.values, self.options = model, path, values, options
        self.opset = _opset(model, path)
        self.b = builder_for(path)
        self.names = _Names()
        self.env: dict = {}              # ONNX tensor name -> node index, or a constant array
        self.unavailable: dict = {}      # outputs bpdebug does not import -> the node's name
        self.onnx_node = None            # the node being imported (for its errors)
        self.initializers = {t.name: t for t in model.graph.initializer}
        self.frozen = set()              # BatchNormalization's running statistics

    # ---- the whole model ------------------------------------------------------------------------
    def graph(self) -> Graph:
        g = self.model.graph
        self._check_ops(g)
        target = self._target()
        self.batch = self.options.batch or (len(target[1]) if target and target[1].ndim else None)
        for raw, shown, value in model_inputs(self, g):
            self._input(raw, shown, value)
        for node in g.node:
            self.onnx_node = node
            self._node(node)
        self.onnx_node = None
        if not g.output:
            raise self.error("the model declares no output")
        out = self.node_of(g.output[0].name)
        loss = self._loss(out, target)
        self._check_given()
        graph = Graph(self.b.nodes, self.b.names, loss, [], "", self.path, {})
        # what the loss compares, for train's --metric and --predict
        graph.training = ProgramTraining(prediction=self.b.nodes[out].name, target=target and target[0])
        return graph

    def _check_ops(self, g) -> None:
        """Every op is mapped or folded to a constant; otherwise one error naming them all."""
        constant = {t.name for t in g.initializer if not _is_float(t.data_type)}
        unknown: dict[str, list] = {}
        for node in g.node:
            if not node.output or not node.output[0]:
                raise self.error(f"node '{node.name}' ({node.op_type}) has no output: the model is damaged")
            if node.op_type == "BatchNormalization":
                self.frozen.update(node.input[3:5])
            inputs = [x for x in node.input if x]
            if node.domain in ("", "ai.onnx") and (node.op_type in ("Shape", "Constant") or
                                                   inputs and all(x in constant for x in inputs)):
                constant.update(node.output)
            elif node.domain not in ("", "ai.onnx") or node.op_type not in ONNX_OPS:
                op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
                unknown.setdefault(op, []).append(node.name or node.output[0])
        if unknown:
            listed = "; ".join(f"{op} (node{'s' * (len(n) > 1)} {', '.join(repr(x) for x in n[:3])}"
                               f"{' …' if len(n) > 3 else ''})" for op, n in sorted(unknown.items()))
            raise self.error(f"the model uses ONNX ops bpdebug cannot import: {listed}",
                             "supported: " + ", ".join(sorted(ONNX_OPS)) + "; any op whose inputs are all "
                             "constants (Shape, Gather, Concat chains ...) is folded to numbers")

    def _input(self, raw: str, shown: str, value, kind: str = "data") -> None:
        i = self.b.add(shown, OPS["leaf"], kind=kind, value=value)
        self.b.nodes[i].onnx_name = raw
        self.env[raw] = i

    def _check_given(self) -> None:
        """Every value given names a leaf: a typo would otherwise go unnoticed."""
        from ..lang import did_you_mean

        leaves = {n.name for n in self.b.nodes if n.is_leaf} | {n.onnx_name for n in self.b.nodes if n.is_leaf}
        for source, option in ((self.values, "--set"), (self.options.inputs, "--inputs")):
            for name in source:
                if name not in leaves:
                    raise self.error(f"{option} gives '{name}', which is not an input or an initializer of "
                                     "the model", did_you_mean(name, sorted(x for x in leaves if x)))

    # ---- one node -------------------------------------------------------------------------------
    def _node(self, node) -> None:
        ins = [self.tensor(x) if x else None for x in node.input]
        attrs = self._attributes(node)
        given = [x for x in ins if x is not None]
        if node.op_type in ("Constant", "Shape") or given and all(isinstance(x, np.ndarray) for x in given):
            for name, value in zip(node.output, self._folded(node, ins, attrs)):
                self.env[name] = value
            return
        mapping = ONNX_OPS[node.op_type]
        while ins and ins[-1] is None:   # optional inputs left out at the end
            ins.pop()
        _check_arguments(self, mapping, ins, attrs)
        out = node.output[0]
        first = len(self.b.nodes)
        self.b.target, self.b.counter = self.names(out), 0
        try:
            result = mapping(self, *ins, **attrs)
        except BpError as err:
            raise self.error(err.message, err.hint) from None
        if isinstance(result, int) and result >= first:   # a new node: named after the output
            self.b.nodes[result].name = self.b.target
            self.b.nodes[result].onnx_name = out
        elif isinstance(result, int):                       # Identity, Dropout: another name for a node
            self.b.names[self.b.target] = result
        self.env[out] = result
        for extra in node.output[1:]:
            if extra:
                self.unavailable[extra] = node.name or out

    def _attributes(self, node) -> dict:
        """The node's attributes, each of the type its op's schema gives it: a damaged model
        can hold `alpha` as a graph, which no mapping expects."""
        from onnx import AttributeProto, defs

        try:
            schema = defs.get_schema(node.op_type, self.opset, node.domain).attributes
        except defs.SchemaError:                 # not an ONNX op: _check_ops names it
            schema = {}
        attrs = {}
        for a in node.attribute:
            want = schema.get(a.name)
            if want is not None and a.type != want.type:
                kind = AttributeProto.AttributeType.Name
                raise self.error(f"attribute '{a.name}' holds {kind(a.type)}, where {node.op_type} takes "
                                 f"{kind(want.type)}", "the model is damaged, or was not written by an ONNX exporter")
            value = self.helper.get_attribute_value(a)
            attrs[a.name] = value.decode(errors="backslashreplace") if isinstance(value, bytes) else value
        return attrs

    def _folded(self, node, ins: list, attrs: dict) -> list:
        if node.op_type == "Shape":   # every shape is known when the graph is built
            shape = np.array(self.shape(ins[0]), dtype=np.int64)
            return [shape[attrs.get("start", 0):attrs.get("end", len(shape))]]
        if node.op_type == "Constant" and len(attrs) == 1:   # the common forms, without the reference
            (key, value), = attrs.items()
            if key == "value":
                from onnx import numpy_helper
                return [numpy_helper.to_array(node.attribute[0].t)]
            if key in ("value_float", "value_floats", "value_int", "value_ints"):
                return [np.array(value, dtype=np.float32 if "float" in key else np.int64)]
        return _reference(self, node, ins)

    # ---- what the mappings call (see onnx_ops) ----------------------------------------------------
    def tensor(self, name: str):
        if name in self.env:
            return self.env[name]
        if name in self.initializers:
            init = self.initializers[name]
            from onnx import numpy_helper
            try:   # external data lives next to the model
                value = numpy_helper.to_array(init, str(Path(self.path).resolve().parent))
            except Exception as err:
                raise self.error(f"cannot read initializer '{name}': {err}") from None
            if not _is_float(init.data_type):
                self.env[name] = value
                return value
            shown = self.names(name)
            given = self.given(shown, name)
            if given is not None and given.shape != value.shape:
                raise self.error(f"'{shown}' has shape {value.shape}; the value given has shape {given.shape}")
            if given is None:
                with np.errstate(invalid="ignore"):   # a signalling nan (a damaged float) stays a nan
                    given = value.astype(float)
            self._input(name, shown, given, "leaf" if name in self.frozen else "param")
            return self.env[name]
        if name in self.unavailable:
            raise self.error(f"tensor '{name}' is an extra output of node '{self.unavailable[name]}', "
                             "which bpdebug does not import")
        raise self.error(f"tensor '{name}' is used before any node makes it")

    def node_of(self, x) -> int:
        if isinstance(x, str):
            x = self.tensor(x)
        if isinstance(x, np.ndarray):
            return self.const(x)
        return x

    def op(self, name: str, *xs, **attrs) -> int:
        inputs = [self.node_of(x) for x in xs]
        return self.b.add(self.b.fresh(), OPS[name], inputs, attrs=attrs)

    def const(self, value) -> int:
        value = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)
        return self.b.add(self.b.fresh(), OPS["const"], kind="const", value=value)

    def value(self, x) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            self.fail(f"input '{self.b.nodes[x].name}' must be a constant here")
        return x

    def shape(self, x) -> tuple:
        return np.shape(x) if isinstance(x, np.ndarray) else self.b.nodes[self.node_of(x)].shape

    def fail(self, why: str):
        raise BpError(why)

    def error(self, message: str, hint: str | None = None) -> BpError:
        node = self.onnx_node
        if node is not None:
            message = f"ONNX node '{node.name or node.output[0]}' ({node.op_type}): {message}"
        return BpError(message, filename=self.path, hint=hint)

    def given(self, shown: str, raw: str):
        """A leaf's value given from outside: --set (by its shown name), else --inputs (by either
        name); None if neither gives one."""
        for source, key in ((self.values, shown), (self.options.inputs, raw), (self.options.inputs, shown)):
            if key in source:
                return np.asarray(source[key], dtype=float)
        return None

    # ---- the loss ---------------------------------------------------------------------------------
    def _target(self):
        """(leaf name, value) of --loss mse:FILE or softmax_cross_entropy:FILE, else None."""
        kind, _, path = self.options.loss.partition(":")
        if kind in ("sum", "mean") and not path:
            return None
        if kind not in ("mse", "softmax_cross_entropy") or not path:
            raise self.error(f"--loss expects {LOSSES}, got '{self.options.loss}'")
        name = "targets" if kind == "mse" else "labels"
        if name in self.values:
            return name, np.asarray(self.values[name], dtype=float)
        return name, load_array(path, f"--loss {kind}")

    def _loss(self, out: int, target) -> int:
        kind, _, path = self.options.loss.partition(":")
        self.b.target, self.b.counter = "loss", 0
        if target is None:
            return self.b.add("loss", OPS[kind], [out])
        shape = self.b.nodes[out].shape
        name, value = target
        if kind == "softmax_cross_entropy":
            value = _one_hot(value, shape, path)
        if value.shape != shape:
            raise self.error(f"the {name} in {path} have shape {value.shape}; the model's output "
                             f"'{self.b.nodes[out].name}' has shape {shape}",
                             "the first axis is the batch: give the inputs' rows with --inputs, or --batch N")
        y = self.b.add(name, OPS["leaf"], kind="data", value=value)
        self.names.taken.add(name)
        if kind == "softmax_cross_entropy":
            return cost(self.b, SimpleNamespace(func=kind, span=None), [out, y], "loss")
        diff = self.b.add(self.b.fresh(), OPS["sub"], [out, y])
        return self.b.add("loss", OPS["mean"], [self.b.add(self.b.fresh(), OPS["mul"], [diff, diff])])


def _opset(model, path: str) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    opset = versions[0] if versions else 1
    if opset > KNOWN_OPSET:
        raise BpError(f"the model uses ONNX opset {opset}; bpdebug's importer knows opsets {OLDEST_OPSET} to "
                      f"{KNOWN_OPSET}", filename=path,
                      hint=f"convert it: onnx.version_converter.convert_version(model, {KNOWN_OPSET}), or "
                           f"export it again with opset {KNOWN_OPSET} or older")
    if opset < OLDEST_OPSET:
        raise BpError(f"the model uses ONNX opset {opset}; bpdebug's importer knows opsets {OLDEST_OPSET} to "
                      f"{KNOWN_OPSET}", filename=path,
                      hint=f"convert it: onnx.version_converter.convert_version(model, {KNOWN_OPSET})")
    return opset


def _is_float(data_type: int) -> bool:
    from onnx import helper
    return helper.tensor_dtype_to_np_dtype(data_type).kind == "f" if data_type else False


@functools.cache
def _takes(mapping) -> tuple:
    """(fewest inputs, most inputs, the attributes or None for any) of a mapping."""
    params = list(inspect.signature(mapping).parameters.values())[1:]      # after the emitter
    inputs = [p for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
    most = float("inf") if any(p.kind == p.VAR_POSITIONAL for p in params) else len(inputs)
    fewest = sum(p.default is p.empty for p in inputs)
    attrs = None if any(p.kind == p.VAR_KEYWORD for p in params) else \
        frozenset(p.name for p in params if p.kind == p.KEYWORD_ONLY)
    return fewest, most, attrs


def _check_arguments(importer, mapping, ins: list, attrs: dict) -> None:
    fewest, most, known = _takes(mapping)
    if not fewest <= len(ins) <= most:
        takes = f"{fewest}" if fewest == most else f"{fewest} to {most}" if most < float("inf") else f"{fewest} or more"
        raise importer.error(f"it has {len(ins)} inputs; bpdebug's mapping takes {takes}")
    for name in attrs if known is not None else ():
        if name not in known:
            raise importer.error(f"attribute '{name}' is not supported",
                                 "supported: " + (", ".join(sorted(known)) or "none"))


def _reference(importer, node, ins: list) -> list:
    """A node of constants, computed by onnx's reference implementation of its op."""
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    names = [x for x in node.input]
    feeds = {n: v for n, v in zip(names, ins) if n}
    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
              for n, v in feeds.items()]
    outputs = [helper.make_empty_tensor_value_info(n) for n in node.output if n]
    graph = helper.make_graph([node], "fold", inputs, outputs)
    try:
        return ReferenceEvaluator(graph, opsets={"": importer.opset}).run(None, feeds)
    except Exception as err:
        raise importer.error(f"folding it to a constant failed: {type(err).__name__}: {err}") from None


def _one_hot(labels: np.ndarray, shape: tuple, path: str) -> np.ndarray:
    """Class indices (N,) as one-hot rows (N, C); one-hot rows stay as they are."""
    if labels.ndim != 1:
        return labels
    classes = shape[-1] if shape else 0
    if np.any(labels != np.round(labels)) or np.any(labels < 0) or np.any(labels >= classes):
        raise BpError(f"the labels in {path} must be class indices 0 to {classes - 1} (the model's output "
                      f"has {classes} classes), or one-hot rows", filename=path)
    return np.eye(classes)[labels.astype(int)]
