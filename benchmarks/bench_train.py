"""One training step of a 784-256-10 MLP (batch 64, float64, one thread): bpdebug's Trainer
against the same step written by hand in numpy, measured in this process. Target: within 1.3x.

    python benchmarks/bench_train.py [--rounds 7] [--steps 30]

Both sides do the same work per step: draw 64 rows, forward, backward (no gradient for the
input matrix), update every param. Before timing, one step of each from the same params on
the same batch is compared, so the two really compute the same thing.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # before numpy is imported: compare like with like, one thread

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import bpdebug  # noqa: E402
from bpdebug.train import Trainer  # noqa: E402

ROWS, IN, HIDDEN, OUT, BATCH, LR = 1024, 784, 256, 10, 64, 0.1

PROGRAMS = {
    "relu + softmax cross-entropy":
        "layer h = dense(X, 256, act=relu, seed=1)\nlayer out = dense(h, 10, seed=2)\n"
        "loss C = softmax_cross_entropy(out, Y)\n",
    "sigmoid + quadratic":
        "layer h = dense(X, 256, act=sigmoid, seed=1)\nlayer out = dense(h, 10, act=sigmoid, seed=2)\n"
        "loss C = quadratic(out, Y)\n",
}


def numpy_step(p: dict, x, y, kind: str) -> float:
    """The same training step by hand: forward, backward, update in place."""
    W1, b1, W2, b2 = p["h.W"], p["h.b"], p["out.W"], p["out.b"]
    n = len(x)
    z1 = x @ W1 + b1
    if kind.startswith("relu"):
        a1 = np.maximum(z1, 0.0)
        z2 = a1 @ W2 + b2
        shifted = z2 - z2.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -np.sum(y * log_softmax) / n
        dz2 = (np.exp(log_softmax) - y) / n
    else:
        a1 = 1.0 / (1.0 + np.exp(-z1))
        a2 = 1.0 / (1.0 + np.exp(-(a1 @ W2 + b2)))
        loss = 0.5 * np.sum((a2 - y) ** 2) / n
        dz2 = (a2 - y) / n * a2 * (1.0 - a2)
    dW2, db2 = a1.T @ dz2, dz2.sum(axis=0)
    da1 = dz2 @ W2.T
    dz1 = da1 * (z1 > 0) if kind.startswith("relu") else da1 * a1 * (1.0 - a1)
    dW1, db1 = x.T @ dz1, dz1.sum(axis=0)
    W1 -= LR * dW1
    b1 -= LR * db1
    W2 -= LR * dW2
    b2 -= LR * db2
    return float(loss)


def make_trainer(folder: Path, body: str) -> Trainer:
    (folder / "net.bp").write_text('data X = npy("x.npy")\ndata Y = npy("y.npy")\n' + body)
    return Trainer(bpdebug.load_file(folder / "net.bp"), LR, batch=BATCH, seed=0)


def check_same_step(trainer: Trainer, kind: str) -> None:
    before = {k: np.array(v, dtype=float) for k, v in trainer.param_values().items()}
    trainer.finish_step()
    x, y = trainer.session.value("X"), trainer.session.value("Y")
    loss = numpy_step(before, x, y, kind)
    assert abs(loss - trainer.losses[-1]) < 1e-12 * max(1.0, abs(loss)), (loss, trainer.losses[-1])
    for name, value in trainer.param_values().items():
        np.testing.assert_allclose(value, before[name], rtol=1e-10, atol=1e-13, err_msg=name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((ROWS, IN))
    Y = np.eye(OUT)[rng.integers(0, OUT, ROWS)]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "x.npy", X)
        np.save(folder / "y.npy", Y)
        print(f"MLP {IN}-{HIDDEN}-{OUT}, batch {BATCH}, float64, 1 thread; "
              f"median of {args.rounds} rounds of {args.steps} steps")
        for kind, body in PROGRAMS.items():
            trainer = make_trainer(folder, body)
            check_same_step(trainer, kind)
            params = {k: np.array(v, dtype=float) for k, v in trainer.param_values().items()}
            ours, theirs = [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                trainer.run(args.steps)
                ours.append((time.perf_counter() - start) / args.steps)
                start = time.perf_counter()
                for _ in range(args.steps):
                    rows = np.sort(rng.choice(ROWS, BATCH, replace=False))
                    numpy_step(params, X[rows], Y[rows], kind)
                theirs.append((time.perf_counter() - start) / args.steps)
            a, b = statistics.median(ours), statistics.median(theirs)
            worst = max(worst, a / b)
            print(f"  {kind:30s} bpdebug {a * 1e3:6.3f} ms   numpy by hand {b * 1e3:6.3f} ms   "
                  f"ratio {a / b:.2f}x")
    print(f"worst ratio {worst:.2f}x (target 1.3x): {'ok' if worst <= 1.3 else 'SLOWER THAN TARGET'}")
    return 0 if worst <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
