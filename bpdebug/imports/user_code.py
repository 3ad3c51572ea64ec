"""Pointing at the line of the user's own Python file where their code went wrong: the frame in
their file, never bpdebug's or numpy's."""
from __future__ import annotations

import ast
import inspect
import site
import sysconfig
import textwrap
import traceback
from pathlib import Path


_OURS = Path(__file__).resolve().parent.parent


def _libraries() -> tuple:
    paths = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else None)
    return tuple(Path(p).resolve() for p in paths if p)


_LIBRARIES = _libraries()


def _is_users(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    path = Path(filename).resolve()
    return not any(path.is_relative_to(d) for d in (_OURS, *_LIBRARIES))


def shown_path(filename: str) -> str:
    """A path relative to the working directory when it is inside it, as users typed it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename


def _frame_text(filename: str, line: int, function: str, text: str | None) -> str:
    out = f"  {shown_path(filename)}:{line}, in {function}"
    return out + (f"\n      {text.strip()}" if text and text.strip() else "")


def raised_at(err: BaseException, fallback) -> str:
    """Where `err` was raised in the user's code: the deepest frame of their own files (their
    function's definition when every frame is a library's)."""
    frames = traceback.extract_tb(err.__traceback__)
    for frame in reversed(frames):
        if _is_users(frame.filename):
            return _frame_text(frame.filename, frame.lineno, frame.name, frame.line)
    return defined_at(fallback)


def defined_at(fn) -> str:
    """Where a function hands its answer back: its `return` line when it has exactly one, else
    the line it is defined on."""
    code = getattr(inspect.unwrap(fn), "__code__", None) if fn is not None else None
    if code is None:
        return ""
    line, text = code.co_firstlineno, None
    try:
        lines, first = inspect.getsourcelines(fn)
        body = ast.parse(textwrap.dedent("".join(lines))).body[0]
        inner = list(ast.walk(body))[1:]
        returns = [n for n in inner if isinstance(n, ast.Return)]
        if len(returns) == 1 and not any(isinstance(n, (ast.FunctionDef, ast.Lambda)) for n in inner):
            line = first + returns[0].lineno - 1
        text = lines[line - first]
    except (OSError, TypeError, SyntaxError, IndexError):
        text = None
    return _frame_text(code.co_filename, line, code.co_name, text)
