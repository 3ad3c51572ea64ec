"""Convolution and pooling: forward values against plain loops written from the definition
(cross-correlation, as PyTorch and ONNX compute it), gradients against central differences
on random images with odd sizes, strides and padding, and the errors a user can make."""
from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bpdebug

H = 1e-6


def conv_by_loops(x, w, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for b in range(n):
        for f in range(o):
            for i in range(oh):
                for j in range(ow):
                    out[b, f, i, j] = np.sum(xp[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] * w[f])
    return out


def pool_by_loops(x, size, stride, reduce):
    (kh, kw), (sh, sw) = size, stride
    h, w = x.shape[-2:]
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[..., i, j] = reduce(x[..., i * sh:i * sh + kh, j * sw:j * sw + kw], axis=(-2, -1))
    return out


def lit(a) -> str:
    return json.dumps(np.asarray(a).tolist())


def pair_text(p) -> str:
    return str(p[0]) if p[0] == p[1] else f"[{p[0]}, {p[1]}]"


@st.composite
def conv_cases(draw):
    """(program, x, w, stride, padding, pool) for a random conv -> act -> pool -> cost."""
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, wd = draw(st.integers(3, 7)), draw(st.integers(3, 7))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    assume(kh <= h + 2 * padding[0] and kw <= wd + 2 * padding[1])
    oh = (h + 2 * padding[0] - kh) // stride[0] + 1
    ow = (wd + 2 * padding[1] - kw) // stride[1] + 1
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-2, 2, batch + (c, h, wd)).round(3)
    w = rng.uniform(-1, 1, (o, c, kh, kw)).round(3)
    pool = draw(st.sampled_from(["maxpool2d", "avgpool2d", None]))
    size = (draw(st.integers(1, min(oh, 3))), draw(st.integers(1, min(ow, 3))))
    pstride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    act = draw(st.sampled_from(["tanh", "sigmoid", "gelu"]))
    lines = [f"x = {lit(x)}", f"w = {lit(w)}",
             f"c = conv2d(x, w, stride={pair_text(stride)}, padding={pair_text(padding)})", f"a = {act}(c)"]
    if pool:
        lines.append(f"p = {pool}(a, size={pair_text(size)}, stride={pair_text(pstride)})")
    top = "p" if pool else "a"
    lines.append(f"loss L = sum({top} * cos({top}))")
    return "\n".join(lines), x, w, stride, padding, (pool, size, pstride)


def directional_check(text: str, leaves: list, rng, directions: int = 3) -> None:
    """<dL/dleaf, d> against (L(leaf + h d) - L(leaf - h d)) / 2h, along random directions:
    a wrong gradient disagrees along almost every direction."""
    s = bpdebug.load(text)
    s.run()
    probe = bpdebug.load(text)
    for leaf in leaves:
        x0 = np.asarray(s.value(leaf))
        for _ in range(directions):
            d = rng.standard_normal(x0.shape)
            probe.set_leaf(leaf, x0 + H * d)
            probe.run()
            up = probe.value("L")
            probe.set_leaf(leaf, x0 - H * d)
            probe.run()
            down = probe.value("L")
            probe.set_leaf(leaf, x0)
            want = (up - down) / (2 * H)
            got = float(np.sum(s.grad(leaf) * d))
            assert abs(got - want) <= 1e-5 + 1e-4 * abs(want), (leaf, got, want, text)


def max_window_gap(a, size, stride) -> float:
    """The smallest gap between the two largest elements of a pooling window."""
    (kh, kw), (sh, sw) = size, stride
    gaps = []
    for i in range(0, a.shape[-2] - kh + 1, sh):
        for j in range(0, a.shape[-1] - kw + 1, sw):
            win = np.sort(a[..., i:i + kh, j:j + kw].reshape(a.shape[:-2] + (-1,)), axis=-1)
            if win.shape[-1] > 1:
                gaps.append(np.min(win[..., -1] - win[..., -2]))
    return min(gaps, default=np.inf)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(conv_cases())
def test_conv_and_pooling_forward_match_loops_and_gradients_match_central_differences(case):
    text, x, w, stride, padding, (pool, size, pstride) = case
    s = bpdebug.load(text)
    s.run()
    batch = x if x.ndim == 4 else x[None]
    want = conv_by_loops(batch, w, stride, padding)
    np.testing.assert_allclose(s.value("c"), want if x.ndim == 4 else want[0], rtol=1e-12, atol=1e-12)
    if pool:
        a = np.asarray(s.value("a"))
        reduce = np.max if pool == "maxpool2d" else np.mean
        np.testing.assert_allclose(s.value("p"), pool_by_loops(a, size, pstride, reduce), rtol=1e-12, atol=1e-12)
        if pool == "maxpool2d":
            assume(max_window_gap(a, size, pstride) > 1e-3)   # a tie is a kink
    directional_check(text, ["x", "w"], np.random.default_rng(0))


def test_a_conv_layer_with_its_bias_broadcast_over_height_and_width():
    text = ("x = randn(2, 3, 5, 5, seed=1)\n"
            "layer c = conv(x, 4, kernel=3, stride=1, padding=1, act=tanh, seed=0)\n"
            "p = maxpool2d(c)\nloss L = sum(p * p)")
    s = bpdebug.load(text)
    s.run()
    g = s.graph
    assert g.node("c.W").shape == (4, 3, 3, 3) and g.node("c.b").shape == (4,)
    assert g.node("c.W").kind == g.node("c.b").kind == "param"
    assert g.node("c.z").shape == (2, 4, 5, 5) and g.node("p").shape == (2, 4, 2, 2)
    b = np.array([0.5, -1, 2, 0.1])
    s.set_leaf("c.b", b)
    s.run()
    # z = conv2d(x, W) + b, b added to every pixel of its channel
    want = conv_by_loops(s.value("x"), s.value("c.W"), (1, 1), (1, 1)) + b[None, :, None, None]
    np.testing.assert_allclose(s.value("c.z"), want, rtol=1e-12)
    directional_check(text.replace("seed=0)", "seed=0, b=[0.5, -1, 2, 0.1])"), ["c.W", "c.b", "x"],
                      np.random.default_rng(1))


def test_pools_default_their_stride_to_their_size_and_take_a_pair():
    s = bpdebug.load("x = randn(1, 6, 7, seed=2)\na = maxpool2d(x, size=3)\nb = avgpool2d(x, [2, 3])\n"
                     "loss L = sum(a) + sum(b)")
    s.run()
    x = s.value("x")
    np.testing.assert_allclose(s.value("a"), pool_by_loops(x, (3, 3), (3, 3), np.max))
    np.testing.assert_allclose(s.value("b"), pool_by_loops(x, (2, 3), (2, 3), np.mean))


def test_maxpool_ties_send_the_gradient_to_the_first_max_and_check_calls_it_a_kink():
    from bpdebug.check import check_session
    text = "x = [[[1, 3, 3, 0], [3, 2, 0, 0], [0, 0, 5, 1], [0, 0, 1, 5]]]\np = maxpool2d(x)\nloss L = sum(p)"
    s = bpdebug.load(text)
    s.run()
    assert s.value("p").tolist() == [[[3, 3], [0, 5]]]
    assert s.grad("x").tolist() == [[[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]]
    report = check_session(bpdebug.load(text))
    (p,) = [c for c in report.nodes if c.name == "p"]
    assert p.verdict == "kink" and "first max" in p.hint and "3 of 4" in p.hint   # three windows tie; the second is checked
    assert report.ok
