"""Network sugar: `layer NAME = dense(...)` or `conv(...)`, and the costs (`quadratic`, `cross_entropy`,
`softmax_cross_entropy`), expanded into ordinary named nodes by the builder (softmax cross-entropy
is one node of its own op, whose backward step is the classic softmax(z) - y)."""
from __future__ import annotations

import math

import numpy as np

from ..lang import ast, did_you_mean
from ..ops import OPS
from ..ops.conv import pair
from .arguments import argument, boolean, check_size
from .leaves import constant

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softmax", "softplus", "identity")
COSTS = ("quadratic", "cross_entropy", "softmax_cross_entropy")
_COMMON = ("act", "W", "b", "bias", "train", "seed")
LAYERS = {"dense": ("units",) + _COMMON, "conv": ("channels", "kernel", "stride", "padding") + _COMMON}
_USAGE = "layers are dense(input, units, act=...) and conv(input, channels, kernel=3, act=...)"


def layer(builder, st: ast.Layer) -> None:
    """`layer NAME = dense(...)` or `conv(...)`: params NAME.W and NAME.b, then
    dense: NAME.xW = x @ W, NAME.z = NAME.xW + b;  conv: NAME.conv = conv2d(x, W),
    NAME.z = NAME.conv + b (b reshaped to (channels, 1, 1) to add over H and W); and
    NAME.a = act(NAME.z). `train=false` makes W and b plain leaves, which training leaves alone."""
    call, n = st.call, st.name
    builder.target, builder.counter = n, 0
    accepted = LAYERS.get(call.func)
    if accepted is None:
        raise builder.error(f"unknown layer '{call.func}'", call.func_span, _USAGE)
    kw = {}
    for key, value, span in call.kwargs:
        if key not in accepted:
            raise builder.error(f"{call.func}() has no argument '{key}' (it accepts {', '.join(accepted)})",
                                span, did_you_mean(key, accepted) or _USAGE)
        kw[key] = (value, span)
    if not call.args or not isinstance(call.args[0], ast.Name) or len(call.args) > 2:
        raise builder.error(f"{call.func}() takes its input, a node name, and the number of "
                            f"{accepted[0]}", call.span, _USAGE)
    x = builder.lookup(call.args[0], {})
    if len(call.args) == 2:
        kw.setdefault(accepted[0], (call.args[1], call.args[1].span))
    seed = argument(builder, "seed", kw["seed"][0]) if "seed" in kw else len(builder.nodes)
    train = boolean(builder, kw["train"][0], "train") if "train" in kw else True
    kind = "param" if train else "leaf"
    W = (_dense_weights if call.func == "dense" else _conv_weights)(builder, st, kw, x, seed)
    w = _leaf(builder, f"{n}.W", W, kind, st.span)
    units = W.shape[-1 if call.func == "dense" else 0]
    b = _bias(builder, st, kw, units, kind)      # the params first, then what they compute
    if call.func == "dense":
        z = builder.add(f"{n}.xW", OPS["matmul"], (x, w), span=st.span)
        builder.bind(f"{n}.xW", z, st.span)
    else:
        z = builder.add(f"{n}.conv", OPS["conv2d"], (x, w), span=st.span, attrs={
            key: argument(builder, key, kw[key][0]) for key in ("stride", "padding") if key in kw})
        builder.bind(f"{n}.conv", z, st.span)
    if b is not None:
        if call.func == "conv" and builder.nodes[b].shape == (units,):
            b = builder.add(f"{n}.b3", OPS["reshape"], (b,), attrs={"shape": (units, 1, 1)}, span=st.span)
            builder.bind(f"{n}.b3", b, st.span)
        z = builder.add(f"{n}.z", OPS["add"], (z, b), span=st.span)
        builder.bind(f"{n}.z", z, st.span)
    act = "identity"
    if "act" in kw:
        a = kw["act"][0]
        if not isinstance(a, ast.Name) or a.name not in ACTIVATIONS and a.name not in builder.defs:
            raise builder.error(f"act must be one of {', '.join(ACTIVATIONS)}, or an op of yours", kw["act"][1],
                                did_you_mean(getattr(a, "name", ""), ACTIVATIONS + tuple(builder.defs)))
        act = a.name
    out = z
    if act != "identity":
        out = builder.activation(act, z, f"{n}.a", kw["act"][1])
        builder.bind(f"{n}.a", out, st.span)
    builder.bind(n, out, st.span)


def _leaf(builder, name: str, value, kind: str, span) -> int:
    index = builder.add(name, OPS["leaf"], kind=kind, value=np.asarray(value, dtype=float), span=span)
    builder.bind(name, index, span)
    return index


def _count(builder, call, kw, key: str) -> int:
    if key not in kw:
        raise builder.error(f"{call.func}() needs the number of {key}, or W=[[...]]", call.span, _USAGE)
    return argument(builder, key, kw[key][0])


def _weights(builder, st, kw, drawn, want: tuple, shown: str):
    """W from W=[...], else the drawn one; a value from outside (`--set h.W=...`, a trace's
    trained params) replaces either. Checked against `want` (None: any size)."""
    W = constant(builder, kw["W"][0]) if "W" in kw else drawn()
    W = np.asarray(builder.values.get(f"{st.name}.W", W), dtype=float)
    if W.ndim != len(want) or any(w is not None and s != w for s, w in zip(W.shape, want)):
        raise builder.error(f"W must have shape {shown}; got {W.shape}", kw["W"][1] if "W" in kw else st.span,
                            "dense's W is (inputs, units): a row per input; conv's is (out, in, kh, kw)")
    return W


