"""Training with Adam, measured in this process against the same loop written by hand in numpy
(float64, one BLAS thread; medians of interleaved rounds). Targets: within 1.3x.

    python benchmarks/bench_optim.py [--rounds 7]

1. One Adam step of a 784-256-10 MLP (relu, softmax cross-entropy), batch 64 drawn from 1,024
   rows: draw the rows, forward, backward, Adam's update of every param.
2. One epoch of examples/digits_mlp.bp as the README trains it (Adam, lr 0.01, batches of 64
   from the 1,438 training rows, 359 rows held out and measured, loss and accuracy, after the
   epoch): bpdebug's Trainer against a hand-written loop doing the same, from the same params
   on the same batches.

Before timing, each pair takes the same steps from the same params and the results are
compared, so that both sides really do the same work.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # before numpy is imported: one thread on both sides

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import bpdebug  # noqa: E402
from bpdebug.train.optimizers import Adam  # noqa: E402
from bpdebug.train.settings import Settings  # noqa: E402
from bpdebug.train.trainer import Trainer  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
B1, B2, EPS = 0.9, 0.999, 1e-8


class HandAdam:
    """Adam by hand, in place, as one writes it in numpy."""

    def __init__(self, params: dict, lr: float):
        self.p, self.lr, self.t = params, lr, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict) -> None:
        self.t += 1
        c1, c2 = 1 - B1 ** self.t, 1 - B2 ** self.t
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= B1
            m += (1 - B1) * g
            v *= B2
            v += (1 - B2) * g * g
            self.p[k] -= (self.lr / c1) * m / (np.sqrt(v / c2) + EPS)


def forward_backward(p: dict, x, y, W1="h.W", b1="h.b", W2="out.W", b2="out.b"):
    """Loss and gradients of a relu + softmax cross-entropy MLP, by hand."""
    n = len(x)
    z1 = x @ p[W1] + p[b1]
    a1 = np.maximum(z1, 0.0)
    z2 = a1 @ p[W2] + p[b2]
    shifted = z2 - z2.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(y * log_softmax) / n
    dz2 = (np.exp(log_softmax) - y) / n
    dz1 = dz2 @ p[W2].T * (z1 > 0)
    return float(loss), {W1: x.T @ dz1, b1: dz1.sum(axis=0), W2: a1.T @ dz2, b2: dz2.sum(axis=0)}


def evaluate(p: dict, x, y) -> tuple:
    z = np.maximum(x @ p["h.W"] + p["h.b"], 0.0) @ p["out.W"] + p["out.b"]
    shifted = z - z.max(axis=1, keepdims=True)
    loss = -np.sum(y * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))) / len(x)
    return float(loss), float(np.mean(np.argmax(z, axis=1) == np.argmax(y, axis=1)))


class Batches:
    """Shuffled epochs of sorted batches, drawn as the Trainer draws them."""

    def __init__(self, rows: int, batch: int, seed: int):
        self.rows, self.batch, self.rng = rows, batch, np.random.default_rng(seed)
        self.order = np.empty(0, dtype=np.intp)

    def next(self):
        if len(self.order) < self.batch:
            self.order = self.rng.permutation(self.rows)
        rows, self.order = self.order[:self.batch], self.order[self.batch:]
        return np.sort(rows)


def copy(params: dict) -> dict:
    return {k: np.array(v, dtype=float) for k, v in params.items()}


def assert_same(ours: dict, theirs: dict) -> None:
    for k, v in theirs.items():
        np.testing.assert_allclose(ours[k], v, rtol=1e-9, atol=1e-12, err_msg=k)


def interleaved(rounds: int, ours, theirs) -> tuple[float, float, str]:
    """Medians of the two sides' times, taken in turns, and the ratio of their fastest rounds
    (the figure least moved by other work on the machine), as text."""
    a, b = [], []
    for _ in range(rounds):
        for f, out in ((ours, a), (theirs, b)):
            start = time.perf_counter()
            f()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b), f"fastest rounds {min(a) / min(b):.2f}x"


def adam_step(rounds: int, steps: int = 30) -> float:
    rng = np.random.default_rng(0)
    X = rng.random((1024, 784))
    Y = np.eye(10)[rng.integers(0, 10, 1024)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "x.npy", X)
        np.save(folder / "y.npy", Y)
        (folder / "net.bp").write_text('data X = npy("x.npy")\ndata Y = npy("y.npy")\n'
                                       "layer h = dense(X, 256, act=relu, seed=1)\nlayer out = dense(h, 10, seed=2)\n"
                                       "loss C = softmax_cross_entropy(out, Y)\n")
        trainer = Trainer(bpdebug.load_file(folder / "net.bp"), 0.001, optimizer=Adam(), batch=64, seed=0)
    hand = HandAdam(copy(trainer.param_values()), 0.001)
    batches = Batches(1024, 64, 0)

    def theirs(n=steps):
        for _ in range(n):
            rows = batches.next()
            hand.step(forward_backward(hand.p, X[rows], Y[rows])[1])

    trainer.run(3)
    theirs(3)
    assert_same(trainer.param_values(), hand.p)
    a, b, fastest = interleaved(rounds, lambda: trainer.run(steps), theirs)
    print(f"  Adam step, 784-256-10, batch 64   bpdebug {a / steps * 1e3:6.3f} ms   "
          f"numpy by hand {b / steps * 1e3:6.3f} ms   ratio {a / b:.2f}x ({fastest})")
    return a / b


def digits_epoch(rounds: int, batch: int) -> float:
    session = bpdebug.load_file(EXAMPLES / "digits_mlp.bp")
    trainer = Trainer.from_settings(session, Settings(optimizer="adam", lr=0.01, batch=batch, val=0.2,
                                                          metric="accuracy", seed=0))
    pixels = np.loadtxt(EXAMPLES / "data" / "digits_pixels.csv", delimiter=",", skiprows=1)
    onehot = np.loadtxt(EXAMPLES / "data" / "digits_onehot.csv", delimiter=",", skiprows=1)
    order = np.random.default_rng(0).permutation(len(pixels))   # the held-out split, seed 0
    held = round(0.2 * len(pixels))
    kept, out = np.sort(order[held:]), np.sort(order[:held])
    x, y, xv, yv = pixels[kept] / 16, onehot[kept], pixels[out] / 16, onehot[out]
    steps = len(kept) // batch
    hand = HandAdam(copy(trainer.param_values()), 0.01)
    batches = Batches(len(kept), batch, 0)
    scores = []

    def theirs():
        for _ in range(steps):
            rows = batches.next()
            hand.step(forward_backward(hand.p, x[rows], y[rows])[1])
        scores.append(evaluate(hand.p, xv, yv))

    trainer.run(steps)
    theirs()
    assert_same(trainer.param_values(), hand.p)
    e = trainer.evaluations[-1]
    assert abs(e.loss - scores[-1][0]) < 1e-9 and e.metric == scores[-1][1]
    a, b, fastest = interleaved(rounds, lambda: trainer.run(steps), theirs)
    print(f"  an epoch of digits_mlp.bp ({steps} steps of {batch}, held-out loss and accuracy)   bpdebug {a * 1e3:6.2f} ms   "
          f"numpy by hand {b * 1e3:6.2f} ms   ratio {a / b:.2f}x ({fastest})")
    return a / b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=64, help="the digits epoch's batch (default 64, as in the README)")
    args = ap.parse_args()
    print(f"float64, 1 thread; medians of {args.rounds} interleaved rounds")
    worst = max(adam_step(args.rounds), digits_epoch(args.rounds, args.batch))
    print(f"worst ratio {worst:.2f}x (target 1.3x): {'ok' if worst <= 1.3 else 'SLOWER THAN TARGET'}")
    return 0 if worst <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
