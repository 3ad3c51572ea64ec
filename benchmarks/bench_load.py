"""The front door: loading a program and compiling its kernel, against running it.

    python benchmarks/bench_load.py [--nodes 10000 100000] [--rounds 3]

On the random scalar programs of bench_core.py, the median of `rounds` times of
  load      bpdebug.load(text): parse, build, the Session
  compile   the Session's kernel, compiled on first use
  run       Session.run(): the forward and the backward pass
as bpdebug does them ("after"), and as it did before issue 13 ("before"), in this process: the
reference parses with Lark's own contextual lexer and Lark's own LALR loop (the same grammar,
the same transformer building the same syntax tree) and compiles the kernel with Python's cycle
collector running. The builder and the kernel are today's on both sides, so "before" is faster
than bpdebug before issue 13 was. Printed: each time, before / after, and (load + compile) / run.
Targets: load at least 2x faster than before on 100,000 nodes; compile at most 2 us a node.
"""
from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import time
from functools import lru_cache
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bpdebug  # noqa: E402
from bench_core import program_text, random_graph  # noqa: E402
from bpdebug.kernel import Kernel  # noqa: E402
from bpdebug.lang import parser  # noqa: E402


@lru_cache(maxsize=None)
def _standard():
    return parser.lark_parser(lexer="contextual")


def larks_own_parser():
    """While active, programs are parsed by Lark's own lexer and LALR loop."""
    standard = _standard()

    class LarksOwn:
        def parse(self, text: str, start: str):
            return standard.parse(text, start=start)

    return mock.patch.object(parser, "_driver", LarksOwn)


def measure(text: str, before: bool) -> dict:
    """Seconds to load, compile and run `text` once, and the output's value."""
    gc.collect()
    if before:
        with larks_own_parser():
            t = time.perf_counter()
            session = bpdebug.load(text)
            loaded = time.perf_counter() - t
        t = time.perf_counter()
        session.kernel = Kernel(session.graph)   # the collector running, as it was
        compiled = time.perf_counter() - t
    else:
        t = time.perf_counter()
        session = bpdebug.load(text)
        loaded = time.perf_counter() - t
        t = time.perf_counter()
        session.kernel  # noqa: B018 (compiled on first use)
        compiled = time.perf_counter() - t
    t = time.perf_counter()
    session.run()
    ran = time.perf_counter() - t
    return {"load": loaded, "compile": compiled, "run": ran, "output": session.value(session.graph.nodes[-1].name)}


def bench(n: int, rounds: int) -> dict:
    text = program_text(*random_graph(n))
    for before in (True, False):   # both parsers made (the grammar read) before any timing
        measure("x = 1", before)
    times = {"before": [], "after": []}
    for _ in range(rounds):   # in turns, so that both see the same machine
        for side in times:
            times[side].append(measure(text, side == "before"))
    outputs = {r["output"] for side in times.values() for r in side}
    assert len(outputs) == 1 or all(math.isclose(o, next(iter(outputs))) for o in outputs), outputs
    return {side: {key: statistics.median(r[key] for r in rs) for key in ("load", "compile", "run")}
            for side, rs in times.items()} | {"chars": len(text)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    for n in a.nodes:
        r = bench(n, a.rounds)
        b, f = r["before"], r["after"]
        print(f"random scalar program, {n:,} nodes ({r['chars'] / 1e6:.1f} MB), median of {a.rounds}:")
        print(f"  {'':26}{'before':>10}{'after':>10}{'before/after':>14}")
        for key in ("load", "compile", "run"):
            print(f"  {key:26}{b[key]:9.3f}s{f[key]:9.3f}s{b[key] / f[key]:13.2f}x")
        ratio = {side: (t["load"] + t["compile"]) / t["run"] for side, t in r.items() if side != "chars"}
        print(f"  {'(load + compile) / run':26}{ratio['before']:10.1f}{ratio['after']:10.1f}")
        print(f"  load {b['load'] / f['load']:.2f}x faster (target >= 2 on 100,000 nodes);"
              f" compile {f['compile'] / n * 1e6:.2f} us a node (target <= 2)\n")


if __name__ == "__main__":
    main()
