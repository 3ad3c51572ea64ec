"""Gradients of random programs agree with central differences.

Hypothesis writes straight-line programs over scalar and tensor leaves (shapes that broadcast
against each other), using the op table's ops (matmul, dot, outer, sum/mean/max/min/logsumexp/
argmax/softmax/log_softmax with axis, max/min, clip, pow with a positive base, transpose,
reshape, flatten, concat, stack, indexing and slicing, the activations, dropout, stop_gradient,
comparisons as 0/1 masks, in products and in where(x > 0, a, b)) and user ops with and
without grad lines, and rebinding names as Python does (`n0 += w1`, `n0 = tanh(n0)`: every
version reaches the output). The numerical derivative of every leaf element comes from
re-running the forward pass with that element moved by +-h (Session.set_leaf), so it never
touches the backward pass; a stop_gradient node is held at its value there (the gradient it
stops is that of a constant). Programs whose values sit near a kink (relu or abs near 0, a
max/min tie, a comparison's two sides) are rejected, since a central difference straddling a
kink says nothing about the derivative there. Convolution and pooling have their own tests, in
test_conv.py.
"""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bpdebug
from bpdebug.ops import OPS, scalar_forward, scalar_vjp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SHAPES = [(), (3,), (1, 3), (2, 1), (2, 3)]
H = 1e-6
KINK_MARGIN = 1e-3

DEFS = """def sq(a) = a * a
def cube(a) = a * a * a
grad cube wrt a = 3 * a^2
def gate(a, b) = a * tanh(b)
grad gate wrt a = dout * tanh(b)
def soft(a) = log(1 + exp(a))
grad soft wrt a = 1 / (1 + exp(-a))
"""

UNARY = ["neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "softplus",
         "sq", "cube", "soft", "square", "cube_pow", "square_fn", "log1p", "expm1", "sign", "leaky_relu",
         "elu", "gelu", "dropout", "stop_gradient"]
BINARY = ["add", "sub", "mul", "div", "max", "min", "pow", "gate", "clip", "where"]
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]
COMPARISON_OPS = ("lt", "le", "gt", "ge", "eq", "ne")


def literal(value) -> str:
    return repr(float(value)) if np.ndim(value) == 0 else json.dumps(np.asarray(value).tolist())


def broadcast(a: tuple, b: tuple) -> tuple:
    return tuple(np.broadcast_shapes(a, b))


def fits(a: tuple, b: tuple) -> bool:
    try:
        broadcast(a, b)
        return True
    except ValueError:
        return False


@st.composite
def values_of(draw, shape):
    n = int(np.prod(shape)) if shape else 1
    # a grid of 0.001 in [-2, 2]: no subnormal or 1e-300 values, which say nothing more
    xs = draw(st.lists(st.integers(-2000, 2000).map(lambda k: k / 1000), min_size=n, max_size=n))
    return np.array(xs).reshape(shape) if shape else xs[0]


