"""The whole-graph picture: the TUI's graph view (`g`) on a 10-node and a 10,000-node program,
and `bpdebug graph` from the shell.

  step-to-repaint with the graph shown   as bench_tui.py measures it (120x40), after `g`: the
                                          step, the rebuild of the picture (scene, layout, grid)
                                          and the repaint; the 10,000-node program is drawn as
                                          the neighbourhood of the current node
  picture of N boxes                      scene + grandalf layout + grid for the whole program
                                          of 5, 17 (network_232) and 61 boxes (a hub feeding every
                                          node: the most wires grandalf is given), and the same
                                          at the next step, when the layout is reused
  bpdebug graph FILE -o OUT.svg           end to end in a new process, against `bpdebug run FILE`

  python benchmarks/bench_graph.py [--rounds 4] [--nodes 10000]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bpdebug  # noqa: E402
from bench_tui import STEP_ROWS, print_rows, side_by_side  # noqa: E402
from bpdebug.picture import layout  # noqa: E402
from bpdebug.picture.scene import Picture  # noqa: E402
from bpdebug.picture.text import Grid  # noqa: E402

HUB = "x = 0.5\na0 = sin(x)\n" + "".join(f"a{i} = a{i - 1} + x\n" for i in range(1, 60))


def picture_times(session, rounds: int) -> tuple:
    """(first drawing, next drawings) in seconds: the first lays out, the next reuse it."""
    picture = Picture(session.graph)

    def draw():
        scene = picture.scene(session)
        text_of = lambda x: layout.label(x, 12)  # noqa: E731
        Grid(layout.arrange(scene, lambda b: layout.box_lines(scene, b, text_of, 40), text_of))

    layout.place.cache_clear()
    started = perf_counter()
    draw()
    first = perf_counter() - started
    again = []
    for _ in range(rounds):
        session.back()
        session.step()
        started = perf_counter()
        draw()
        again.append(perf_counter() - started)
    return first, statistics.median(again)


def command_time(args: list, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = perf_counter()
        subprocess.run([sys.executable, "-m", "bpdebug", *args], cwd=ROOT, check=True, capture_output=True)
        times.append(perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--nodes", type=int, default=10_000)
    a = p.parse_args()
    print_rows(side_by_side(a.nodes, a.rounds, setup=("g",)), a.nodes, STEP_ROWS, "graph view shown")
    print()
    for name, session in (("chain_rule.bp (5 boxes)", bpdebug.load_file(ROOT / "examples/chain_rule.bp")),
                          ("network_232.bp (8 boxes)", bpdebug.load_file(ROOT / "examples/network_232.bp")),
                          ("hub (61 boxes, 60 long wires)", bpdebug.load(HUB, "hub.bp"))):
        session.goto(session.total - 1)
        first, again = picture_times(session, a.rounds)
        print(f"picture of {name:31} first {first * 1000:7.1f} ms, next step {again * 1000:6.1f} ms")
    print()
    with tempfile.TemporaryDirectory() as tmp:
        graph = command_time(["graph", "examples/chain_rule.bp", "-o", f"{tmp}/c.svg"], a.rounds)
        run = command_time(["run", "examples/chain_rule.bp"], a.rounds)
    print(f"bpdebug graph examples/chain_rule.bp -o c.svg  {graph:.2f} s "
          f"(bpdebug run examples/chain_rule.bp {run:.2f} s: {graph / run:.2f}x)")


if __name__ == "__main__":
    main()
