"""The front door: loading a program and compiling its kernel, against running it.

    python benchmarks/bench_load.py [--nodes 10000 100000] [--rounds 3] [--before CHECKOUT]

On the random scalar programs of bench_core.py, the median of `rounds` times of
  load      bpdebug.load(text): parse, build, the Session
  compile   the Session's kernel, compiled on first use
  run       Session.run(): the forward and the backward pass
as bpdebug does them ("after"), and as it did before issue 13 ("before"), in this process: the
reference parses with Lark's own contextual lexer and Lark's own LALR loop (the same grammar,
the same transformer building the same syntax tree) and compiles the kernel with Python's cycle
collector running. The builder and the kernel are today's on both sides, so "before" is faster
than bpdebug before issue 13 was: the ratio is what FastLexer and the driver give alone.
`--before` measures a checkout of bpdebug instead, imported in this process as a package of
another name: its own parser, builder and kernel. Printed: each time, before / after, and
(load + compile) / run.
Targets: load at least 2x faster than bpdebug before issue 13 on 100,000 nodes (--before a copy
of it: `mkdir /tmp/before && git archive 4d5b52f bpdebug grammars | tar -x -C /tmp/before`);
compile at most 2 us a node.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
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


def larks_own() -> tuple:
    """(load, compile) as bpdebug did before: Lark's own lexer and LALR loop, and the kernel
    compiled with the collector running."""
    def load(text: str):
        with larks_own_parser():
            return bpdebug.load(text)

    def compile_(session) -> None:
        session.kernel = Kernel(session.graph)
    return load, compile_


def checkout(path: str) -> tuple:
    """(load, compile) of the bpdebug in a checkout at `path`, imported as `bpdebug_before`."""
    package = Path(path).resolve() / "bpdebug"
    spec = importlib.util.spec_from_file_location("bpdebug_before", package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["bpdebug_before"] = module
    spec.loader.exec_module(module)
    return module.load, lambda session: session.kernel


def measure(text: str, load, compile_) -> dict:
    """Seconds to load, compile and run `text` once, and the output's value."""
    gc.collect()
    t = time.perf_counter()
    session = load(text)
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    compile_(session)
    compiled = time.perf_counter() - t
    t = time.perf_counter()
    session.run()
    ran = time.perf_counter() - t
    return {"load": loaded, "compile": compiled, "run": ran, "output": session.value(session.graph.nodes[-1].name)}


def bench(n: int, rounds: int, before: tuple) -> dict:
    sides = {"before": before, "after": (bpdebug.load, lambda session: session.kernel)}
    for load, compile_ in sides.values():   # the parsers made (the grammar read) before any timing
        measure("x = 1", load, compile_)
    text = program_text(*random_graph(n))
    times = {side: [] for side in sides}
    for _ in range(rounds):   # in turns, so that both see the same machine
        for side, (load, compile_) in sides.items():
            times[side].append(measure(text, load, compile_))
    outputs = [r["output"] for rs in times.values() for r in rs]
    assert all(math.isclose(o, outputs[0], rel_tol=1e-12) for o in outputs), outputs
    return {side: {key: statistics.median(r[key] for r in rs) for key in ("load", "compile", "run")}
            for side, rs in times.items()} | {"chars": len(text)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--before", metavar="CHECKOUT", help="measure this checkout of bpdebug as before")
    a = p.parse_args()
    before = checkout(a.before) if a.before else larks_own()
    reference = "this bpdebug with Lark's own lexer and LALR loop, its kernel compiled with the collector on"
    print(f"before: {a.before or reference}\n")
    for n in a.nodes:
        r = bench(n, a.rounds, before)
        b, f = r["before"], r["after"]
        print(f"random scalar program, {n:,} nodes ({r['chars'] / 1e6:.1f} MB), median of {a.rounds}:")
        print(f"  {'':26}{'before':>10}{'after':>10}{'before/after':>14}")
        for key in ("load", "compile", "run"):
            print(f"  {key:26}{b[key]:9.3f}s{f[key]:9.3f}s{b[key] / f[key]:13.2f}x")
        ratio = {side: (t["load"] + t["compile"]) / t["run"] for side, t in r.items() if side != "chars"}
        print(f"  {'(load + compile) / run':26}{ratio['before']:10.1f}{ratio['after']:10.1f}")
        print(f"  load {b['load'] / f['load']:.2f}x faster (target against bpdebug before issue 13, --before:"
              f" >= 2 on 100,000 nodes); compile {f['compile'] / n * 1e6:.2f} us a node (target <= 2)\n")


if __name__ == "__main__":
    main()
