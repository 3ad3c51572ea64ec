"""Data leaves: `data X = csv("file.csv", cols=[0, 1])` and `data X = npy("file.npy")`.

Rows are examples. A csv selection is always a matrix (rows, columns), one column included,
so a target column lines up with the (rows, 1) output of `dense(h, 1)` in a cost. Every data
leaf of a program has the same number of rows, so a mini-batch takes the same rows from each.
Files are data, never code: csv is parsed as text, npy is loaded with allow_pickle=False.
"""
from __future__ import annotations

import csv
import io
import math
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from ..files import MAX_DATA_BYTES, read_limited
from ..lang import BpError, ast, did_you_mean
from .arguments import check_size, column, max_elements, size_error

LOADERS = ("csv", "npy")
_FILES_REFUSED: ContextVar[str | None] = ContextVar("files_refused", default=None)


@contextmanager
def files_refused(why: str):
    """Build with no data file read: a data leaf must get its value from outside, else the
    build fails saying `why`. A replay builds the program a trace holds this way, so a trace
    cannot make bpdebug open a path it names."""
    token = _FILES_REFUSED.set(why)
    try:
        yield
    finally:
        _FILES_REFUSED.reset(token)


def load_data(e, builder) -> np.ndarray:
    """The value of the expression after `data NAME =`, as a float array; errors are located."""
    refused = _FILES_REFUSED.get()
    if refused:
        raise builder.error(f"data '{builder.target}' would be read from a file: {refused}", e.span)
    if not (isinstance(e, ast.Call) and e.func in LOADERS):
        raise builder.error("data comes from a file: csv(\"file.csv\", cols=[0, 1]) or npy(\"file.npy\")",
                            e.span, did_you_mean(e.func, LOADERS) if isinstance(e, ast.Call) else None)
    if len(e.args) != 1 or not isinstance(e.args[0], ast.Str):
        raise builder.error(f"{e.func}() takes the file name as a string, such as {e.func}(\"data.{e.func}\")",
                            e.span)
    accepted = ("cols",) if e.func == "csv" else ()
    for key, _value, span in e.kwargs:
        if key not in accepted:
            raise builder.error(f"{e.func}() has no argument '{key}'" +
                                (f" (it accepts {', '.join(accepted)})" if accepted else ""),
                                span, did_you_mean(key, accepted))
    path = Path(builder.base_dir or Path.cwd()) / e.args[0].value
    builder.data_files.append(path)
    if e.func == "csv":
        cols = next((v for k, v, _ in e.kwargs if k == "cols"), None)
        value = _csv(path, e, cols, builder)
    else:
        value = _npy(path, e, builder)
    _check_rows(builder, value, e.span)
    return value


def row_count(named_shapes: dict) -> int:
    """The number of rows every data leaf shares; ValueError naming two that differ."""
    rows = {}
    for name, shape in named_shapes.items():
        if not shape:
            raise ValueError(f"data '{name}' is a single number; data leaves hold rows of examples")
        rows.setdefault(shape[0], name)
    if len(rows) > 1:
        (n1, a), (n2, b) = list(rows.items())[:2]
        raise ValueError(f"data '{b}' has {n2} rows but '{a}' has {n1}; rows are examples, so every "
                         "data leaf needs the same number of rows")
    return next(iter(rows), 0)


def _check_rows(builder, value, span) -> None:
    shapes = {n.name: n.shape for n in builder.nodes if n.kind == "data"}
    shapes[builder.target] = value.shape
    try:
        row_count(shapes)
    except ValueError as err:
        raise builder.error(str(err), span) from None


def _read(path: Path, e, builder) -> bytes:
    name = e.args[0].value
    try:
        return read_limited(path, MAX_DATA_BYTES, f"data file '{name}'")
    except OSError as err:
        raise builder.error(f"cannot read data file '{name}': {err.strerror or err}", e.args[0].span,
                            f"the path is relative to the program: {path}") from None
    except BpError as err:
        raise builder.error(err.message, e.args[0].span) from None


# ---- csv --------------------------------------------------------------------------------
def _csv(path: Path, e, cols, builder) -> np.ndarray:
    name = e.args[0].value
    raw = _read(path, e, builder)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise builder.error(f"'{name}' is not a UTF-8 text file (byte {err.start})", e.args[0].span) from None
    rows = _rows(text)
    first = next(rows, None)
    if first is None:
        raise builder.error(f"'{name}' has no rows", e.args[0].span)
    header = first[1] if not any(_is_number(c) for c in first[1]) else None
    picked = _columns(cols, header, len(first[1]), name, builder)
    if (text.count("\n") + 1) * len(picked) > max_elements():   # more lines than that: count rows
        rows = sum(1 for _ in _rows(text)) - (header is not None)
        check_size(builder, f"data '{builder.target}'", (rows, len(picked)), e.span)
    # numpy's parser for the common case (every cell a number, every row as wide as the
    # first); otherwise the slow path checks each row and names the first bad cell.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # "input contained no data" is the slow path's to say
            value = np.loadtxt(io.StringIO(text), delimiter=",", quotechar='"', comments=None, ndmin=2,
                               skiprows=first[0] if header is not None else 0)
    except ValueError:
        value = None
    if value is not None and len(value) and value.shape[1] == len(first[1]):
        value = value[:, picked]
        if np.all(np.isfinite(value)):
            return value
    data = list(rows) if header is not None else [first, *rows]
    return _checked(data, header, len(first[1]), picked, name, e, builder)


