"""The trace file format: how values are written, the header, and reading a trace by step.

A trace is text, one record a line. Line 1 is a JSON header holding the program; line s + 1
is the event of step s (1-based, as the transcript counts: `[forward 3/10]` is step 3). The
step says which node and pass it is: with N nodes in the program's (topological) order, step
s <= N is the forward step of node s-1 and step s > N the backward step of node 2N-s. Its
line is the step's values, separated by single spaces:

    forward:  <value>
    backward: <upstream> <local>*n <contribution>*n <accumulated>*n

with n the number of the node's inputs, in the program's order. A value is a scalar as 11
base64 characters (its 8 little-endian float64 bytes, `=` padding dropped), a tensor as
`<shape>:<base64 of its little-endian float64 bytes>` (shape `2x3`, `4`, `0`), or 11 dashes
for none (so a line of scalars has fields of one width). Nothing is pickled or evaluated:
reading a value is base64 and `np.frombuffer`.

Reading does not parse the file up front: a few passes with numpy find the line ends (the index)
and check each line's field count and characters (for a program of scalars, every field); an
event is decoded when it is asked for, and a damaged tensor found then, with its line.
"""
from __future__ import annotations

import base64
import binascii
import json
import mmap
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .lang import BpError, Span

FORMAT_VERSION = 1
MAGIC = b'{"bpdebug_trace"'     # every trace starts with these bytes (a program cannot)
_TEXT = np.zeros(256, bool)         # the bytes an event line may hold (with its newline)
_BASE64 = np.zeros(256, bool)
_BASE64[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", np.uint8)] = True
_TEXT[np.frombuffer(b"=-: \n", np.uint8)] = True
_TEXT |= _BASE64
NONE = "-"             # a run of these is no value
SCALAR_WIDTH = 11
FORWARD, BACKWARD = "forward", "backward"


# ---- values ------------------------------------------------------------------------------------

def encode(x) -> str:
    """One value as a field: scalar, tensor or none."""
    if x is None:
        return NONE * SCALAR_WIDTH
    if isinstance(x, float):
        return binascii.b2a_base64(struct.pack("<d", x), newline=False)[:SCALAR_WIDTH].decode("ascii")
    a = np.asarray(x, dtype="<f8")
    if a.ndim == 0:
        return encode(float(a))
    shape = "x".join(str(d) for d in a.shape)
    return f"{shape}:{binascii.b2a_base64(a.tobytes(), newline=False).decode('ascii')}"


def decode(field: str):
    """The value of a field (ValueError if it is not one)."""
    if field and field == NONE * len(field):
        return None
    shape, colon, data = field.partition(":")
    if not colon:
        if len(field) != SCALAR_WIDTH:
            raise ValueError(f"'{field[:20]}' is not a value")
        return struct.unpack("<d", base64.b64decode(field + "=", validate=True))[0]
    dims = tuple(int(d) for d in shape.split("x"))
    arr = np.frombuffer(base64.b64decode(data, validate=True), dtype="<f8")
    if any(d < 0 for d in dims) or arr.size != int(np.prod(dims)):
        raise ValueError(f"shape {shape} does not fit {arr.size} numbers")
    return arr.reshape(dims).astype(float)


# ---- header ------------------------------------------------------------------------------------

def header_line(graph, set_values: dict, data_steps: dict, version: str) -> str:
    header = {
        "bpdebug_trace": FORMAT_VERSION,
        "bpdebug": version,
        "file": graph.filename,
        "nodes": len(graph.nodes),
        "steps": 2 * len(graph.nodes),
        "output": graph.nodes[graph.output].name,
        "set": {name: encode(_plain(v)) for name, v in set_values.items()},
        "data": data_steps,
        "source": graph.source,
    }
    # how to build the graph again besides its source: an ONNX model's options, the names of
    # ops written in Python (a replay asks for their file: a trace never runs Python by itself)
    header.update(graph.origin.trace_fields() if graph.origin is not None else {})
    return json.dumps(header) + "\n"


def _plain(v):
    return float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float)


def parse_header(raw: bytes, path: str) -> dict:
    def bad(message, hint=None):
        return BpError(message, Span(1, 1), None, path, hint)

    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or "bpdebug_trace" not in header:
        raise bad("not a bpdebug trace: line 1 is not a trace header",
                  "record one with `bpdebug run FILE --trace OUT`")
    version = header["bpdebug_trace"]
    if version != FORMAT_VERSION:
        raise bad(f"this trace is in format {version!r} (written by bpdebug {header.get('bpdebug', '?')}); "
                  f"this bpdebug reads format {FORMAT_VERSION} only",
                  "replay it with the bpdebug that recorded it, or record the program again")
    kinds = {"file": (str, type(None)), "nodes": int, "steps": int, "output": str, "set": dict,
             "data": dict, "source": str}
    for key, kind in kinds.items():
        if key not in header or not isinstance(header[key], kind):
            raise bad(f"the trace header has no valid '{key}'")
    try:
        header["set"] = {str(k): decode(v) for k, v in header["set"].items()}
    except (ValueError, TypeError) as err:
        raise bad(f"the trace header has a bad --set value: {err}") from None
    if not all(isinstance(s, int) for s in header["data"].values()):
        raise bad("the trace header has a bad 'data' entry")
    return header


