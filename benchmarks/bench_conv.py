"""conv2d, then relu, then maxpool2d, forward and backward: bpdebug's Session.run() against the
same layer written by hand in numpy with im2col, measured in this process (medians, one BLAS
thread, the two timed in turns). Target: within 2x.

    python benchmarks/bench_conv.py [--rounds 30]

A batch of 32 images of 1x28x28, 8 filters of 3x3 (stride 1, no padding), 2x2 max pooling
(ties to the first element, as bpdebug does), and a cost sum(p * G) with a fixed G, so the
backward pass starts from dL/dp = G on both sides. The hand-written version keeps its im2col
matrix from the forward pass for the backward one. Both results are compared before timing.
Two pairs: with dL/dX computed on both sides (X a leaf), and without (X a constant).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # before numpy is imported: one thread on both sides

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import bpdebug  # noqa: E402

N, C, H, W, O, K = 32, 1, 28, 28, 8, 3
PROGRAM = """X = {x}
W = randn(8, 1, 3, 3, seed=2)
G = randn(32, 8, 13, 13, seed=3) * 1
c = conv2d(X, W)
r = relu(c)
p = maxpool2d(r, size=2)
L = sum(p * G)
"""


def by_hand(X, Wt, G, want_dx: bool):
    """Forward and backward of conv -> relu -> maxpool -> sum(p * G), im2col style."""
    n, c, h, w = X.shape
    o, _, kh, kw = Wt.shape
    oh, ow = h - kh + 1, w - kw + 1
    cols = np.empty((n, oh, ow, c, kh, kw))
    for u in range(kh):
        for v in range(kw):
            cols[..., u, v] = X[:, :, u:u + oh, v:v + ow].transpose(0, 2, 3, 1)
    cols = cols.reshape(n * oh * ow, c * kh * kw)
    z = (cols @ Wt.reshape(o, -1).T).reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
    r = np.maximum(z, 0.0)
    windows = r.reshape(n, o, oh // 2, 2, ow // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, o, oh // 2, ow // 2, 4)
    first = windows.argmax(axis=-1)
    p = np.take_along_axis(windows, first[..., None], axis=-1)[..., 0]
    loss = float(np.sum(p * G))
    # backward: dL/dp = G, to the first max of each window, through relu, through the convolution
    dwin = np.zeros(windows.shape)
    np.put_along_axis(dwin, first[..., None], G[..., None], axis=-1)
    dr = dwin.reshape(n, o, oh // 2, ow // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, o, oh, ow)
    dz = dr * (z > 0)
    dz2 = dz.transpose(0, 2, 3, 1).reshape(-1, o)
    dW = (dz2.T @ cols).reshape(Wt.shape)
    dX = None
    if want_dx:
        dcols = (dz2 @ Wt.reshape(o, -1)).reshape(n, oh, ow, c, kh, kw)
        dX = np.zeros(X.shape)
        for u in range(kh):
            for v in range(kw):
                dX[:, :, u:u + oh, v:v + ow] += dcols[..., u, v].transpose(0, 3, 1, 2)
    return loss, dW, dX


def interleaved(a, b, rounds: int, setup_a) -> tuple[float, float]:
    """Medians of a and b timed in turns, so a machine that gets busier slows both alike."""
    times_a, times_b = [], []
    for _ in range(rounds):
        setup_a()
        t = time.perf_counter()
        a()
        times_a.append(time.perf_counter() - t)
        t = time.perf_counter()
        b()
        times_b.append(time.perf_counter() - t)
    return statistics.median(times_a), statistics.median(times_b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    print(f"conv2d -> relu -> maxpool2d, batch {N} of {C}x{H}x{W}, {O} filters {K}x{K}, forward + backward "
          f"(median of {args.rounds}):")
    for label, x_text, want_dx in (("X a leaf (dL/dX computed)", "randn(32, 1, 28, 28, seed=1)", True),
                                   ("X a constant (no dL/dX)", "randn(32, 1, 28, 28, seed=1) * 1", False)):
        s = bpdebug.load(PROGRAM.format(x=x_text))
        s.run()
        X, Wt, G = (np.asarray(s.value(n)) for n in ("X", "W", "G"))
        loss, dW, dX = by_hand(X, Wt, G, want_dx)
        assert abs(s.value("L") - loss) <= 1e-10 * abs(loss)
        np.testing.assert_allclose(s.grad("W"), dW, rtol=1e-10, atol=1e-12)
        if want_dx:
            np.testing.assert_allclose(s.grad("X"), dX, rtol=1e-10, atol=1e-12)
        bp, hand = interleaved(s.run, lambda: by_hand(X, Wt, G, want_dx), args.rounds, s.restart)
        print(f"  {label:<28} bpdebug {bp * 1e3:6.2f} ms   numpy im2col by hand {hand * 1e3:6.2f} ms   "
              f"ratio {bp / hand:.2f}   (target <= 2)")


if __name__ == "__main__":
    main()
