"""A recording killed with SIGKILL in the middle of `continue` keeps every step taken more than
0.1 s of work before the kill, and every step it keeps replays bit for bit.

Both processes run with one BLAS thread: the main thread's CPU time is then all the work (and
on a machine of two cores shared with others, threaded BLAS makes the parts of a millisecond
these steps take cost ten times as much)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

WIDTH, COLUMNS, LAYERS = 600, 4, 600    # a step costs about 0.3 ms: 4096 of them are a second
KILL_AFTER = 0.25                  # seconds of the recording process's work in `continue`, at least
LOSS = 0.1                         # the most work a kill may lose
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

# Records a `continue`. A thread tells the parent, every millisecond or so, how much work the
# main thread has done in `continue` (its CPU time) and how many forward steps it has computed
# by then (the values fill in order), read from the session, not from the trace.
RECORD = """
import os, sys, threading, time
from bisect import bisect_left
import bpdebug
from bpdebug.commands import execute
from bpdebug.trace import record

session = bpdebug.load(sys.stdin.read())
record(session, sys.argv[1])
main = time.pthread_getcpuclockid(threading.main_thread().ident)
start = time.clock_gettime(main)

def report():
    while True:
        done = bisect_left(session.values, True, key=lambda v: v is None)
        os.write(1, f"{time.clock_gettime(main) - start} {done}\\n".encode())
        time.sleep(0.001)

threading.Thread(target=report, daemon=True).start()
execute(session, "continue")
"""

# Replays every kept step against a live run of the program the trace holds; prints how many.
CHECK = """
import sys
import numpy as np
from bpdebug.engine import Session
from bpdebug.trace import open_trace

replay = open_trace(sys.argv[1])
live = Session(replay.graph)
live.run(limit=replay.recorded)
for i in range(replay.recorded):
    kept, then = replay.trace.event(i + 1).value, live.values[i]
    assert np.shape(kept) == np.shape(then), i
    assert np.asarray(kept, "<f8").tobytes() == np.asarray(then, "<f8").tobytes(), i
print(replay.recorded, live.n)
"""


def slow_program() -> str:
    lines = [f"W = randn({WIDTH}, {WIDTH}, seed=1, scale=0.03)", f"h0 = randn({WIDTH}, {COLUMNS}, seed=2)"]
    lines += [f"h{i} = tanh(W @ h{i - 1})" for i in range(1, LAYERS)]
    return "\n".join(lines + [f"f = sum(h{LAYERS - 1})"])


def kill_while_recording(program: str, path, steps: int) -> list:
    """Record `program` in a process, SIGKILL it in `continue` once it has done KILL_AFTER
    seconds of work and `steps` steps; its reports, (work, steps computed), up to the kill."""
    child = subprocess.Popen([sys.executable, "-c", RECORD, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=ENV)
    child.stdin.write(program.encode())
    child.stdin.close()
    reports = []
    try:
        while not reports or reports[-1][0] < KILL_AFTER or reports[-1][1] < steps:
            line = child.stdout.readline()
            assert line, "the recording process ended before it was killed"
            work, done = line.split()
            reports.append((float(work), int(done)))
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    return reports


def test_a_recording_killed_in_continue_keeps_all_but_its_last_tenth_of_a_second(tmp_path):
    path = tmp_path / "killed.bpt"
    reports = kill_while_recording(slow_program(), path, 2 * LAYERS // 3)
    checked = subprocess.run([sys.executable, "-c", CHECK, str(path)], capture_output=True, text=True,
                             env=ENV, timeout=120)
    assert checked.returncode == 0, checked.stderr        # every kept step, bit for bit
    kept, nodes = map(int, checked.stdout.split())
    at_kill = reports[-1][0]       # the work done by the kill is at least this
    assert reports[-1][1] < nodes, "killed after the forward pass: make the program slower"
    must_keep = max(steps for work, steps in reports if work <= at_kill - LOSS)
    assert kept >= must_keep > 0, (kept, must_keep, reports[-1])