def _rows(text: str):
    """(line number, stripped cells) for each row that is not blank."""
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        cells = [c.strip() for c in row]
        if any(cells):
            yield reader.line_num, cells


def _checked(data: list, header, width: int, picked: list, name: str, e, builder) -> np.ndarray:
    """The slow path: every row checked, the first problem raised with its line and column."""
    if not data:
        raise builder.error(f"'{name}' has a header row but no data rows", e.args[0].span)
    for line, row in data:
        if len(row) != width:
            raise builder.error(f"'{name}' line {line} has {len(row)} cells, but "
                                f"{'the header' if header is not None else 'the first row'} has {width}",
                                e.span)
    cells = [[row[c] for c in picked] for _, row in data]
    for (line, _), row in zip(data, cells):
        for k, cell in enumerate(row):
            where = f"'{name}' line {line}, column " + (f"'{header[picked[k]]}' (index {picked[k]})"
                                                          if header is not None else f"index {picked[k]}")
            if not _is_number(cell):
                shown = f"'{cell}'" if cell else "an empty cell"
                raise builder.error(f"{where}: {shown} is not a number", e.span)
            if not math.isfinite(float(cell)):
                raise builder.error(f"{where}: {cell} is not a finite number; data must be finite",
                                    e.span, "remove or fill in the missing values before training")
    return np.array(cells, dtype=float)


def _columns(cols, header, width: int, name: str, builder) -> list[int]:
    """Column indices for `cols=`: all columns without it; items are indices or header names."""
    if cols is None:
        return list(range(width))
    items = cols.items if isinstance(cols, ast.Tensor) else (cols,)
    if not items:
        raise builder.error("cols= needs at least one column", cols.span)
    picked = []
    for item in items:
        if isinstance(item, ast.Str):
            if header is None:
                raise builder.error(f"'{name}' has no header row, so its columns have no names; "
                                    "choose them by index, such as cols=[0, 1]", item.span)
            if item.value not in header:
                raise builder.error(f"'{name}' has no column '{item.value}' (its columns: "
                                    f"{', '.join(header)})", item.span, did_you_mean(item.value, header))
            picked.append(header.index(item.value))
        elif isinstance(item, ast.Num):
            index = column(builder, item)
            if not -width <= index < width:
                raise builder.error(f"'{name}' has no column {index}: it has {width} column(s), "
                                    f"indices 0 to {width - 1}", item.span)
            picked.append(index % width)
        else:
            raise builder.error("cols= takes column indices or header names, such as cols=[0, 1] "
                                "or cols=[\"x1\", \"x2\"]", item.span)
    return picked


def _is_number(cell: str) -> bool:
    if "_" in cell:  # float() reads 1_000, numpy does not
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ---- npy --------------------------------------------------------------------------------
class NpyError(ValueError):
    def __init__(self, what: str, hint: str | None = None):
        super().__init__(what)
        self.hint = hint


def npy_header(f) -> tuple:
    """(shape, dtype) of the .npy file open in `f`, read without reading the array."""
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _fortran, dtype = read_header(f)  # 3.0 differs from 2.0 only in field names' encoding
    return shape, dtype


def decode_npy(raw: bytes, what: str = "its array") -> np.ndarray:
    """The numbers of an .npy file's bytes, loaded safely (never a pickle), as float64;
    NpyError saying what is wrong with the file ("is not an .npy file", "is damaged: ...",
    "is too large: `what` would have shape ...")."""
    if not raw.startswith(b"\x93NUMPY"):
        hint = "save one array with np.save" if raw.startswith(b"PK") else None
        raise NpyError("is not an .npy file" + (" (it is an .npz archive)" if hint else ""), hint)
    try:
        # Refuse an npy whose header promises more than its bytes hold, or more than a tensor
        # may hold: numpy allocates what the header says before it reads (a 100-byte file can
        # ask for terabytes).
        f = io.BytesIO(raw)
        shape, dtype = npy_header(f)
        count = math.prod(shape)
        if not dtype.hasobject and count * dtype.itemsize > len(raw) - f.tell():
            raise NpyError(f"is damaged: its header promises {count} values of {dtype} (shape {shape}) but "
                           f"the file holds {len(raw) - f.tell()} bytes of data")
        too_big = size_error(what, shape)
        if too_big is not None:
            raise NpyError(f"is too large: {too_big.message}", too_big.hint)
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
    except NpyError:
        raise
    except (ValueError, OSError, EOFError) as err:
        raise NpyError("holds Python objects, which bpdebug never loads" if "pickle" in str(err)
                       else f"is damaged ({err})") from None
    if loaded.dtype.kind not in "biuf":
        raise NpyError(f"holds {loaded.dtype} values; data must be numbers")
    return loaded.astype(float)


def _npy(path: Path, e, builder) -> np.ndarray:
    name = e.args[0].value
    try:
        value = decode_npy(_read(path, e, builder), f"data '{builder.target}'")
    except NpyError as err:
        raise builder.error(f"'{name}' {err}", e.args[0].span, err.hint) from None
    if value.ndim == 0:
        raise builder.error(f"'{name}' holds a single number; data leaves hold rows of examples", e.span)
    bad = np.argwhere(~np.isfinite(value))
    if bad.size:
        where = ", ".join(str(int(i)) for i in bad[0])
        raise builder.error(f"'{name}' has {value[tuple(bad[0])]} at index [{where}] (row {int(bad[0][0])}); "
                            "data must be finite", e.span)
    return value
