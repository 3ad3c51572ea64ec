"""Fuzzing the trace reader: a recorded trace, mutated (bytes flipped, cut, lines duplicated and
swapped, header numbers made huge, negative or non-finite, wrong types, NUL, CRLF, unicode), may
only fail with BpError: when it opens, at any step of replaying it (values, gradients, events,
the transcript, the --json state), and when it is compared with the original."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpdebug
from bpdebug.commands import execute
from bpdebug.lang import BpError
from bpdebug.report import state_dict
from bpdebug.trace import open_trace, recording
from bpdebug.trace.diff import compare

PROGRAMS = {
    "scalars": "x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n",
    "tensors": "W = [[0.5, -1.0], [1.5, 0.25]]\nv = [1.0, -2.5]\nh = tanh(W @ v)\n"
               "s = sum(h * h) + mean(max(v, 0.5 * v)) + sum(softmax(h))\n",
    "custom": "def sq(t) = t * t\ngrad sq wrt t = 2 * t\nx = 3\nf = sq(x) * x\n",
    "data": 'data X = csv("d.csv")\nparam w = [0.5, -1.0]\nf = sum(tanh(X @ w))\n',
}

NUMBERS = ["1e309", "-1e309", "-1", "0", "-0", "1.5", "NaN", "Infinity", "-Infinity", "1" + "0" * 30,
           "9" * 5000, "true", "null", '"7"', "[]", "{}", "[[[[1]]]]"]
INSERTS = [b"\x00", b"\r\n", b"\r", b"\n", "é".encode(), "\u2028".encode(), b"\xff\xfe", "😀".encode(),
           b" ", b"=", b":", b"x", b"-", b'"', b"\\", b"{", b"}"]
FIELDS = [b"-" * 11, b"AAAAAAAAAAA", b"//////////8", b"AAAAAAAA+H8", b"0:", b"2:", b"2x2:", b"1:AAAAAAAA8D8=",
          b"2:AAAAAAAA8D8AAAAAAADwPw==", b"99999999999x99999999999:AAAA", b"0x99999999999:",
          b"-1:AAAAAAAA8D8=", b"2x-1:", b"1" + b"x1" * 70 + b":AAAAAAAA8D8=", b"", b"\x00" * 11]
KEYS = ["bpdebug_trace", "file", "nodes", "steps", "output", "set", "data", "source", "bpdebug"]
HEADER_VALUES = [1e309, -1, 0, 10 ** 30, True, None, "x", [], {}, {"x": True}, {"X": -1},
                 {"x": "AAAAAAAAAAA"}, {"X": "1:AAAAAAAA8D8="}, "f = (", "f = x\nf = x", "\u0000"]

position = st.floats(0, 1, exclude_max=True)
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(0, 255)),
    st.tuples(st.just("cut"), position),
    st.tuples(st.just("duplicate"), position),
    st.tuples(st.just("swap"), position, position),
    st.tuples(st.just("number"), st.integers(0, 12), st.sampled_from(NUMBERS)),
    st.tuples(st.just("insert"), position, st.sampled_from(INSERTS)),
    st.tuples(st.just("field"), position, position, st.sampled_from(FIELDS)),
    st.tuples(st.just("header"), st.sampled_from(KEYS), st.sampled_from(HEADER_VALUES)),
    st.tuples(st.just("crlf")),
)


def mutate(data: bytes, change: tuple) -> bytes:
    kind, *args = change
    lines = data.split(b"\n")
    if kind == "flip":
        at = int(args[0] * len(data))
        return data[:at] + bytes([args[1]]) + data[at + 1:]
    if kind == "cut":
        return data[:int(args[0] * len(data))]
    if kind == "duplicate":
        at = int(args[0] * len(lines))
        return b"\n".join(lines[:at + 1] + lines[at:])
    if kind == "swap":
        a, b = int(args[0] * len(lines)), int(args[1] * len(lines))
        lines[a], lines[b] = lines[b], lines[a]
        return b"\n".join(lines)
    if kind == "number":
        found = list(re.finditer(rb"-?\d+(\.\d+)?", lines[0]))
        if found:
            m = found[args[0] % len(found)]
            lines[0] = lines[0][:m.start()] + args[1].encode() + lines[0][m.end():]
        return b"\n".join(lines)
    if kind == "insert":
        at = int(args[0] * len(data))
        return data[:at] + args[1] + data[at:]
    if kind == "field":
        if len(lines) < 2:
            return data
        at = 1 + int(args[0] * (len(lines) - 1))
        fields = lines[at].split(b" ")
        fields[int(args[1] * len(fields))] = args[2]
        lines[at] = b" ".join(fields)
        return b"\n".join(lines)
    if kind == "header":
        try:
            header = json.loads(lines[0])
            header[args[0]] = args[1]
            lines[0] = json.dumps(header).encode()
        except (ValueError, TypeError):
            pass                       # the header was mutated past JSON already
        return b"\n".join(lines)
    return data.replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> dict:
    """Each program's trace (as bytes), recorded in a directory that no longer holds d.csv."""
    root = tmp_path_factory.mktemp("recorded")
    (root / "d.csv").write_text("a,b\n1,2\n3,-4\n0.5,0.25\n")
    made = {}
    for name, text in PROGRAMS.items():
        live = bpdebug.load(text, str(root / f"{name}.bp"))
        with recording(live, root / f"{name}.bpt"):
            execute(live, "step 3")
            execute(live, "back 2")
            live.run()
        made[name] = (root / f"{name}.bpt").read_bytes()
    (root / "d.csv").unlink()
    return made


def replay_everything(path: Path, original: Path) -> None:
    """What replay, replay --json, replay --print, script and diff do with a trace."""
    session = open_trace(path)
    for t in range(session.recorded + 1):
        session.goto(t)
        for i in range(session.n):
            session.values[i], session.grads[i]
        if t:
            session.event()
            for i in range(session.n):
                session.contributions(i), session.local_derivatives(i), session.accumulated(i)
    state_dict(session)
    session.restart()
    for _ in range(session.recorded):
        session.trace.event(session.t + 1)
        result = execute(session, "step")
        assert not result.error, result.text
    for command in ("back 3", "continue", "p f", "info breakpoints"):
        execute(session, command)
    reference = open_trace(original)
    compare(reference, session, 1e-9, 1e-12)
    compare(session, reference, 1e-9, 1e-12)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(mutation, min_size=1, max_size=3))
def test_a_mutated_trace_fails_only_with_bperror(traces, program, changes):
    data = traces[program]
    for change in changes:
        data = mutate(data, change)
    with tempfile.TemporaryDirectory() as tmp:
        path, original = Path(tmp) / "mutated.bpt", Path(tmp) / "original.bpt"
        path.write_bytes(data)
        original.write_bytes(traces[program])
        try:
            replay_everything(path, original)
        except BpError as err:
            assert err.message and "Traceback" not in str(err)
