"""The core's speed, measured in this process and printed as ratios (medians of a few rounds).

    python benchmarks/bench_core.py [--nodes 100000] [--rounds 5]

1. A random scalar graph (seeded; +, -, *, tanh, sigmoid over earlier nodes, one output):
   bpdebug's Session.run(), both passes, against
   - micrograd 0.1.0 (pip `micrograd`) on the same graph: micrograd builds its graph while it
     computes, so its time is building the Values from the node list (the forward pass) plus
     out.backward() (its topological sort and every _backward closure). tanh and sigmoid are
     added the way micrograd writes relu, as it has neither. Python's GC stays on, as users run it;
     the time with GC off is printed too;
   - a plain Python loop over the same node list: forward on floats, backward accumulating
     into a list, no objects per node (the floor for per-node work in Python).
   Targets: bpdebug <= 1/3 of micrograd, within 4x of the plain loop.
   Also printed: bpdebug.load (parse + build) and compiling a Session's kernel on that text.
2. A 784-256-10 sigmoid MLP, batch 64, float64, one BLAS thread: one forward + backward through
   Session.run() against the same backprop by hand in numpy. A Session gives every leaf a
   gradient, so with the batch X as a leaf it also computes dL/dX (a third big matmul); the
   numpy side is timed doing the same, and a second pair leaves dL/dX out on both sides
   (X as a constant). Target: within 1.25x.
3. `bpdebug run` on a seed example, end to end in a subprocess (interpreter start included).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # before numpy is imported: one thread on both sides

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import bpdebug  # noqa: E402
from bpdebug.engine import Session  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OPS = ("add", "sub", "mul", "tanh", "sigmoid")
SYMBOL = {"add": "+", "sub": "-", "mul": "*"}


# ---- the random scalar graph -----------------------------------------------------------------

def random_graph(n: int, seed: int = 0, leaves: int = 100, window: int = 200):
    """The leaf values, and [(op, i, j)] for each node after them. Node k's first input is
    node k-1, so every node reaches the output (the last node); the second is a random one of
    the last `window` nodes whose values lie in [-1, 1] (leaves, tanh and sigmoid outputs),
    which keeps every value bounded."""
    rng = random.Random(seed)
    values = [rng.uniform(-1, 1) for _ in range(leaves)]
    bounded = list(range(leaves))
    nodes = []
    for k in range(leaves, n):
        op = rng.choices(OPS, weights=(3, 2, 2, 2, 2))[0]
        nodes.append((op, k - 1, bounded[-rng.randint(1, min(window, len(bounded)))]))
        if op in ("tanh", "sigmoid"):
            bounded.append(k)
    return values, nodes


def program_text(values, nodes) -> str:
    lines = [f"n{k} = {v!r}" for k, v in enumerate(values)]
    k = len(values)
    for op, i, j in nodes:
        lines.append(f"n{k} = {op}(n{i})" if op in ("tanh", "sigmoid") else f"n{k} = n{i} {SYMBOL[op]} n{j}")
        k += 1
    return "\n".join(lines) + "\n"


def plain_loop(values, nodes) -> tuple[float, list]:
    """Forward on floats, then backward accumulating gradients in a list."""
    tanh = math.tanh
    v = list(values) + [0.0] * len(nodes)
    k = len(values)
    for op, i, j in nodes:
        if op == "add":
            v[k] = v[i] + v[j]
        elif op == "sub":
            v[k] = v[i] - v[j]
        elif op == "mul":
            v[k] = v[i] * v[j]
        elif op == "tanh":
            v[k] = tanh(v[i])
        else:
            v[k] = 0.5 * (tanh(0.5 * v[i]) + 1.0)
        k += 1
    g = [0.0] * len(v)
    g[-1] = 1.0
    for k in range(len(v) - 1, len(values) - 1, -1):
        op, i, j = nodes[k - len(values)]
        gk = g[k]
        if op == "add":
            g[i] += gk
            g[j] += gk
        elif op == "sub":
            g[i] += gk
            g[j] -= gk
        elif op == "mul":
            g[i] += gk * v[j]
            g[j] += gk * v[i]
        elif op == "tanh":
            g[i] += gk * (1.0 - v[k] * v[k])
        else:
            g[i] += gk * v[k] * (1.0 - v[k])
    return v[-1], g


def micrograd_run(values, nodes):
    from micrograd.engine import Value

    def tanh(x):  # as micrograd writes relu
        out = Value(math.tanh(x.data), (x,), "tanh")

        def _backward():
            x.grad += (1 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(x):
        out = Value(0.5 * (math.tanh(0.5 * x.data) + 1.0), (x,), "sigmoid")

        def _backward():
            x.grad += out.data * (1 - out.data) * out.grad
        out._backward = _backward
        return out

    vs = [Value(v) for v in values]
    for op, i, j in nodes:
        a = vs[i]
        if op == "add":
            vs.append(a + vs[j])
        elif op == "sub":
            vs.append(a - vs[j])
        elif op == "mul":
            vs.append(a * vs[j])
        elif op == "tanh":
            vs.append(tanh(a))
        else:
            vs.append(sigmoid(a))
    vs[-1].backward()
    return vs


def timed(fn, rounds: int, setup=None) -> float:
    times = []
    for _ in range(rounds):
        if setup:
            setup()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_scalar_graph(n: int, rounds: int) -> dict:
    values, nodes = random_graph(n)
    text = program_text(values, nodes)

    t = time.perf_counter()
    session = bpdebug.load(text)
    load_time = time.perf_counter() - t
    t = time.perf_counter()
    Session(session.graph).kernel  # the kernel is compiled on first use
    session_time = time.perf_counter() - t

    # The three agree before anything is timed.
    session.run()
    ref_out, ref_grad = plain_loop(values, nodes)
    out = session.value(f"n{n - 1}")
    assert math.isclose(out, ref_out, rel_tol=1e-12), (out, ref_out)
    for k in (0, len(values) // 2, len(values) - 1, n // 2):
        assert math.isclose(session.grad(f"n{k}"), ref_grad[k], rel_tol=1e-9, abs_tol=1e-12)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * n))  # micrograd's topological sort recurses
    mg = micrograd_run(values, nodes)
    assert math.isclose(mg[-1].data, ref_out, rel_tol=1e-12)
    assert math.isclose(mg[len(values) // 2].grad, ref_grad[len(values) // 2], rel_tol=1e-9, abs_tol=1e-12)
    del mg

    bp = timed(session.run, rounds, session.restart)
    plain = timed(lambda: plain_loop(values, nodes), rounds)
    gc.collect()
    micro = timed(lambda: micrograd_run(values, nodes), rounds, gc.collect)
    gc.disable()
    try:
        micro_nogc = timed(lambda: micrograd_run(values, nodes), rounds, gc.collect)
    finally:
        gc.enable()
    return {"nodes": n, "bpdebug": bp, "micrograd": micro, "micrograd_nogc": micro_nogc,
            "plain": plain, "load": load_time, "session": session_time, "chars": len(text)}


# ---- the MLP -------------------------------------------------------------------------------------

MLP = """X = {x}
Y = uniform(64, 10, lo=0, hi=1, seed=2)
layer h = dense(X, 256, act=sigmoid, seed=3)
layer out = dense(h, 10, act=sigmoid, seed=4)
loss C = quadratic(out, Y)
"""


def numpy_backprop(X, Y, W1, b1, W2, b2, want_dx: bool):
    z1 = X @ W1 + b1
    a1 = 1.0 / (1.0 + np.exp(-z1))
    z2 = a1 @ W2 + b2
    a2 = 1.0 / (1.0 + np.exp(-z2))
    n = len(X)
    loss = 0.5 * np.sum((a2 - Y) ** 2) / n
    d2 = (a2 - Y) / n * a2 * (1.0 - a2)             # delta^L
    dW2, db2 = a1.T @ d2, d2.sum(axis=0)
    d1 = (d2 @ W2.T) * a1 * (1.0 - a1)              # delta^1
    dW1, db1 = X.T @ d1, d1.sum(axis=0)
    dX = d1 @ W1.T if want_dx else None
    return loss, dW1, db1, dW2, db2, dX


def bench_mlp(rounds: int) -> list[dict]:
    results = []
    for label, x_text, want_dx in (("X a leaf (dL/dX computed)", "randn(64, 784, seed=1)", True),
                                   ("X a constant (no dL/dX)", "randn(64, 784, seed=1) * 1", False)):
        text = MLP.format(x=x_text)  # `randn(...) * 1` is computed from constants: no gradient
        s = bpdebug.load(text)
        s.run()
        X = np.random.default_rng(1).standard_normal((64, 784))
        np.testing.assert_array_equal(s.value("X"), X)
        Y, W1, b1, W2, b2 = (s.value(n) for n in ("Y", "h.W", "h.b", "out.W", "out.b"))
        loss, dW1, db1, dW2, db2, dX = numpy_backprop(X, Y, W1, b1, W2, b2, want_dx)
        assert math.isclose(s.value("C"), loss, rel_tol=1e-12)
        np.testing.assert_allclose(s.grad("h.W"), dW1, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(s.grad("out.b"), db2, rtol=1e-10, atol=1e-14)
        if want_dx:
            np.testing.assert_allclose(s.grad("X"), dX, rtol=1e-10, atol=1e-14)
        bp = timed(s.run, rounds * 4, s.restart)
        hand = timed(lambda: numpy_backprop(X, Y, W1, b1, W2, b2, want_dx), rounds * 4)
        results.append({"label": label, "bpdebug": bp, "numpy": hand})
    return results


# ---- the CLI ---------------------------------------------------------------------------------------

def bench_cli(rounds: int) -> dict:
    exe = Path(sys.executable).parent / "bpdebug"
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "bpdebug"]),
           "run", str(ROOT / "examples" / "chain_rule.bp")]
    python = [sys.executable, "-c", "pass"]

    def run(argv):
        done = subprocess.run(argv, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    return {"run": timed(lambda: run(cmd), rounds), "python": timed(lambda: run(python), rounds),
            "json": timed(lambda: run(cmd + ["--json"]), rounds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        import micrograd.engine  # noqa: F401
    except ImportError:
        sys.exit("this benchmark compares with micrograd: pip install -e '.[bench]' (micrograd==0.1.0)")

    r = bench_scalar_graph(args.nodes, args.rounds)
    us = lambda t: f"{t / r['nodes'] * 1e6:.2f} µs/node"  # noqa: E731
    print(f"random scalar graph, {r['nodes']:,} nodes, forward + backward (median of {args.rounds}):")
    print(f"  bpdebug Session.run()   {r['bpdebug']:.3f} s   {us(r['bpdebug'])}")
    print(f"  micrograd 0.1.0         {r['micrograd']:.3f} s   {us(r['micrograd'])}"
          f"   (GC off: {r['micrograd_nogc']:.3f} s, {us(r['micrograd_nogc'])})")
    print(f"  plain Python loop       {r['plain']:.3f} s   {us(r['plain'])}")
    print(f"  bpdebug / micrograd     {r['bpdebug'] / r['micrograd']:.3f}   (target <= 0.333;"
          f" with micrograd's GC off {r['bpdebug'] / r['micrograd_nogc']:.3f})")
    print(f"  bpdebug / plain loop    {r['bpdebug'] / r['plain']:.2f}    (target <= 4)")
    print(f"  bpdebug.load (parse + build, {r['chars'] / 1e6:.1f} MB of text)  {r['load']:.2f} s"
          f"   {us(r['load'])};  kernel {r['session']:.2f} s")

    print("\nMLP 784-256-10, sigmoid, quadratic cost, batch 64, float64, 1 thread, forward + backward:")
    for m in bench_mlp(args.rounds):
        print(f"  {m['label']:<28} bpdebug {m['bpdebug'] * 1e3:.2f} ms   numpy by hand {m['numpy'] * 1e3:.2f} ms"
              f"   ratio {m['bpdebug'] / m['numpy']:.2f}   (target <= 1.25)")

    c = bench_cli(args.rounds)
    print(f"\n`bpdebug run examples/chain_rule.bp`: {c['run']:.2f} s end to end (--json {c['json']:.2f} s;"
          f" a bare `python -c pass` {c['python']:.2f} s)")


if __name__ == "__main__":
    main()
