"""Network sugar: `layer NAME = dense(...)` and the costs (`quadratic`, `cross_entropy`,
`softmax_cross_entropy`), expanded into ordinary named nodes by the builder."""
from __future__ import annotations

import math

import numpy as np

from ..lang import ast, did_you_mean
from ..ops import OPS
from .leaves import constant

ACTIVATIONS = ("sigmoid", "tanh", "relu", "softmax", "softplus", "identity")
COSTS = ("quadratic", "cross_entropy", "softmax_cross_entropy")


def dense_layer(builder, st: ast.Layer) -> None:
    call = st.call
    builder.target, builder.counter = st.name, 0
    if call.func != "dense":
        raise builder.error(f"unknown layer '{call.func}'", call.func_span, "layers are dense(input, units, act=...)")
    kw = {k: (v, s) for k, v, s in call.kwargs}
    for key in kw:
        if key not in ("act", "W", "b", "seed", "units"):
            raise builder.error(f"dense() has no argument '{key}' (it accepts units, act, W, b, seed)",
                                kw[key][1], did_you_mean(key, ("act", "W", "b", "seed", "units")))
    if not call.args or not isinstance(call.args[0], ast.Name):
        raise builder.error("dense() needs its input as the first argument, a node name", call.span)
    x = builder.lookup(call.args[0], {})
    in_shape = builder.nodes[x].shape
    if len(in_shape) not in (1, 2):
        raise builder.error(f"dense() needs a vector or a batch of rows as input; '{builder.nodes[x].name}' "
                            f"has shape {in_shape}", call.args[0].span)
    fan_in = in_shape[-1]
    if "W" in kw:
        W = constant(builder, kw["W"][0])
    else:
        units = call.args[1] if len(call.args) > 1 else kw.get("units", (None,))[0]
        if not (isinstance(units, ast.Num) and units.value >= 1 and units.value == int(units.value)):
            raise builder.error("dense() needs the number of units, or W=[[...]]", call.span)
        seed = int(kw["seed"][0].value) if "seed" in kw else len(builder.nodes)
        W = np.random.default_rng(seed).standard_normal((fan_in, int(units.value))) / math.sqrt(fan_in)
    # A value from outside (`--set h.W=...`, a trace's trained params) replaces the layer's own.
    W = np.asarray(builder.values.get(f"{st.name}.W", W), dtype=float)
    if W.ndim != 2 or W.shape[0] != fan_in:
        raise builder.error(f"W must have shape ({fan_in}, units) to multiply '{builder.nodes[x].name}' "
                            f"{in_shape}; got {W.shape}", kw["W"][1] if "W" in kw else call.span)
    b = np.asarray(constant(builder, kw["b"][0]), dtype=float) if "b" in kw else np.zeros(W.shape[1])
    b = np.asarray(builder.values.get(f"{st.name}.b", b), dtype=float)
    if b.shape != (W.shape[1],):
        raise builder.error(f"b must have shape ({W.shape[1]},); got {b.shape}", kw["b"][1])
    act = "identity"
    if "act" in kw:
        a = kw["act"][0]
        if not isinstance(a, ast.Name) or a.name not in ACTIVATIONS:
            raise builder.error(f"act must be one of {', '.join(ACTIVATIONS)}", kw["act"][1],
                                did_you_mean(getattr(a, "name", ""), ACTIVATIONS))
        act = a.name
    n = st.name
    w = builder.add(f"{n}.W", OPS["leaf"], kind="param", value=W, span=st.span)
    builder.bind(f"{n}.W", w, st.span)
    bias = builder.add(f"{n}.b", OPS["leaf"], kind="param", value=b, span=st.span)
    builder.bind(f"{n}.b", bias, st.span)
    xw = builder.add(f"{n}.xW", OPS["matmul"], (x, w), span=st.span)
    builder.bind(f"{n}.xW", xw, st.span)
    z = builder.add(f"{n}.z", OPS["add"], (xw, bias), span=st.span)
    builder.bind(f"{n}.z", z, st.span)
    out = z
    if act != "identity":
        out = builder.add(f"{n}.a", OPS[act], (z,), span=st.span)
        builder.bind(f"{n}.a", out, st.span)
    builder.bind(n, out, st.span)

def cost(builder, e: ast.Call, args: list[int], name: str) -> int:
    a, y = args
    pa, py = builder.nodes[a].shape, builder.nodes[y].shape
    rows = pa[0] if len(pa) == 2 else 1
    s = e.span
    if e.func == "quadratic":        # C = 0.5 * sum((a - y)^2) / rows
        diff = builder.add(builder.fresh(), OPS["sub"], (a, y), span=s)
        sq = builder.add(builder.fresh(), OPS["mul"], (diff, diff), span=s)
        total = builder.add(builder.fresh(), OPS["sum"], (sq,), span=s)
        scale = 0.5 / rows
    elif e.func == "cross_entropy":  # C = -sum(y log a + (1-y) log(1-a)) / rows
        one = builder.add(builder.fresh(), OPS["const"], kind="const", value=1.0, span=s)
        la = builder.add(builder.fresh(), OPS["log"], (a,), span=s)
        na = builder.add(builder.fresh(), OPS["sub"], (one, a), span=s)
        lna = builder.add(builder.fresh(), OPS["log"], (na,), span=s)
        ny = builder.add(builder.fresh(), OPS["sub"], (one, y), span=s)
        t1 = builder.add(builder.fresh(), OPS["mul"], (y, la), span=s)
        t2 = builder.add(builder.fresh(), OPS["mul"], (ny, lna), span=s)
        total = builder.add(builder.fresh(), OPS["add"], (t1, t2), span=s)
        total = builder.add(builder.fresh(), OPS["sum"], (total,), span=s)
        scale = -1.0 / rows
    else:                            # softmax_cross_entropy(z, y) = -sum(y log_softmax(z)) / rows
        ls = builder.add(builder.fresh(), OPS["log_softmax"], (a,), span=s)
        t = builder.add(builder.fresh(), OPS["mul"], (y, ls), span=s)
        total = builder.add(builder.fresh(), OPS["sum"], (t,), span=s)
        scale = -1.0 / rows
    if py != pa:
        raise builder.error(f"{e.func}: prediction '{builder.nodes[a].name}' {pa} and target "
                            f"'{builder.nodes[y].name}' {py} must have the same shape", s)
    c = builder.add(builder.fresh(), OPS["const"], kind="const", value=scale, span=s)
    return builder.add(name, OPS["mul"], (c, total), span=s)
