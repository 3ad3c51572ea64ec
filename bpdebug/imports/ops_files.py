"""`--ops FILE.py`: the user's files of ops written in Python, imported as `python FILE` would
(their folder on sys.path), each error a BpError naming the file and line."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

from ..lang import BpError, Span
from .python_ops import PythonOp
from .user_code import raised_at


def load_ops_files(paths) -> list:
    """The ops (PythonOp objects) defined at the top level of each file, in file order."""
    found: dict[str, tuple] = {}
    for path in paths:
        module = _run_file(path)
        ops = [v for v in vars(module).values() if isinstance(v, PythonOp)]
        if not ops:
            raise BpError(f"{path} defines no op: decorate a function with @op "
                          "(`from bpdebug import op`), or make one with op.from_cache(forward, backward)",
                          filename=path)
        for o in ops:
            if o.name in found and found[o.name][1] is not o:
                raise BpError(f"two ops are named '{o.name}': in {found[o.name][0]} and in {path}",
                              filename=path, hint="give one of them another name with @op(name=...)")
            found[o.name] = (path, o)
    return [o for _, o in found.values()]


def _run_file(path: str):
    """Import a user's file as a module, as `python FILE` would find its neighbours."""
    file = Path(path)
    if not file.is_file():
        raise BpError(f"cannot read {path}: " + ("it is a directory" if file.is_dir() else "no such file"),
                      filename=path)
    if file.suffix not in importlib.machinery.SOURCE_SUFFIXES:    # Python has no loader for it
        raise BpError(f"--ops takes files of Python (FILE.py); {path} is not one", filename=path)
    try:
        source = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise BpError(f"cannot read {path}: {err}", filename=path) from None
    try:
        compile(source, str(file), "exec")
    except SyntaxError as err:
        span = Span(err.lineno or 1, err.offset or 1) if err.lineno else None
        raise BpError(f"{path} is not valid Python: {err.msg}", span, source, path) from None
    name = f"bpdebug_ops_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:
        del sys.modules[name]
        raise BpError(f"{path} raised {type(err).__name__} while loading: {err}\n{raised_at(err, None)}",
                      filename=path) from None
    return module