def _input_shape(builder, call, x, axes: tuple, wanted: str, hint: str) -> tuple:
    shape = builder.nodes[x].shape
    if len(shape) not in axes:
        raise builder.error(f"{call.func}() needs {wanted} as input; '{builder.nodes[x].name}' has shape {shape}",
                            call.args[0].span, hint)
    return shape


def _dense_weights(builder, st, kw, x, seed):
    call = st.call
    fan_in = _input_shape(builder, call, x, (1, 2), "a vector or a batch of rows",
                          "flatten(x) keeps axis 0 (the batch) and makes one row of the rest")[-1]

    def drawn():
        shape = (fan_in, _count(builder, call, kw, "units"))
        check_size(builder, f"param '{st.name}.W'", shape, st.span)
        return np.random.default_rng(seed).standard_normal(shape) / math.sqrt(max(fan_in, 1))
    return _weights(builder, st, kw, drawn, (fan_in, None), f"({fan_in}, units)")


def _conv_weights(builder, st, kw, x, seed):
    call = st.call
    channels = _input_shape(builder, call, x, (3, 4), "an image (C, H, W) or a batch (N, C, H, W)",
                            "reshape(X, [-1, 1, 8, 8]) makes rows of 64 pixels into 8x8 images of one channel")[-3]

    def drawn():
        if "kernel" not in kw:
            raise builder.error("conv() needs kernel=, the size of its filters (3 or [3, 5])", call.span, _USAGE)
        kh, kw_ = pair(argument(builder, "kernel", kw["kernel"][0]))
        shape = (_count(builder, call, kw, "channels"), channels, kh, kw_)
        check_size(builder, f"param '{st.name}.W'", shape, st.span)
        return np.random.default_rng(seed).standard_normal(shape) / math.sqrt(max(channels * kh * kw_, 1))
    return _weights(builder, st, kw, drawn, (None, channels, None, None), f"(out, {channels}, kh, kw)")


def _bias(builder, st, kw, units: int, kind: str):
    """The layer's bias node: NAME.b (zeros, a list, or one number shared by every unit), a node
    the program names (b=NAME), or none (bias=false)."""
    n = st.name
    if "bias" in kw and not boolean(builder, kw["bias"][0], "bias"):
        if "b" in kw:
            raise builder.error("b= gives a bias and bias=false asks for none", kw["b"][1], "keep one of them")
        return None
    given = kw.get("b", (None, None))[0]
    one_or_each = f"a bias is one number, shared by the {units} units, or one number per unit"
    if isinstance(given, ast.Name):
        if given.name not in builder.names:
            raise builder.error(f"the bias '{given.name}' is not defined above", given.span,
                                did_you_mean(given.name, builder.names) or "b= takes a number, a list or a "
                                "node defined above")
        b = builder.names[given.name]
        shape = builder.nodes[b].shape
        if shape not in ((), (units,)):
            raise builder.error(f"the bias '{given.name}' has shape {shape}; it must be one number or "
                                f"({units},)", given.span, one_or_each)
        return b
    if given is None:
        check_size(builder, f"param '{n}.b'", (units,), st.span)
    b = np.zeros(units) if given is None else np.asarray(constant(builder, given), dtype=float)
    b = np.asarray(builder.values.get(f"{n}.b", b), dtype=float)
    if b.shape not in ((), (units,)):
        raise builder.error(f"b must be one number (shared by the {units} units) or have shape ({units},); "
                            f"got {b.shape}", kw["b"][1] if "b" in kw else st.span, one_or_each)
    return _leaf(builder, f"{n}.b", b, kind, st.span)


def cost(builder, e: ast.Call, args: list[int], name: str) -> int:
    a, y = args
    pa, py = builder.nodes[a].shape, builder.nodes[y].shape
    s = e.span
    if py != pa:
        raise builder.error(f"{e.func}: prediction '{builder.nodes[a].name}' {pa} and target "
                            f"'{builder.nodes[y].name}' {py} must have the same shape", s)
    rows = pa[0] if len(pa) == 2 else 1
    if rows == 0:
        raise builder.error(f"{e.func}() of a batch of 0 rows has no value: a cost averages over its rows", s)
    if e.func == "softmax_cross_entropy":   # one op: its backward step sends (softmax(z) - y) / rows
        return builder.add(name, OPS["softmax_cross_entropy"], (a, y), span=s)
    if e.func == "quadratic":        # C = 0.5 * sum((a - y)^2) / rows
        diff = builder.add(builder.fresh(), OPS["sub"], (a, y), span=s)
        sq = builder.add(builder.fresh(), OPS["mul"], (diff, diff), span=s)
        total = builder.add(builder.fresh(), OPS["sum"], (sq,), span=s)
        scale = 0.5 / rows
    else:                            # cross_entropy: C = -sum(y log a + (1-y) log(1-a)) / rows
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
    c = builder.add(builder.fresh(), OPS["const"], kind="const", value=scale, span=s)
    return builder.add(name, OPS["mul"], (c, total), span=s)
