"""The trace file format: how values are written, the header, and reading a trace by step.

A trace is ASCII text, one record a line. Line 1 is a JSON header (`header_line` writes it):

    {"bpdebug_trace": 1, "bpdebug": "0.1.0", "file": "p.bp", "nodes": 5, "steps": 10,
     "output": "f", "set": {"x": "AAAAAAAAAMA"}, "data": {"X": 1}, "source": "x = -2\n..."}

`bpdebug_trace` is the format version (every trace starts with `{"bpdebug_trace"`); `file` the
program's file name or null, `nodes` N the program's node count and `steps` 2N; `output` the
output node's name; `set` the leaf values given from outside, encoded as below; `data` the step
whose line holds each data leaf's value; `source` the whole program. A replay builds the graph
from `source` with those values and reads no file (`parse_header` checks every key).

Line s + 1 is the event of step s, counted from 1 over both passes. With the N nodes in the
program's (topological) order, step s <= N is the forward step of node s-1 and step s > N the
backward step of node 2N-s. Its line is the step's values, separated by single spaces:

    forward:  <value>
    backward: <upstream> <local>*n <contribution>*n <accumulated>*n

with n the number of the node's inputs, in the program's order. A value is a scalar as 11
base64 characters (its 8 little-endian float64 bytes, `=` padding dropped), a tensor as
`<shape>:<base64 of its little-endian float64 bytes>` (shape `2x3`, `4`, `0`), or 11 dashes
for none (so a line of scalars has fields of one width). Nothing is pickled or evaluated:
reading a value is base64 and `np.frombuffer`.

Opening a trace checks every line, so that reading one never fails later (in the TUI, say): a
few passes with numpy find the line ends (the index) and check each line's field count and
characters, and for a program of scalars every field; a program with tensors has each event
decoded once and checked against its node's shape. After that an event is decoded when it is
asked for (and kept in a cache).
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import mmap
import re
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..files import MAX_TEXT_BYTES, MiB
from ..lang import BpError, Span

FORMAT_VERSION = 1
HEADER_MOST = 8 * MAX_TEXT_BYTES     # line 1 holds the program, JSON-escaped
_BLOCK = 4 * MiB                     # bytes searched for line ends at a time: an index of 32 MB at most
MAGIC = b'{"bpdebug_trace"'     # every trace starts with these bytes (a program cannot)
_TEXT = np.zeros(256, bool)         # the bytes an event line may hold (with its newline)
_BASE64 = np.zeros(256, bool)
_BASE64[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", np.uint8)] = True
_TEXT[np.frombuffer(b"=-: \n", np.uint8)] = True
_TEXT |= _BASE64
NONE = "-"             # a run of these is no value
SCALAR_WIDTH = 11
FORWARD, BACKWARD = "forward", "backward"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")   # as the grammar's NAME
_SHAPE = re.compile(r"[0-9]{1,12}(x[0-9]{1,12}){0,31}")   # 2x3, 4, 0; numpy holds 32 axes at least


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
            raise ValueError(f"'{printable(field[:20])}' is not a value")
        return struct.unpack("<d", _base64(field + "=", field))[0]
    if not _SHAPE.fullmatch(shape):
        raise ValueError(f"'{printable(shape[:20])}' is not a shape")
    dims = tuple(int(d) for d in shape.split("x"))
    raw = _base64(data, field)
    if len(raw) != 8 * math.prod(dims):          # Python integers: no product wraps around
        raise ValueError(f"shape {shape} does not fit {len(raw) / 8:g} numbers")
    return np.frombuffer(raw, dtype="<f8").reshape(dims).astype(float)


def _base64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:     # binascii.Error, or a character outside ASCII
        raise ValueError(f"'{printable(field[:20])}' is not base64") from None


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
    # ops written in Python (a replay asks the user for the model and the ops again)
    header.update(graph.origin.trace_fields() if graph.origin is not None else {})
    return json.dumps(header) + "\n"


def _plain(v):
    return float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float)


def parse_header(raw: bytes, path: str) -> dict:
    """The header on line 1, every key checked for its type and range: a trace may come from
    anyone, so a wrong one is a located error, never a crash further on."""
    def bad(message, hint=None):
        return BpError(message, Span(1, 1), None, path, hint)

    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):   # nested too deep for json: not ours
        header = None
    if not isinstance(header, dict) or "bpdebug_trace" not in header:
        raise bad("not a bpdebug trace: line 1 is not a trace header",
                  "record one with `bpdebug run FILE --trace OUT`")
    version = header["bpdebug_trace"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        written = header.get("bpdebug")
        written = _short(written) if isinstance(written, str) else "?"
        raise bad(f"this trace is in format {_short(version)} (written by bpdebug {written}); "
                  f"this bpdebug reads format {FORMAT_VERSION} only",
                  "replay it with the bpdebug that recorded it, or record the program again")
    for key, kind, wanted in _HEADER_KEYS:
        value = header.get(key, ...)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise bad(f"the trace header has no valid '{key}' ({wanted} expected)")
    nodes = header["nodes"]
    if nodes < 1 or header["steps"] != 2 * nodes:
        raise bad(f"the trace header's 'nodes' ({_short(nodes)}) and 'steps' ({_short(header['steps'])}) "
                  "do not fit: a program has at least one node and two steps a node")
    if "\0" in (header["file"] or "") or len(header["file"] or "") > 4096:
        raise bad("the trace header's 'file' is not a file name")
    for key in ("set", "data"):
        odd = next((name for name in header[key] if not _NAME.fullmatch(name)), None)
        if odd is not None:
            raise bad(f"the trace header's '{key}' holds '{_short(odd)}', which is not a name")
    values = {}
    for name, field in header["set"].items():
        try:
            if not isinstance(field, str):
                raise ValueError(f"a value is written as a string, not {type(field).__name__}")
            values[name] = decode(field)
        except ValueError as err:
            raise bad(f"the trace header has a bad 'set' value for '{name}': {err}") from None
    header["set"] = values
    for name, step in header["data"].items():
        if not isinstance(step, int) or isinstance(step, bool) or not 1 <= step <= nodes:
            raise bad(f"the trace header's 'data' gives '{name}' the step {_short(step)}: "
                      f"a forward step from 1 to {nodes} expected")
    return header


_HEADER_KEYS = (("file", (str, type(None)), "a file name or null"), ("nodes", int, "a whole number"),
                ("steps", int, "a whole number"), ("output", str, "a node name"),
                ("set", dict, "an object of values"), ("data", dict, "an object of steps"),
                ("source", str, "the program's text"))


def _short(x) -> str:
    """A header entry for a message: anything a trace holds, cut short."""
    text = x if isinstance(x, str) else repr(x) if isinstance(x, (int, float)) else f"a {type(x).__name__}"
    return printable(text if len(text) <= 30 else text[:27] + "...")


def printable(text: str) -> str:
    """Text from a trace, safe to print: control characters, other non-ASCII characters and
    lone surrogates escaped."""
    return text if text.isascii() and text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _fits(value, shape: tuple) -> bool:
    """`value` (a decoded field) is none or has `shape`."""
    return value is None or (type(value) is float if shape == () else
                             isinstance(value, np.ndarray) and value.shape == shape)


def _shape_text(shape: tuple) -> str:
    return "x".join(map(str, shape)) if shape else "() (a scalar)"


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
        first = self._map.find(b"\n", 0, HEADER_MOST + 1)
        if first < 0:
            raise BpError(f"line 1 is longer than {HEADER_MOST // MiB} MiB: not a bpdebug trace"
                          if size > HEADER_MOST else
                          "not a bpdebug trace, or one cut off inside its header (line 1 has no end)",
                          Span(1, 1), None, self.path)
        self.header = parse_header(bytes(self._map[:first]), self.path)
        self._ends = np.array([first])
        self._scanned = first + 1              # the bytes searched for line ends so far
        self.steps = 0                         # complete event lines found so far
        self.warning = ""
        self.names: list = []
        self.event = lru_cache(maxsize=1 << 14)(self._event)

    def index(self, steps: int) -> int:
        """Find the lines of the first `steps` steps (those the file holds); how many it holds.
        Lines are found a block at a time and only as far as asked: a file of a billion empty
        lines costs no index of a billion entries."""
        found = [self._ends]
        while self.steps < steps and self._scanned < len(self._buf):
            stop = min(len(self._buf), self._scanned + _BLOCK)
            ends = np.flatnonzero(self._buf[self._scanned:stop] == ord("\n"))[:steps - self.steps]
            found.append(ends + self._scanned)
            self.steps += len(ends)
            self._scanned = stop if self.steps < steps else self._scanned + int(ends[-1]) + 1
        self._ends = np.concatenate(found) if len(found) > 1 else self._ends
        if self._scanned == len(self._buf) and len(self._buf) > self._ends[-1] + 1 and not self.warning:
            self.warning = (f"{self.path}:{len(self._ends) + 1}: the last line is incomplete (the "
                            f"recording was cut off there); replaying the {self.steps} complete steps "
                            "before it")
        return self.steps

    # ---- checks needing the program --------------------------------------------------------
    def check(self, graph) -> None:
        """Check every line against the program, so that reading a trace that opened never
        fails: with numpy, each line's field count and characters, and where the program is all
        scalars, its length and every field; where it has tensors, each event decoded."""
        n = len(graph.nodes)
        self.n, self.names = n, [node.name for node in graph.nodes]
        self.arity = [len(node.inputs) for node in graph.nodes]
        self.shapes = [node.shape for node in graph.nodes]
        self.inputs = [node.inputs for node in graph.nodes]
        scalar = all(node.shape == () for node in graph.nodes)
        if self.header["nodes"] != n:
            raise self.error(1, f"the header says {_short(self.header['nodes'])} nodes; its program has {n}")
        if self.index(2 * n + 1) > 2 * n:
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
        bad = (spaces != fields - 1) | (length < 3 * fields - 1)     # a field is 2 characters at least ("0:")
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
        if scalar:                     # a forward line is a value: base64, not dashes
            missing = np.flatnonzero(body[starts[:min(n, self.steps)]] == ord(NONE))
            if len(missing):
                raise self._misfit(int(missing[0]) + 1, "value", None, ())
        else:                          # tensors: every event decoded once, and let go
            for step in range(1, self.steps + 1):
                self._event(step)

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
            if values[0] is None or not _fits(values[0], self.shapes[node]):
                raise self._misfit(step, "value", values[0], self.shapes[node])
            return Event(step, FORWARD, name, values[0])
        k = self.arity[node]
        if not _fits(values[0], self.shapes[node]):
            raise self._misfit(step, "upstream gradient", values[0], self.shapes[node])
        for at, v in enumerate(values[1:]):
            shape = self.shapes[self.inputs[node][at % k]]
            if not _fits(v, shape):
                what = ("local derivative", "contribution", "accumulated gradient")[at // k]
                raise self._misfit(step, f"{what} for input {at % k + 1}", v, shape)
        return Event(step, BACKWARD, name, values[0], tuple(values[1:1 + k]),
                     tuple(values[1 + k:1 + 2 * k]), tuple(values[1 + 2 * k:]))

    def _misfit(self, step: int, what: str, value, shape: tuple) -> BpError:
        found = "no value" if value is None else f"shape {_shape_text(np.shape(value))}"
        return self.error(step + 1, f"corrupted event: step {step} ({self.pass_name(step)} "
                                    f"{self.names[self.node_of(step)]}) holds {found} as its {what}, "
                                    f"where the program has shape {_shape_text(shape)}")

    def forward_step(self, node: int) -> int:
        return node + 1

    def backward_step(self, node: int) -> int:
        return 2 * self.n - node
