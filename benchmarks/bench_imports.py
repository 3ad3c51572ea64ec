"""The other ways in (issue 10): importing an ONNX model, and the cost of an op written in Python.

    python benchmarks/bench_imports.py [--rounds 7]

1. Importing a 100-node ONNX model (MLP blocks of MatMul, Add, Relu), end to end: reading the
   file, building the graph, a Session ready to step. Target: under 0.2 s beyond `import onnx`,
   measured in a fresh interpreter after bpdebug's engine is imported (every command imports
   it; its time is printed too), the importer's own modules included, and again warm.
2. An op written in Python (@op with a hand-written VJP): one forward step and one backward step
   of its node through the engine's kernel, against calling the same two numpy functions
   directly. Target: at most 5 us a step more.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import bpdebug  # noqa: E402
from bpdebug import op  # noqa: E402


def hundred_node_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "input"
    for k in range(34):          # 34 blocks of MatMul, Add, Relu: 102 nodes
        w, b = f"block{k}.weight", f"block{k}.bias"
        inits += [numpy_helper.from_array(rng.standard_normal((32, 32)).astype(np.float32) / 6, w),
                  numpy_helper.from_array(np.zeros(32, np.float32), b)]
        nodes += [helper.make_node("MatMul", [x, w], [f"/block{k}/MatMul_output_0"]),
                  helper.make_node("Add", [f"/block{k}/MatMul_output_0", b], [f"/block{k}/Add_output_0"]),
                  helper.make_node("Relu", [f"/block{k}/Add_output_0"], [f"/block{k}/Relu_output_0"])]
        x = f"/block{k}/Relu_output_0"
    graph = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 32])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 32])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def fresh_process(code: str, setup: str = "") -> float:
    """Seconds `code` takes in a new interpreter, after `import onnx` and `setup` (not counted)."""
    probe = (f"import time, onnx, numpy\n{setup}\nt = time.perf_counter()\n" + code +
             "\nprint(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def bench_onnx(rounds: int) -> None:
    from bpdebug.imports.onnx_model import load_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deep.onnx"
        hundred_node_model(path)
        load = f"from bpdebug.imports.onnx_model import load_model\ns = load_model({str(path)!r})"
        cold = [fresh_process(load, "import bpdebug.engine") for _ in range(rounds)]
        engine = [fresh_process("import bpdebug.engine") for _ in range(rounds)]
        s = load_model(str(path))
        warm = []
        for _ in range(rounds):
            t = time.perf_counter()
            load_model(str(path))
            warm.append(time.perf_counter() - t)
    nodes = len(s.graph.nodes)
    print(f"importing a 102-node ONNX model ({nodes} bpdebug nodes, batch 1, 32 wide), beyond `import onnx`:")
    print(f"  fresh interpreter, the importer's modules included: median {statistics.median(cold):.3f} s "
          f"(min {min(cold):.3f}, max {max(cold):.3f}), {statistics.median(cold) / 0.2:.2f}x the 0.2 s budget; "
          f"before it, importing bpdebug's engine, as every command does: {statistics.median(engine):.3f} s")
    print(f"  warm, in this process: median {statistics.median(warm) * 1e3:.1f} ms "
          f"({statistics.median(warm) / nodes * 1e6:.0f} us a node)")


@op
def affine(x, w, b):
    return x @ w + b


@affine.vjp
def affine_vjp(dout, out, x, w, b):
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def per_call(fn, repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def bench_python_op(rounds: int, rows: int, width: int, repeat: int) -> None:
    s = bpdebug.load(f"X = randn({rows}, {width}, seed=0)\nW = randn({width}, {width}, seed=1)\n"
                     f"b = randn({width}, seed=2)\nh = affine(X, W, b)\nL = sum(h)", ops=[affine])
    s.run()
    k, i = s.kernel, s.graph.index("h")
    vals = s.values
    x, w, b, g = vals[0], vals[1], vals[2], np.ones((rows, width))
    wanted_grads = [None] * len(vals)
    kept = list(vals)

    def kernel_steps():
        k.forward(vals, i, i + 1)
        wanted_grads[:] = [None] * len(vals)
        wanted_grads[i] = g
        k.backward(vals, wanted_grads, i, i + 1, None)

    def by_hand():   # keeping what it makes alive as the kernel does (big arrays cost to allocate)
        kept[i] = out = affine.forward(x, w, b)
        wanted_grads[:] = [None] * len(vals)
        wanted_grads[i] = g
        dx, dw, db = affine_vjp(g, out, x, w, b)
        wanted_grads[0], wanted_grads[1], wanted_grads[2] = dx, dw, db

    ours, theirs = [], []
    for _ in range(rounds * 4):   # interleaved; the fastest round of each (the least disturbed)
        ours.append(per_call(kernel_steps, repeat))
        theirs.append(per_call(by_hand, repeat))
    extra = (min(ours) - min(theirs)) / 2 * 1e6
    print(f"an op written in Python, affine on ({rows}, {width}) @ ({width}, {width}): a forward and a backward "
          f"step {min(ours) * 1e6:.1f} us through the kernel, {min(theirs) * 1e6:.1f} us calling the numpy "
          f"functions: {extra:+.2f} us a step (target <= 5 us)")


def bench_overhead(rounds: int, repeat: int = 2000) -> None:
    """The wrappers alone: an op whose forward and VJP hand back arrays they already hold, so
    that there is no numpy work to hide the cost under."""
    x, w, b, g = np.ones((4, 3)), np.ones((3, 3)), np.ones(3), np.ones((4, 3))
    out, grads = np.ones((4, 3)), (np.ones((4, 3)), np.ones((3, 3)), np.ones(3))

    def held(x, w, b):
        return out

    def held_vjp(dout, out, x, w, b):
        return grads

    nothing = op(held)
    nothing.vjp(held_vjp)
    s = bpdebug.load("X = ones(4, 3)\nW = ones(3, 3)\nb = ones(3)\nh = held(X, W, b)\nL = sum(h)", ops=[nothing])
    s.run()
    k, i = s.kernel, s.graph.index("h")
    f, v = k.fwd[i], k.vjp[i]
    # inputs alternate between two sets of arrays, as a new pass brings new values: each
    # forward step makes its read-only views, and its backward step reads them again
    sets = [(x, w, b), (x.copy(), w.copy(), b.copy())]
    turn = [0]

    def wrapped():
        ins = sets[turn[0]]
        turn[0] ^= 1
        v(g, f(*ins), *ins)

    def by_hand():
        ins = sets[turn[0]]
        turn[0] ^= 1
        held_vjp(g, held(*ins), *ins)

    ours, theirs = [], []
    for _ in range(rounds * 4):
        ours.append(per_call(wrapped, repeat))
        theirs.append(per_call(by_hand, repeat))
    print(f"an op written in Python, its wrappers alone (forward and VJP hand back arrays they hold): "
          f"{(min(ours) - min(theirs)) / 2 * 1e6:.2f} us a step (target <= 5 us)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    bench_onnx(args.rounds)
    bench_overhead(args.rounds)
    for rows, width in ((4, 3), (64, 256)):
        bench_python_op(args.rounds, rows, width, 500 if width < 100 else 50)


if __name__ == "__main__":
    main()
