"""Traces: what recording costs, how big a trace is, how fast a replay jumps. Printed as
figures measured in this process.

    python benchmarks/bench_trace.py [--nodes 100000] [--rounds 5] [--events 1000000]

1. Recording overhead on the random scalar graph of bench_core.py (seeded; +, -, *, tanh,
   sigmoid over earlier nodes, every node reaching the output): Session.run() with and without
   a recorder, alternated, medians of CPU time (time.process_time: other processes on the
   machine do not count) and of wall time. The recorded run includes attaching the recorder
   and closing the file. The first recording of a graph also builds its layout (flat arrays of
   the inputs, kept per graph); it is printed apart. Target: at most 2x.
2. Bytes per scalar event (that 100,000-node trace, header left out) and per tensor element
   (a 200x200 leaf).
3. Jumping in a trace of --events events (a graph of events/2 nodes, recorded once): the time
   to open it (index the lines and check them; then the ReplaySession, whose Session compiles
   a kernel; parsing the program is left out: the graph is passed in), then the time of
   goto(random step) + event() + reading the current node's value and gradient, for 200
   random steps. Target: under 50 ms a jump.
"""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import program_text, random_graph  # noqa: E402  (the same graph as the core's)

import bpdebug  # noqa: E402
from bpdebug.engine import Session  # noqa: E402
from bpdebug.trace import ReplaySession, record  # noqa: E402
from bpdebug.trace.format import TraceFile  # noqa: E402


def clocks(fn) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of fn()."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def recorded_run(session: Session, path: Path):
    def run():
        recorder = record(session, path)
        session.run()
        recorder.close()
    return run


def bench_overhead(graph, rounds: int, path: Path) -> dict:
    session = Session(graph)
    session.kernel  # built on first use: compiling the graph is no part of recording's cost
    first = clocks(recorded_run(session, path))
    plain, recorded = [], []
    for _ in range(rounds):
        session.restart()
        plain.append(clocks(session.run))
        session.restart()
        recorded.append(clocks(recorded_run(session, path)))
    med = [[statistics.median(x[k] for x in runs) for k in (0, 1)] for runs in (plain, recorded)]
    return {"plain": med[0], "recorded": med[1], "first": first,
            "bytes": path.stat().st_size - len(path.read_bytes().split(b"\n", 1)[0]) - 1,
            "events": 2 * len(graph.nodes)}


def bench_tensor_bytes(path: Path) -> float:
    session = bpdebug.load("W = randn(200, 200, seed=1)\nv = randn(200, seed=2)\nf = sum(tanh(W @ v))")
    recorder = record(session, path)
    session.run()
    recorder.close()
    line = path.read_bytes().split(b"\n")[1]       # step 1: the forward step of W
    return len(line) / 40000


def bench_jump(events: int, path: Path) -> dict:
    n = events // 2
    t = time.perf_counter()
    graph = bpdebug.load(program_text(*random_graph(n)), "jump.bp").graph
    load = time.perf_counter() - t
    session = Session(graph)
    recorder = record(session, path)
    session.run()
    recorder.close()
    t = time.perf_counter()
    trace = TraceFile(path)
    trace.check(graph)
    indexed = time.perf_counter() - t
    replay = ReplaySession(graph, trace)
    opened = time.perf_counter() - t
    rng = random.Random(0)
    jumps = []
    for _ in range(200):
        step = rng.randint(0, replay.total)
        t = time.perf_counter()
        replay.goto(step)
        replay.event()
        if replay.current is not None:
            replay.values[replay.current], replay.grads[replay.current]
        jumps.append(time.perf_counter() - t)
    return {"nodes": n, "events": replay.recorded, "load": load, "index": indexed, "open": opened,
            "median": statistics.median(jumps), "max": max(jumps), "size": path.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "bench.bpt"
        graph = bpdebug.load(program_text(*random_graph(args.nodes)), "bench.bp").graph
        o = bench_overhead(graph, args.rounds, trace)
        (pc, pw), (rc, rw) = o["plain"], o["recorded"]
        print(f"1. recording, {args.nodes:,}-node scalar graph, medians of {args.rounds}:")
        print(f"   Session.run()            {pc * 1e3:7.1f} ms CPU  {pw * 1e3:7.1f} ms wall")
        print(f"   recorded run             {rc * 1e3:7.1f} ms CPU  {rw * 1e3:7.1f} ms wall")
        print(f"   ratio                    {rc / pc:7.2f}x CPU   {rw / pw:6.2f}x wall   (target <= 2x)")
        print(f"   first recording of the graph (builds its layout): {o['first'][0] * 1e3:.1f} ms CPU, "
              f"{o['first'][0] / pc:.2f}x")
        print(f"2. size: {o['bytes'] / o['events']:.1f} bytes per scalar event "
              f"({o['bytes'] / 1e6:.1f} MB for {o['events']:,} events); "
              f"{bench_tensor_bytes(trace):.2f} bytes per tensor element")
        j = bench_jump(args.events, trace)
        print(f"3. jumps in a trace of {j['events']:,} events ({j['nodes']:,} nodes, "
              f"{j['size'] / 1e6:.0f} MB; the program took {j['load']:.0f} s to parse):")
        print(f"   open: index + checks {j['index'] * 1e3:.0f} ms, with the ReplaySession "
              f"{j['open'] * 1e3:.0f} ms")
        print(f"   goto + event: median {j['median'] * 1e3:.3f} ms, max {j['max'] * 1e3:.3f} ms"
              "   (target < 50 ms)")


if __name__ == "__main__":
    main()