@st.composite
def index_keys(draw, shape: tuple):
    """(text, key) of a basic NumPy index into `shape`: an int or a slice for some leading axes."""
    texts, key = [], []
    for size in shape[:draw(st.integers(1, len(shape)))]:
        if draw(st.booleans()):
            i = draw(st.integers(-size, size - 1))
            texts.append(str(i))
            key.append(i)
            continue
        bound = st.one_of(st.none(), st.integers(-size - 1, size + 1))
        start, stop, step = draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2]))
        texts.append(("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
                     + ("" if step is None else f":{step}"))
        key.append(slice(start, stop, step))
    return ", ".join(texts), tuple(key)


@st.composite
def programs(draw, shapes=SHAPES, tensor_ops=True):
    """(program text, leaf names)."""
    lines = [DEFS]
    nodes: list[list] = []           # [name, shape]; an earlier version of a rebound name as `n0#1`
    versions: dict[str, int] = {}
    leaves: list[str] = []

    def leaf(shape) -> str:
        name = f"w{len(leaves)}"
        lines.append(f"{name} = {literal(draw(values_of(shape)))}")
        leaves.append(name)
        nodes.append((name, shape))
        return name

    for _ in range(draw(st.integers(1, 3))):
        leaf(draw(st.sampled_from(shapes)))

    kinds = ["unary", "binary", "augment", "mask"] + (
        ["matmul", "reduce", "softmax", "transpose", "index", "shape", "join", "vectors"] if tensor_ops else [])
    for k in range(draw(st.integers(1, 9))):
        name = f"n{k}"
        kind = draw(st.sampled_from(kinds))
        a, sa = draw(st.sampled_from(nodes))
        rebind = False
        if kind == "augment":   # `a += b`, as micrograd writes it: a new version of a
            computed = [(n, s) for n, s in reversed(nodes) if n.startswith("n") and "#" not in n]
            if not computed:
                continue
            a, sa = draw(st.sampled_from(computed))
            b, sb = draw(st.sampled_from([(n, s) for n, s in nodes if fits(sa, s)]))
            symbol = draw(st.sampled_from(["+", "-", "*", "/"]))
            expr = f"{symbol}= " + (f"exp(tanh({b}))" if symbol == "/" else b)
            shape, rebind = broadcast(sa, sb), True
        elif kind == "unary":
            op = draw(st.sampled_from(UNARY))
            expr = {
                "neg": f"-{a}", "exp": f"exp(tanh({a}))", "log": f"log(sigmoid({a}) + 0.1)",
                "sqrt": f"sqrt(sigmoid({a}) + 0.1)", "square": f"{a} ^ 2", "cube_pow": f"{a} ^ 3",
                "square_fn": f"square({a})", "log1p": f"log1p(sigmoid({a}))", "expm1": f"expm1(tanh({a}))",
                "leaky_relu": f"leaky_relu({a}, slope={draw(st.sampled_from([0.01, 0.3, -0.5]))})",
                "elu": f"elu({a}, alpha={draw(st.sampled_from([1, 0.4]))})",
                "dropout": f"dropout({a}, p={draw(st.sampled_from([0.3, 0.5]))}, seed={draw(st.integers(0, 9))})",
            }.get(op, f"{op}({a})")
            shape = sa
        elif kind == "binary":
            op = draw(st.sampled_from(BINARY))
            others = [(n, s) for n, s in nodes if fits(sa, s) and (n != a or op not in ("max", "min", "clip"))]
            if not others:
                continue
            b, sb = draw(st.sampled_from(others))
            shape = broadcast(sa, sb)
            symbol = {"add": "+", "sub": "-", "mul": "*"}
            if op in symbol:
                expr = f"{a} {symbol[op]} {b}"
            elif op == "div":
                expr = f"{a} / exp(tanh({b}))"
            elif op == "pow":   # a positive base; any exponent
                expr = f"exp(tanh({a})) ^ {b}"
            elif op == "clip":  # lo and hi are nodes too, and get their share
                expr = f"clip({a}, {b}, {b} + 0.5)"
            elif op == "where":  # a constant 0/1 mask of the broadcast shape
                mask = draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=int(np.prod(shape)),
                                     max_size=int(np.prod(shape))))
                expr = f"where({literal(np.reshape(mask, shape))}, {a}, {b})"
            else:
                expr = f"{op}({a}, {b})"
        elif kind == "matmul":
            if sa == ():
                continue
            m = draw(st.integers(1, 3))
            right = draw(st.booleans()) or len(sa) == 1
            # sometimes a stack of W: batched matmul (against a stack a may already be, from stack([...]))
            stack = draw(st.sampled_from([s for s in [(), (), (2,)] if fits(s, sa[:-2])]))
            if right:   # a @ W, W of shape (last axis of a, m)
                try:
                    lead = broadcast(stack, sa[:-2])
                except ValueError:      # a's own stack of another size: W without one
                    stack, lead = (), sa[:-2]
                w = leaf(stack + (sa[-1], m))
                expr, shape = f"{a} @ {w}", lead + sa[-2:-1] + (m,)
            elif len(sa) == 1:   # W @ v
                w = leaf((m, sa[0]))
                expr, shape = f"{w} @ {a}", (m,)
            else:       # W @ a, W of shape (m, rows of a); a may be a stack
                w = leaf((m, sa[-2]))
                expr, shape = f"{w} @ {a}", sa[:-2] + (m, sa[-1])
        elif kind == "reduce":
            if sa == ():
                continue
            op = draw(st.sampled_from(["sum", "mean", "max", "min", "logsumexp", "argmax"]))
            axes = [None] + list(range(-len(sa), len(sa)))
            if len(sa) == 2 and op != "argmax":
                axes.append([0, 1])
            axis = draw(st.sampled_from(axes))
            expr = f"{op}({a})" if axis is None else f"{op}({a}, axis={axis})"
            if axis is None or isinstance(axis, list):
                shape = ()
            else:
                shape = sa[:axis % len(sa)] + sa[axis % len(sa) + 1:]
        elif kind == "softmax":
            if sa == ():
                continue
            op = draw(st.sampled_from(["softmax", "log_softmax"]))
            axis = draw(st.sampled_from(range(-len(sa), len(sa))))
            expr, shape = f"{op}({a}, axis={axis})", sa
        elif kind == "mask":   # a comparison is a constant 0/1: the gradient flows through a (and b) only
            c, sc = draw(st.sampled_from([(n, s) for n, s in nodes if fits(sa, s)]))
            others = [(n, s) for n, s in nodes if fits(broadcast(sa, sc), s) and n != c]
            d, sd = draw(st.sampled_from(others + [(repr(draw(values_of(()))), ())]))
            test = f"{c} {draw(st.sampled_from(COMPARISONS))} {d}"
            shape = broadcast(broadcast(sa, sc), sd)
            if draw(st.booleans()):
                expr = f"{a} * ({test})"
            else:   # where(x > 0, x, 0.1 * x) and its cousins
                b, sb = draw(st.sampled_from([(n, s) for n, s in nodes if fits(shape, s)]))
                expr, shape = f"where({test}, {a}, {draw(st.sampled_from(['0.1', '-2']))} * {b})", broadcast(shape, sb)
        elif kind == "index":   # NumPy's basic indexing; the gradient is scattered back
            if sa == ():
                continue
            text, key = draw(index_keys(sa))
            shape = np.empty(sa)[key].shape
            if 0 in shape:
                continue
            expr = f"{a}[{text}]" if draw(st.booleans()) else f"({a} * 1.5)[{text}]"
        elif kind == "shape":
            if sa == ():
                continue
            size = int(np.prod(sa))
            form = draw(st.sampled_from(["flat", "reversed", "flatten"]))
            if form == "flat":
                expr, shape = f"reshape({a}, [-1])", (size,)
            elif form == "reversed":
                expr, shape = f"reshape({a}, {list(sa[::-1])})", sa[::-1]
            else:
                expr, shape = f"flatten({a})", (sa[0], size // sa[0])
        elif kind == "join":   # concat or stack a with itself or with a new leaf
            if sa == ():
                continue
            axis = draw(st.integers(-len(sa), len(sa) - 1))
            if draw(st.booleans()):
                other = leaf(sa) if draw(st.booleans()) else a
                expr = f"stack([{a}, {other}], axis={axis})"
                ax = axis % (len(sa) + 1)
                shape = sa[:ax] + (2,) + sa[ax:]
            else:
                ax = axis % len(sa)
                extra = draw(st.integers(1, 2))
                other = leaf(sa[:ax] + (extra,) + sa[ax + 1:])
                expr, shape = f"concat([{a}, {other}, {a}], axis={axis})", sa[:ax] + (2 * sa[ax] + extra,) + sa[ax + 1:]
        elif kind == "vectors":
            if len(sa) != 1:
                continue
            if draw(st.booleans()):
                expr, shape = f"dot({a}, {leaf(sa)})", ()
            else:
                m = draw(st.integers(1, 3))
                expr, shape = f"outer({a}, {leaf((m,))})", sa + (m,)
        else:
            if len(sa) != 2:
                continue
            expr, shape = f"transpose({a})", sa[::-1]
        if rebind or a.startswith("n") and "#" not in a and draw(st.booleans()):
            # rebind a as Python does (`a = f(a)`, `a += b`); the old a stays as a#k
            versions[a] = versions.get(a, 1) + 1
            next(n for n in nodes if n[0] == a)[0] = f"{a}#{versions[a] - 1}"
            name = a
        lines.append(f"{name} {expr}" if rebind else f"{name} = {expr}")
        nodes.append([name, shape])

    # Every node reaches the output, each through a random weighting (a leaf for the last).
    *earlier, (last, shape) = nodes
    terms = [f"sum({last} * {leaf(shape)})"]
    for name, shape in earlier:
        if not name.startswith("w"):
            terms.append(f"sum({name} * {literal(draw(values_of(shape)))})")
    lines.append("loss L = " + " + ".join(terms))
    return "\n".join(lines) + "\n", leaves


def _top_two_gap(x, axis) -> float:
    """The smallest gap between the two largest elements of any slice reduced by `axis`."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(np.atleast_1d(axis) % max(x.ndim, 1))
    slices = np.moveaxis(x, axes, tuple(range(-len(axes), 0))).reshape(-1, int(np.prod([x.shape[a] for a in axes])))
    if slices.shape[-1] < 2:
        return np.inf
    top = np.sort(slices, axis=-1)
    return float(np.min(np.minimum(top[:, -1] - top[:, -2], top[:, 1] - top[:, 0])))


def near_a_kink(s) -> bool:
    g = s.graph
    for node in g.nodes:
        op = node.op.name if node.kind == "op" else ""
        ins = [np.asarray(s.values[j]) for j in node.inputs]
        if op in ("relu", "abs", "sign", "leaky_relu", "elu") and np.min(np.abs(ins[0])) < KINK_MARGIN:
            return True
        if op in ("max", "min", *COMPARISON_OPS) and np.min(np.abs(ins[0] - ins[1])) < KINK_MARGIN:
            return True
        if op == "clip" and min(np.min(np.abs(ins[0] - ins[1])),
                                np.min(np.abs(np.maximum(ins[0], ins[1]) - ins[2]))) < KINK_MARGIN:
            return True
        if op in ("reduce_max", "reduce_min", "argmax") and _top_two_gap(ins[0], node.attrs["axis"]) < KINK_MARGIN:
            return True
    return False


def held(text: str, s) -> str:
    """The program with each stop_gradient node's assignment replaced by its value, a constant:
    the function whose gradient the backward pass computes. Node `n0#k` of a rebound name is
    its k-th assignment (`n0 = ...` or `n0 += ...`), node `n0` its last."""
    lines = text.split("\n")
    for node in s.graph.nodes:
        if node.kind == "op" and node.op.stops_gradient:
            base, _, k = node.name.partition("#")
            at = [i for i, line in enumerate(lines) if re.match(rf"{re.escape(base)} [-+*/]?= ", line)]
            lines[at[int(k) - 1] if k else at[-1]] = f"{base} = {literal(s.values[node.index])}"
    return "\n".join(lines)


def forward_value(s, leaf, value) -> float:
    s.set_leaf(leaf, value)   # recomputes the forward pass up to the current position
    return s.values[s.graph.output]


def numerical_gradient(s, leaf: str):
    """Central differences of L in each element of `leaf`, by re-running the forward pass."""
    x0 = s.value(leaf)
    if np.ndim(x0) == 0:
        grad = (forward_value(s, leaf, x0 + H) - forward_value(s, leaf, x0 - H)) / (2 * H)
        s.set_leaf(leaf, x0)
        return grad
    grad = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        up, down = x0.copy(), x0.copy()
        up[idx] += H
        down[idx] -= H
        grad[idx] = (forward_value(s, leaf, up) - forward_value(s, leaf, down)) / (2 * H)
    s.set_leaf(leaf, x0)
    return grad


def check_program(text: str, leaves: list, usable=assume) -> None:
    """`usable(condition)`: hypothesis rejects a program whose values are unusable; the fixed
    programs below must never be."""
    forward = bpdebug.load(text)
    forward.run(limit=forward.n)               # the forward pass only
    usable(np.isfinite(forward.values[forward.graph.output]))
    usable(not near_a_kink(forward))
    if any(n.kind == "op" and n.op.stops_gradient for n in forward.graph.nodes):
        forward = bpdebug.load(held(text, forward))
        forward.run(limit=forward.n)
    full = bpdebug.load(text)
    assert full.run().reason == "end"
    assert full.values[full.graph.output] == forward.values[forward.graph.output]
    # Central differences lose about eps * |largest value on the way| / H to rounding: a program
    # whose nodes reach 1e6 cannot have its small gradients checked to 1e-5 by them.
    biggest = max(float(np.max(np.abs(v), initial=0.0)) for v in full.values)
    atol = 1e-5 + 1e-8 * biggest
    for leaf in leaves:
        got = full.grad(leaf)
        assert np.shape(got) == np.shape(full.value(leaf)), leaf
        want = numerical_gradient(forward, leaf)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol, err_msg=f"dL/d{leaf}\n{text}")


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@SETTINGS
@given(programs())
def test_random_tensor_programs_match_central_differences(program):
    check_program(*program)


@SETTINGS
@given(programs(shapes=[()], tensor_ops=False))
def test_random_scalar_programs_match_central_differences(program):
    # all-scalar nodes take the op table's float path (math.*), not numpy's
    check_program(*program)


# ---- a few fixed programs, for the cases random ones reach rarely --------------------------------

FIXED = {
    "broadcast row and column": "r = [[0.5, -1, 2]]\nc = [[1.5], [-0.5]]\nloss L = sum(sin(r * c + r))",
    "scalar times tensor": "s = 0.7\nv = [1, -2, 3]\nloss L = sum(tanh(s * v) * v)",
    "matrix-vector": "M = [[1, 2, -1], [0.5, -1, 2]]\nv = [0.3, -0.2, 0.9]\nloss L = sum(sigmoid(M @ v))",
    "vector-matrix": "v = [0.3, -0.2]\nM = [[1, 2, -1], [0.5, -1, 2]]\nloss L = sum((v @ M) ^ 2)",
    "vector-vector": "u = [0.3, -0.2, 1]\nv = [1, 2, 0.5]\nloss L = (u @ v) ^ 2",
    "batched matmul, shared weights": "A = [[[1, 2], [0.5, -1]], [[0.3, 0.2], [-2, 1]], [[1, 1], [0, 2]]]\n"
                                      "W = [[0.5, -1, 2], [1.5, 0.2, -0.3]]\nloss L = sum(tanh(A @ W))",
    "batched matmul, broadcast stack": "A = [[[1, 2], [0.5, -1]]]\nB = [[[0.5, -1], [1.5, 0.2]], [[2, 1], [-1, 3]]]\n"
                                       "loss L = sum(sin(A @ B))",
    "vector against a stack": "v = [0.5, -1.5]\nB = [[[0.5, -1], [1.5, 0.2]], [[2, 1], [-1, 3]]]\n"
                              "loss L = sum(sin(v @ B)) + sum(cos(B @ v))",
    "batched softmax": "Z = [[1, 2, 0.5], [-1, 0, 3]]\nT = [[0, 1, 0], [1, 0, 0]]\nloss L = sum(softmax(Z, axis=1) * T)",
    "softmax axis 0": "Z = [[1, 2, 0.5], [-1, 0, 3]]\nT = [[0, 1, 0], [1, 0, 0]]\nloss L = sum(softmax(Z, axis=0) * T)",
    "softmax cross-entropy": "z = [[1, 2, 0.5], [-1, 0, 3]]\ny = [[0, 1, 0], [1, 0, 0]]\n"
                             "loss L = softmax_cross_entropy(z, y)",
    # rows of y that do not sum to 1, a vector, and an upstream gradient other than 1
    "softmax cross-entropy, soft labels": "z = [[1, 2, 0.5], [-1, 0, 3]]\ny = [[0.2, 0.9, 0], [0.5, 0.1, 0.3]]\n"
                                          "v = [3, -1, 0.5]\nu = [0.1, 0.3, 0.6]\n"
                                          "loss L = softmax_cross_entropy(z * 2, y) ^ 2 + 3 * softmax_cross_entropy(v, u)",
    "cross-entropy": "a0 = [[0.2, 0.9], [0.6, 0.3]]\ny = [[0, 1], [1, 0]]\nloss L = cross_entropy(a0, y)",
    "mean over axis then sum": "X = [[1, 2, 3], [4, 5, 6.5]]\nloss L = sum(mean(X * X, axis=0) * [1, -1, 2])",
    "pow both sides": "a = 1.7\nb = -0.6\nloss L = a ^ b + (a * b) ^ 2",
    "tensor pow": "a = [0.5, 1.5, 2]\nb = [2, -1, 0.5]\nloss L = sum(a ^ b)",
    "layer sugar": "x = [[0.1, -0.4], [0.7, 0.2]]\nlayer h = dense(x, 3, act=tanh, seed=0)\n"
                   "layer o = dense(h, 2, act=softmax, seed=1)\ny = [[1, 0], [0, 1]]\nloss L = cross_entropy(o, y)",
    "inline def with broadcasting": "def aff(a, b) = a * b + b\nv = [[1, 2], [3, 4]]\nw = [0.5, -1]\n"
                                    "loss L = sum(aff(v, w) ^ 2)",
    "custom op with vjp and broadcasting": "def gate(a, b) = a * tanh(b)\ngrad gate wrt a = dout * tanh(b)\n"
                                           "grad gate wrt b = dout * a * (1 - tanh(b)^2)\n"
                                           "v = [[1, 2], [3, 4]]\nw = [0.5, -1]\nloss L = sum(gate(v, w) * v)",
    "fan-out": "x = 0.3\na = x * x\nb = sin(x) * a\nc = a + b + x\nloss L = c * a",
    # scalar nodes fed by numpy reductions hold np.float64, on the op table's float path
    "float-path ops on numpy scalars": "v = [0.3, -0.9, 0.4]\nu = [1, 2, -0.5]\ns = sum(v)\nt = v @ u\n"
                                       "loss L = abs(s) * relu(t) + max(s, t) ^ 2 + exp(s) / sigmoid(t) "
                                       "+ sqrt(abs(t)) + sin(s) * tan(t) + softplus(s) - min(t, s) * t",
    "min and max away from ties": "a = [1, -2, 3]\nb = [0.5, 0.5, 4]\nloss L = sum(max(a, b) * min(a, b) ^ 2)",
    "rebinding a leaf and its uses": "c = 0.7\nc = c * c + 1\nc += c ** 2\nc /= 3\nloss L = c * c#1 + c#2",
    "rebinding a tensor, broadcasting": "v = [0.5, -1, 2]\nM = [[1, 2, 3], [0.5, 0.1, -1]]\nv *= M\n"
                                       "v -= 0.5\nloss L = sum(tanh(v)) + sum(v#1)",
    "indexing rows and columns of a batch": "X = [[0.1, -0.4, 0.9], [0.7, 0.2, -1.1], [0.3, 0.5, 0.6], [1, -1, 2]]\n"
                                            "W = [[0.5, -1], [1.5, 0.2], [-0.3, 0.8]]\n"
                                            "H = tanh(X[1:3] @ W)\nloss L = sum(H[:, 0] * X[::2, -1]) + H[-1, 1] "
                                            "+ sum(X[:, 1] ** 2)",
    "indexing an expression": "a = [[1, 2], [3, 4.5]]\nb = [[0.5, -1], [2, 0.25]]\n"
                              "loss L = (a @ b)[0, 1] * (a + b)[1][0] + sum((a * b)[::-1, ::-1] * a)",
    "a scalar from a vector on the float path": "w = [0.3, -0.8, 0.5]\nx = [1.5, 2, -1]\n"
                                                "loss L = tanh(w[0] * x[0] + w[1] * x[1] + w[2] * x[2])",
    "comparison masks": "x = [1.5, -2, 0.5, -0.25]\nloss L = sum(x * (x > 0) + 0.1 * x * (x <= 0)) "
                        "+ sum(x ** 2 * (x != 1) * (x >= -1))",
    "leaky relu written with masks, in a batch": "X = [[0.5, -1.5], [2, -0.3]]\nW = [[1, -2], [0.5, 0.25]]\n"
                                                 "Z = X @ W\nA = Z * (Z > 0) + 0.01 * Z * (Z < 0)\nloss L = sum(A ** 2)",
    "max and min of one argument": "X = [[1, -2, 3], [0.5, 4, -1]]\n"
                                   "loss L = max(X) * min(X) + sum(max(X, axis=1) ^ 2) + sum(min(X, axis=[0, 1]) * X)",
    "logsumexp, stable for large values": "X = [[1000, 1001, 999], [-2, 0.5, 1]]\n"
                                          "loss L = sum(logsumexp(X, axis=1) * [1, 2]) + logsumexp(X) / 100",
    "argmin is a constant": "X = [[1, -2, 3], [0.5, 4, -1]]\nloss L = sum(argmin(X, axis=0) * sum(X, axis=0))",
    "stack of scalars, concat of three": "a = 0.5\nb = -1.5\nv = [1, 2]\nu = [3]\n"
                                         "loss L = sum(stack([a, b, a]) ^ 2) + sum(concat([v, u, v]) * [1, 2, 3, 4, 5])",
    "where with a scalar branch": "x = [-1, 2, -3]\nm = [0, 1, 1]\nloss L = sum(where(m, x * x, 0.5))",
    "clip with scalar bounds": "x = [-2, 0.3, 1.5]\nlo = -1\nhi = 1\nloss L = sum(clip(x, lo, hi) * [1, 2, 3])",
    "dropout, and p = 0": "x = [[1, -2, 3], [0.5, 4, -1]]\nloss L = sum(dropout(x, p=0.5, seed=1) * x) "
                          "+ sum(dropout(x, p=0) ^ 3)",
    "reshape with -1 in the middle": "x = [[1, -2, 3, 4], [0.5, 4, -1, 2]]\nloss L = sum(reshape(x, [2, -1, 2]) * [0.5, -1])",
    "stop_gradient in a product": "x = [0.5, -1.5]\ny = x * x\nd = detach(y)\ns = stop_gradient(x)\n"
                                  "loss L = sum(d * x + s ^ 2)",
    "dense with one shared bias": "x = [0.05, 0.10]\nlayer h = dense(x, W=[[0.15, 0.25], [0.2, 0.3]], b=0.35, "
                                  "act=sigmoid)\nloss L = quadratic(h, [0.01, 0.99])",
    "dense with a named bias, no bias": "X = [[0.1, -0.4], [0.7, 0.2]]\nparam c = [0.5, -0.5, 1]\n"
                                        "layer h = dense(X, 3, b=c, act=elu, seed=0)\n"
                                        "layer o = dense(h, 2, bias=false, act=gelu, seed=1)\nloss L = sum(o)",
    "where with a comparison: leaky relu, in a batch": "x = [1.5, -2, 0.5, -0.25]\n"
                                                       "W = [[1, -2], [0.5, 0.25], [0.3, 1], [-1, 0.7]]\n"
                                                       "Z = x @ W\nA = where(Z > 0, Z, 0.1 * Z)\n"
                                                       "loss L = sum(A ** 2) + sum(where(x > 0, x, 0.1 * x))",
    "stop_gradient of a rebound name, indexed": "x = [0.5, -1.5, 2]\nc = x * x\nc = stop_gradient(c)\nc += x\n"
                                                "loss L = sum(c * x) + c#2[0] + sum(c[1:] * (x[1:] > 0))",
    "new ops indexed, and methods": "X = [[1, -2, 3], [0.5, 4, -1]]\nv = [0.3, -1.2]\nd = v.detach()\n"
                                    "loss L = concat([X, X])[1:3, 0].square().sum() + flatten(X)[0, -1] "
                                    "+ X.max(axis=1)[1] * d[0] * v[1] + np.concatenate([v, v])[1:3].max()",
}

PUBLISHED = sorted(["micrograd_more_ops.bp", "micrograd_sanity.bp", "cs231n_staged.bp"])


@pytest.mark.parametrize("text", list(FIXED.values()), ids=list(FIXED))
def test_fixed_programs_match_central_differences(text):
    s = bpdebug.load(text)
    leaves = [n.name for n in s.graph.nodes if n.is_leaf]
    check_program(text, leaves, usable=_must)


def _must(condition) -> None:
    assert condition


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_examples_match_central_differences(name):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    leaves = [n.name for n in bpdebug.load(text).graph.nodes if n.is_leaf]
    check_program(text, leaves, usable=_must)


def test_the_check_catches_a_wrong_handwritten_derivative():
    # the same comparison must fail when a grad line is wrong, or it proves nothing
    text = "def cube(a) = a * a * a\ngrad cube wrt a = 2 * a^2\nx = 1.3\nloss L = cube(x)"
    with pytest.raises(AssertionError, match="dL/dx"):
        check_program(text, ["x"], usable=_must)


# ---- the op table's float path and numpy path agree --------------------------------------------

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e308, -1e308, float("inf"), float("-inf"), float("nan"),
         1e-320, 700.0, -700.0]


def _same(a, b) -> bool:
    a, b = float(a), float(b)
    return (np.isnan(a) and np.isnan(b)) or a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


# attribute values beyond the defaults, for the ops that take them
ATTRS = {"leaky_relu": [{"slope": -0.5}], "elu": [{"alpha": 0.3}], "dropout": [{"p": 0.0, "seed": 0}, {"p": 0.7, "seed": 5}]}


@pytest.mark.parametrize("name", [n for n, op in OPS.items() if op.elementwise])
def test_scalar_and_tensor_paths_agree_on_every_value_including_edges(name):
    # Scalar nodes run the op table's float functions, tensor nodes its numpy ones: a program
    # must not change its answer (nan, inf included) when a leaf becomes a 1-element vector.
    op = OPS[name]
    with np.errstate(all="ignore"):
        for attrs, args in itertools.product([op.attrs] + ATTRS.get(name, []),
                                             itertools.product(EDGES, repeat=op.arity)):
            out = scalar_forward(op)(*args, **attrs)
            arrays = [np.array([a]) for a in args]
            t_out = op.f(*arrays, **attrs)
            assert _same(out, t_out[0]), (name, args, out, t_out)
            grads = scalar_vjp(op)(1.0, out, *args, **attrs)
            t_grads = op.vjp(np.array([1.0]), t_out, *arrays, **attrs)
            for k, (g, t) in enumerate(zip(grads, t_grads)):
                assert _same(g, np.asarray(t).reshape(-1)[0]), (name, args, k, g, t)
