"""Gradient health, per parameter and per `layer`: gradient norms, the share of exact zeros
(dead relu units send nothing back) and saturation (sigmoid/tanh outputs within 1e-6 of their
bounds, where the derivative all but vanishes). These are warnings, not mistakes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SATURATION = 1e-6
FLAG_SHARE = 0.25     # dead units or saturated outputs from this share on are flagged
ZERO_SHARE = 0.5      # exact zeros in a gradient from this share on are flagged
LARGE = 1e3           # a gradient norm above this is flagged


@dataclass
class ParamHealth:
    name: str
    shape: tuple
    grad_norm: float
    zero_share: float
    flags: list = field(default_factory=list)


@dataclass
class LayerHealth:
    name: str
    act: str
    units: int
    grad_norm: float                   # the layer's W and b gradients together
    zero_share: float                  # exact zeros in its W gradient
    dead_units: int | None = None      # relu: units that are 0 for every example
    saturated_share: float | None = None  # sigmoid, tanh: outputs at their bounds
    flags: list = field(default_factory=list)


def _grad(values: list, grads: list, i: int) -> np.ndarray:
    g = grads[i]
    return np.zeros(np.shape(values[i])) if g is None else np.asarray(g, dtype=float)


def _norm_flags(norm: float, zero_share: float) -> list:
    if not math.isfinite(norm):
        return ["nan or inf in the gradient"]
    flags = []
    if norm == 0.0:
        flags.append("no gradient at all")
    elif zero_share >= ZERO_SHARE:
        flags.append(f"{zero_share:.0%} of the gradient is exactly zero")
    if norm > LARGE:
        flags.append("large gradient")
    return flags


def param_health(graph, values: list, grads: list) -> list[ParamHealth]:
    out = []
    for node in graph.nodes:
        if node.kind != "param":
            continue
        g = _grad(values, grads, node.index)
        norm = float(np.linalg.norm(g))
        zeros = float(np.mean(g == 0.0)) if g.size else 0.0
        out.append(ParamHealth(node.name, node.shape, norm, zeros, _norm_flags(norm, zeros)))
    return out


def layer_health(graph, values: list, grads: list) -> list[LayerHealth]:
    names = graph.names
    out = []
    for node in graph.nodes:
        prefix = node.name[:-2]
        if node.kind != "param" or not node.name.endswith(".W") or f"{prefix}.xW" not in names:
            continue
        w, b = node.index, names.get(f"{prefix}.b")
        gw = _grad(values, grads, w)
        gb = _grad(values, grads, b) if b is not None else np.zeros(0)
        norm = float(math.hypot(np.linalg.norm(gw), np.linalg.norm(gb)))
        zeros = float(np.mean(gw == 0.0)) if gw.size else 0.0
        units = node.shape[1]
        act_index = names.get(f"{prefix}.a")
        act = graph.nodes[act_index].op.name if act_index is not None else "identity"
        layer = LayerHealth(prefix, act, units, norm, zeros)  # its params carry the norm flags
        a = values[act_index] if act_index is not None else None
        if a is not None:
            _activation(layer, np.asarray(a, dtype=float).reshape(-1, units))
        out.append(layer)
    return out


def _activation(layer: LayerHealth, a: np.ndarray) -> None:
    if layer.act == "relu":
        layer.dead_units = int(np.sum(np.all(a == 0.0, axis=0)))
        if layer.dead_units >= FLAG_SHARE * layer.units:
            layer.flags.append(f"{layer.dead_units} of {layer.units} relu units are dead "
                               "(zero for every example)")
    elif layer.act in ("sigmoid", "tanh"):
        low = 0.0 if layer.act == "sigmoid" else -1.0
        layer.saturated_share = float(np.mean((a - low < SATURATION) | (1.0 - a < SATURATION)))
        if layer.saturated_share >= FLAG_SHARE:
            layer.flags.append(f"{layer.saturated_share:.0%} of the {layer.act} outputs are saturated "
                               "(within 1e-6 of a bound)")
