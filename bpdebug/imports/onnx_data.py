"""The numbers an ONNX model is run on: its graph inputs (from --inputs FILE.npz, --set, or seeded
standard-normal values of the declared shape), and the targets or labels of --loss (.npy files).
Files are read as data: never a pickle, never more than the size limit."""
from __future__ import annotations

import io
import zipfile

import numpy as np

from ..files import MAX_DATA_BYTES, read_limited
from ..graph.arguments import size_error
from ..graph.data import NpyError, decode_npy
from ..lang import BpError

def _raw(path: str, what: str) -> bytes:
    try:
        return read_limited(path, MAX_DATA_BYTES, f"{what} {path}")
    except OSError as err:
        raise BpError(f"{what}: cannot read {path}: {err.strerror or err}") from None


def _checked(value: np.ndarray, path: str, what: str) -> np.ndarray:
    bad = np.argwhere(~np.isfinite(value))
    if bad.size:
        raise BpError(f"{what}: {path} has {value[tuple(bad[0])]} at index {list(map(int, bad[0]))}; "
                      "the numbers must be finite")
    return value


def load_array(path: str, what: str) -> np.ndarray:
    """One array saved with np.save."""
    try:
        return _checked(decode_npy(_raw(path, what)), path, what)
    except NpyError as err:
        raise BpError(f"{what}: {path} {err}", hint=err.hint) from None


def load_arrays(path: str, what: str = "--inputs") -> dict:
    """The arrays of an .npz archive (np.savez), by name."""
    raw = _raw(path, what)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
    except zipfile.BadZipFile:
        hint = "save them with np.savez(FILE, name=array, ...)" if raw.startswith(b"\x93NUMPY") else None
        raise BpError(f"{what}: {path} is not an .npz archive", hint=hint) from None
    if sum(m.file_size for m in members) > MAX_DATA_BYTES:
        raise BpError(f"{what}: {path} unpacks to more than {MAX_DATA_BYTES // 2 ** 20} MiB, more than bpdebug reads")
    arrays = {}
    for m in members:
        name = m.filename[:-4] if m.filename.endswith(".npy") else m.filename
        try:
            arrays[name] = _checked(decode_npy(archive.read(m)), f"{path}[{name}]", what)
        except NpyError as err:
            raise BpError(f"{what}: '{name}' in {path} {err}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise BpError(f"{what}: '{name}' in {path} is damaged ({err})") from None
    return arrays


def model_inputs(importer, graph) -> list[tuple]:
    """[(ONNX name, shown name, value)] for the graph inputs that are not initializers. A given
    value fixes the symbolic dimensions it fills; the others are the batch (axis 0) or must be
    given."""
    from onnx import helper

    declared = []
    for v in graph.input:
        if v.name in importer.initializers:
            continue
        t = v.type.tensor_type
        if not v.type.HasField("tensor_type"):
            raise importer.error(f"input '{v.name}' is not a tensor")
        kind = helper.tensor_dtype_to_np_dtype(t.elem_type).kind if t.elem_type else "f"
        if kind != "f":
            raise importer.error(f"input '{v.name}' holds {helper.tensor_dtype_to_string(t.elem_type)} values; "
                                 "bpdebug imports models whose inputs are floating point numbers")
        dims = None if not t.HasField("shape") else \
            [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        declared.append((v.name, importer.names(v.name), dims))
    sizes: dict = {}
    given = {}
    for raw, shown, dims in declared:
        value = importer.given(shown, raw)
        if value is not None:
            given[raw] = _fits(importer, shown, dims, value, sizes)
    rng = np.random.default_rng(0)
    out = []
    for raw, shown, dims in declared:
        value = given.get(raw)
        if value is None:
            value = rng.standard_normal(_shape(importer, shown, dims, sizes))
        out.append((raw, shown, value))
    return out


def _show(dims) -> str:
    return "(" + ", ".join(str(d) if d is not None else "?" for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _fits(importer, shown: str, dims, value: np.ndarray, sizes: dict) -> np.ndarray:
    if dims is None:
        return value
    ok = value.ndim == len(dims) and all(not isinstance(d, int) or d == n for d, n in zip(dims, value.shape))
    if not ok:
        raise importer.error(f"input '{shown}' is declared {_show(dims)}; the value given has shape {value.shape}")
    for d, n in zip(dims, value.shape):
        if isinstance(d, str):
            if sizes.setdefault(d, n) != n:
                raise importer.error(f"input '{shown}' has {n} along '{d}', another input {sizes[d]}")
    return value


def _shape(importer, shown: str, dims, sizes: dict) -> tuple:
    if dims is None:
        raise importer.error(f"input '{shown}' has no declared shape: give its values with --inputs or --set")
    shape = []
    for axis, d in enumerate(dims):
        if isinstance(d, int) and d > 0:
            shape.append(d)
        elif isinstance(d, str) and d in sizes:
            shape.append(sizes[d])
        elif axis == 0:             # the batch
            shape.append(importer.batch or 1)
            if isinstance(d, str):
                sizes[d] = shape[0]
        else:
            raise importer.error(f"input '{shown}' is declared {_show(dims)}: the size of axis {axis} is not "
                                 "known; give its values with --inputs or --set")
    too_big = size_error(f"input '{shown}'", shape)       # the one limit on every tensor
    if too_big is not None:
        raise importer.error(too_big.message, f"{too_big.hint}; or a smaller --batch, or values given with --inputs")
    return tuple(shape)
