"""`bpdebug check` on a 784-256-10 MLP (batch 64, float64) against a whole-function checker.

A whole-function gradient checker (what torch.autograd.gradcheck or a hand-rolled test does)
differentiates the loss numerically with respect to every parameter element: two forward
passes of the whole model per element. bpdebug checks each node's rule with a few evaluations
of that node alone, plus a few directional whole-graph checks to confirm.

The full finite-difference gradient has 203,530 elements here; it is timed on a random sample
of them, in this same run and with the same forward pass, and extrapolated (said so below).

Run: python benchmarks/bench_check.py [--sample N] [--repeat R]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import bpdebug
from bpdebug.check import check_session
from bpdebug.kernel import Kernel

MLP = """\
# 784-256-10 MLP, batch 64: random data as leaves, layers with random initial weights
X = randn(64, 784, seed=1)
Y = uniform(64, 10, lo=0, hi=1, seed=2)
layer h1 = dense(X, 256, act=relu, W=randn(784, 256, seed=3, scale=0.05), b=uniform(256, lo=-0.1, hi=0.1, seed=4))
layer h2 = dense(h1, 10, W=randn(256, 10, seed=5, scale=0.1), b=uniform(10, lo=-0.1, hi=0.1, seed=6))
loss L = softmax_cross_entropy(h2, Y)
"""


def time_check(repeat: int) -> tuple[float, float, object]:
    """(median seconds of check_session on a fresh session, median load seconds, last report)."""
    checks, loads, report = [], [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        s = bpdebug.load(MLP)
        t1 = time.perf_counter()
        report = check_session(s)
        checks.append(time.perf_counter() - t1)
        loads.append(t1 - t0)
    return statistics.median(checks), statistics.median(loads), report


def time_cli() -> float:
    """Wall time of `bpdebug check FILE` in a fresh process: start-up, load, check, printing."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlp.bp"
        path.write_text(MLP)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bpdebug", "check", str(path)], capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bpdebug check failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def time_full_fd(sample: int, eps: float = 1e-6) -> tuple[float, int, float]:
    """(seconds per parameter element, elements in all, max relative error on the sample) for
    central differences of the whole forward pass, element by element."""
    s = bpdebug.load(MLP)
    s.goto(s.total)
    graph = s.graph
    kernel = Kernel(graph)
    params = [n.index for n in graph.nodes if n.kind == "param"]
    sizes = [int(np.size(s.values[j])) for j in params]
    total = sum(sizes)
    rng = np.random.default_rng(0)
    picks = rng.choice(total, size=sample, replace=False)
    offsets = np.cumsum([0] + sizes)
    n = len(graph.nodes)

    def loss() -> float:
        vals = [None] * n
        kernel.forward(vals, 0, n)  # the whole model, as a whole-function checker runs it
        return float(vals[graph.output])

    worst = 0.0
    t0 = time.perf_counter()
    for flat in picks:
        p = int(np.searchsorted(offsets, flat, side="right") - 1)
        j, e = params[p], int(flat - offsets[p])
        base = kernel.consts[j]
        x = base.copy()
        h = eps * max(abs(x.flat[e]), 1.0)
        x.flat[e] = base.flat[e] + h
        kernel.consts[j] = x
        plus = loss()
        x.flat[e] = base.flat[e] - h
        minus = loss()
        kernel.consts[j] = base
        numerical = (plus - minus) / (2 * h)
        analytic = float(np.asarray(s.grads[j]).flat[e])
        worst = max(worst, abs(numerical - analytic) / max(abs(numerical), abs(analytic), 1e-12))
    per = (time.perf_counter() - t0) / sample
    return per, total, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=200, help="parameter elements timed for the full FD (200)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of check, median reported (3)")
    args = ap.parse_args()

    check_s, load_s, report = time_check(args.repeat)
    cli_s = time_cli()
    per, total, worst = time_full_fd(args.sample)
    full = per * total
    bad = [c.name for c in report.nodes if c.ok is False]
    print("bpdebug check on a 784-256-10 MLP, batch 64, float64")
    print(f"  check_session (both passes + every node + whole-graph + health): {check_s:.3f} s "
          f"(median of {args.repeat}; load {load_s:.3f} s)")
    print(f"  `bpdebug check FILE` end to end, fresh process: {cli_s:.3f} s "
          f"({'under' if cli_s < 2 else 'OVER'} the 2 s target)")
    print(f"  verdicts: {len(report.nodes)} op nodes, failing {bad or 'none'}; leaves "
          + ", ".join(f"{c.name} {c.verdict}" for c in report.leaves))
    print("whole-function checker: central differences of the loss for every parameter element")
    print(f"  measured on {args.sample} random elements of {total}: {per * 1e3:.2f} ms per element "
          f"(2 forward passes; max rel err {worst:.1e})")
    print(f"  extrapolated to all {total} elements: {full:.0f} s ({full / 60:.1f} min), "
          f"{full / check_s:.0f}x the check")


if __name__ == "__main__":
    main()