# ---- reading -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    """One recorded step. `value` is the node's value (forward) or its upstream gradient
    (backward); the tuples have one entry per input (backward only)."""

    step: int                    # 1-based
    pass_: str
    node: str
    value: object
    local: tuple = ()
    contribution: tuple = ()
    accumulated: tuple = ()


def is_trace(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


class TraceFile:
    """A trace opened for reading: the header, an index of line offsets, events by step."""

    def __init__(self, path):
        self.path = str(path)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except OSError as err:
            raise BpError(f"cannot read {path}: {err.strerror or err}", filename=self.path) from None
        if not size:
            raise BpError("the file is empty: not a bpdebug trace", filename=self.path)
        self._buf = np.frombuffer(self._map, np.uint8)
        ends = np.flatnonzero(self._buf == ord("\n"))
        if not len(ends):
            raise BpError("not a bpdebug trace, or one cut off inside its header (line 1 has no end)",
                          Span(1, 1), None, self.path)
        self.header = parse_header(bytes(self._map[:ends[0]]), self.path)
        self._ends = ends
        self.steps = len(ends) - 1              # complete event lines
        self.warning = ""
        if size > ends[-1] + 1:
            line = len(ends) + 1
            self.warning = (f"{self.path}:{line}: the last line is incomplete (the recording was cut "
                            f"off there); replaying the {self.steps} complete steps before it")
        self.names: list = []
        self.event = lru_cache(maxsize=1 << 14)(self._event)

    # ---- checks needing the program --------------------------------------------------------
    def check(self, graph) -> None:
        """Check every line against the program, with numpy: its field count, its characters,
        and (where the program is all scalars) its length."""
        n = len(graph.nodes)
        self.n, self.names = n, [node.name for node in graph.nodes]
        self.arity = [len(node.inputs) for node in graph.nodes]
        scalar = all(node.shape == () for node in graph.nodes)
        if self.header["nodes"] != n:
            raise self.error(1, f"the header says {self.header['nodes']} nodes; its program has {n}")
        if self.steps > 2 * n:
            raise self.error(2 * n + 2, f"more events than the program has steps ({2 * n})")
        if not self.steps:
            return
        body = self._buf[self._ends[0] + 1:self._ends[-1] + 1]
        starts = self._ends[:-1] - self._ends[0]            # line starts, within body
        steps = np.arange(1, self.steps + 1)
        forward = steps <= n
        nodes = np.where(forward, steps - 1, 2 * n - steps)
        fields = np.where(forward, 1, 1 + 3 * np.asarray(self.arity, dtype=np.int64)[nodes])
        spaces = np.add.reduceat((body == ord(" ")).view(np.uint8), starts, dtype=np.int64)
        length = self._ends[1:] - self._ends[:-1] - 1
        bad = (spaces != fields - 1) | (length < SCALAR_WIDTH)
        if scalar:
            bad |= length != (SCALAR_WIDTH + 1) * fields - 1
        outside = np.flatnonzero(~_TEXT[body])
        if len(outside):
            bad[np.searchsorted(starts, outside[0], side="right") - 1] = True
        if scalar and not bad.any():   # every field 11 base64 characters or 11 dashes: check all
            cells = body.reshape(-1, SCALAR_WIDTH + 1)
            chars = cells[:, :SCALAR_WIDTH]
            wrong = ~np.isin(cells[:, SCALAR_WIDTH], (ord(" "), ord("\n")))
            wrong |= ~_BASE64[chars].all(axis=1) & ~(chars == ord(NONE)).all(axis=1)
            cell = np.flatnonzero(wrong)
            if len(cell):
                bad[np.searchsorted(starts, cell[0] * (SCALAR_WIDTH + 1), side="right") - 1] = True
        bad = np.flatnonzero(bad)
        if len(bad):
            s = int(bad[0]) + 1
            raise self.error(s + 1, f"corrupted event: step {s} ({self.pass_name(s)} "
                                    f"{self.names[int(nodes[s - 1])]}) should be {int(fields[s - 1])} "
                                    "value(s) separated by spaces")

    def error(self, line: int, message: str) -> BpError:
        return BpError(message, Span(line, 1), None, self.path)

    # ---- events ----------------------------------------------------------------------------
    def fields(self, step: int) -> list:
        """The raw fields of step `step`'s line (1-based)."""
        raw = self._map[self._ends[step - 1] + 1:self._ends[step]]
        try:
            return raw.decode("ascii").split(" ")
        except UnicodeDecodeError:
            raise self.error(step + 1, "corrupted event: the line is not text") from None

    def pass_name(self, step: int) -> str:
        return FORWARD if step <= self.n else BACKWARD

    def node_of(self, step: int) -> int:
        return step - 1 if step <= self.n else 2 * self.n - step

    def _event(self, step: int) -> Event:
        parts = self.fields(step)
        node = self.node_of(step)
        try:
            values = [decode(f) for f in parts]
        except ValueError as err:
            raise self.error(step + 1, f"corrupted event: {err}") from None
        name = self.names[node]
        if step <= self.n:
            return Event(step, FORWARD, name, values[0])
        k = self.arity[node]
        return Event(step, BACKWARD, name, values[0], tuple(values[1:1 + k]),
                     tuple(values[1 + k:1 + 2 * k]), tuple(values[1 + 2 * k:]))

    def forward_step(self, node: int) -> int:
        return node + 1

    def backward_step(self, node: int) -> int:
        return 2 * self.n - node
