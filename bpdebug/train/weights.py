"""Saved params: `--save OUT.npz` writes every param by name, `--load IN.npz` gives a program's
params the saved values (to train on, or to step through a trained model). An .npz file is
data: it is read with np.load(allow_pickle=False), never unpickled.
"""
from __future__ import annotations

import io
import math
import zipfile

import numpy as np

from ..files import MAX_DATA_BYTES, read_limited
from ..graph.arguments import size_error
from ..graph.data import npy_header
from ..lang import BpError, did_you_mean


def save_params(params: dict, path: str) -> None:
    try:
        with open(path, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in params.items()})
    except OSError as err:
        raise BpError(f"cannot write {path}: {err.strerror or err}") from None


def read_params(path: str) -> dict:
    """{name: float array} from an .npz file; a BpError for anything else."""
    try:
        raw = read_limited(path, MAX_DATA_BYTES, f"params file {path}")
    except OSError as err:
        raise BpError(f"cannot read {path}: {err.strerror or err}") from None
    if not raw.startswith(b"PK"):
        what = " (it is an .npy file: one array; --load reads params by name)" if raw.startswith(b"\x93NUMPY") else ""
        raise BpError(f"{path} is not an .npz file{what}",
                      hint="--save OUT.npz writes one, as does np.savez(OUT, **{name: value})")
    try:
        _check_sizes(raw, path)
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        what = "holds Python objects, which bpdebug never loads" if "pickle" in str(err) else f"is damaged ({err})"
        raise BpError(f"{path} {what}") from None
    for name, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise BpError(f"{path}: '{name}' holds {value.dtype} values; params are numbers")
    return {name: value.astype(float) for name, value in arrays.items()}


def _check_sizes(raw: bytes, path: str) -> None:
    """Refuse a member whose header promises more than the member holds, or more elements than
    a tensor may have: numpy allocates what the header says before it reads."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            with archive.open(info) as f:
                shape, dtype = npy_header(f)
                name = info.filename.removesuffix(".npy")
                if not dtype.hasobject and math.prod(shape) * dtype.itemsize > info.file_size - f.tell():
                    raise BpError(f"{path} is damaged: '{name}' promises shape {shape} of {dtype} "
                                  f"in {info.file_size} bytes")
                err = size_error(f"{path}: '{name}'", shape)
                if err is not None:
                    raise err


def load_params(session, path: str, skip=()) -> dict:
    """Give the session's params the values saved in `path` (except the names in `skip`, given
    otherwise); the values given. Every name must be a param of the program, of the same shape."""
    graph = session.graph
    params = {n.name: n for n in graph.nodes if n.kind == "param"}
    loaded = read_params(path)
    for name, value in loaded.items():
        node = params.get(name)
        if node is None:
            known = ", ".join(params) or "none"
            raise BpError(f"{path} holds '{name}', which is not a param of the program (its params: {known})",
                          hint=did_you_mean(name, params))
        if value.shape != node.shape:
            raise BpError(f"{path}: '{name}' has shape {value.shape}, but the program's {name} has shape "
                          f"{node.shape}")
    given = {name: value for name, value in loaded.items() if name not in skip}
    for name, value in given.items():
        session.set_leaf(name, value)
    return given
