"""The TUI on a 10-node and a 10,000-node graph, side by side, in one process.

  time to first paint   from creating BpDebugApp (the Session already loaded) to the first
                        screen written; loading the program (parse, build) is shown apart
  open                  what opening a program in the TUI costs: loading it, the collection
                        BpDebugApp.run() makes before it starts, and the first paint
                        (target: a 10,000-node program in under 1 s on an idle machine)
  step-to-repaint       from pressing `s` to the repaint that shows the step (wall clock), and
                        the work in it: the step handler plus the compositor's render of the
                        dirty regions and their conversion to terminal output

The app runs headless under Pilot at 120x40; the compositor still renders every update, and
this script also turns each update into the escape sequences a terminal would get.
Target: the 10,000-node step within 2x of the 10-node one.

  python benchmarks/bench_tui.py [--rounds 4] [--nodes 10000]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bpdebug  # noqa: E402
from bpdebug.tui.app import BpDebugApp  # noqa: E402


def chain_program(n: int) -> str:
    """n scalar nodes: two leaves, then x_i = x_(i-1) + x_(i-2) and x_i = sin(x_(i-1)) in turn
    (values stay small, gradients stay non-zero, and every node has fan-out 2)."""
    lines = ["x0 = 0.5", "x1 = -0.3"]
    for i in range(2, n):
        lines.append(f"x{i} = x{i - 1} + x{i - 2}" if i % 2 == 0 else f"x{i} = sin(x{i - 1})")
    return "\n".join(lines) + "\n"


async def measure(session, keys: list[str], setup: tuple = ()) -> dict:
    """Time to first paint, then each of `keys` (after pressing `setup`, untimed)."""
    app = BpDebugApp(session)
    paints: list[float] = []
    work = [0.0]
    original_display = app._display

    def display(screen, update):
        started = perf_counter()
        if update is not None:
            update.render_segments(app.console)     # what a real terminal would be sent
        paints.append(perf_counter())
        work[0] += paints[-1] - started
        original_display(screen, update)

    def timed(action):
        def run():
            started = perf_counter()
            action()
            work[0] += perf_counter() - started
        return run

    settling = perf_counter()
    gc.collect()                        # as BpDebugApp.run() does; run_test() does not
    gc.freeze()
    settled = perf_counter() - settling
    app._display = display
    app.action_step = timed(app.action_step)
    app.action_back = timed(app.action_back)
    created = perf_counter()
    wall, cpu = [], []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first_paint = paints[0] - created
        if setup:
            await pilot.press(*setup)
            await pilot.pause()
        for key in keys:
            before = len(paints)
            work[0] = 0.0
            pressed = perf_counter()
            await pilot.press(key)
            while len(paints) == before:
                await asyncio.sleep(0.0005)
            wall.append(paints[before] - pressed)
            cpu.append(work[0])
    return {"first_paint": first_paint, "settle": settled, "wall": statistics.median(wall),
            "work": statistics.median(cpu)}


def side_by_side(nodes: int, rounds: int, setup: tuple = ()) -> dict:
    """{10: ..., nodes: ...}: `measure` on the 10-node and the big program, the same walk on
    both: from 4 steps before the end of the forward pass, 8 steps (across into the backward
    pass) and 8 back, `rounds` times."""
    results = {}
    for n in (10, nodes):
        started = perf_counter()
        session = bpdebug.load(chain_program(n), f"chain{n}.bp")
        loaded = perf_counter() - started
        session.run(limit=session.n - 4)
        results[n] = asyncio.run(measure(session, (["s"] * 8 + ["r"] * 8) * rounds, setup))
        results[n]["load"] = loaded
        results[n]["open"] = loaded + results[n]["settle"] + results[n]["first_paint"]
    return results


def print_rows(results: dict, nodes: int, rows: list, title: str = "") -> None:
    small, big = results[10], results[nodes]
    print(f"{title:34}{'10 nodes':>12}{f'{nodes:,} nodes':>16}{'ratio':>9}")
    for label, key in rows:
        print(f"{label:34}{small[key] * 1000:10.1f} ms{big[key] * 1000:13.1f} ms"
              f"{big[key] / small[key]:8.2f}x")


STEP_ROWS = [("step-to-repaint, wall (median)", "wall"), ("step-to-repaint, work (median)", "work")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--nodes", type=int, default=10_000)
    a = p.parse_args()
    results = side_by_side(a.nodes, a.rounds)
    print_rows(results, a.nodes, [("load the program (parse, build)", "load"),
                                  ("time to first paint", "first_paint"),
                                  ("open: load, collect, first paint", "open"), *STEP_ROWS])
    small, big = results[10], results[a.nodes]
    print(f"{a.nodes:,} nodes open in {big['open']:.2f} s (target < 1 s on an idle machine)")
    verdict = "within" if big["work"] <= 2 * small["work"] else "NOT within"
    print(f"step work on {a.nodes:,} nodes is {verdict} 2x of 10 nodes")

if __name__ == "__main__":
    main()
