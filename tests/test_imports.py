"""The engine never imports a UI: checked in a fresh interpreter, where sys.modules is honest."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def modules_after(code: str) -> set:
    """The top-level package names imported by running `code` in a new interpreter."""
    probe = code + "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split("\n")[-2].split())


@pytest.mark.parametrize("code", [
    "import bpdebug.engine",
    "import bpdebug.commands",
    "import bpdebug\ns = bpdebug.load('x = 2\\nf = x * x')\ns.run()\nassert s.grad('x') == 4.0",
    "import bpdebug\nfrom bpdebug.commands import execute\ns = bpdebug.load('x = 2\\nf = x * x')\n"
    "for c in ('break backward x', 'watch grad(x)', 'c', 'p x', 'list', 'where', 'back', 'help'):\n"
    "    assert not execute(s, c).error",
], ids=["engine", "commands", "load-and-run", "commands-executed"])
def test_the_engine_imports_neither_textual_nor_rich(code):
    loaded = modules_after(code)
    assert "bpdebug" in loaded and "numpy" in loaded
    assert "textual" not in loaded and "rich" not in loaded


@pytest.mark.parametrize("argv", [
    ["run", "--json", "examples/chain_rule.bp"],
    ["script", "examples/chain_rule.bp", "-c", "c", "-c", "p x"],
    ["graph", "examples/network_232.bp", "--format", "svg", "--expand"],
])
def test_headless_commands_do_not_import_textual(argv):
    loaded = modules_after(f"import bpdebug.cli\nassert bpdebug.cli.main({argv!r}) == 0")
    assert "textual" not in loaded


def _import_graph() -> dict:
    """module -> the bpdebug modules it imports, at the top or inside a function, read from
    the source (`from . import kinks` is an edge to the module bpdebug.check.kinks)."""
    import ast

    names = {}
    for path in (ROOT / "bpdebug").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    edges = {}
    for module, path in names.items():
        is_package = path.name == "__init__.py"
        edges[module] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Imports under `if TYPE_CHECKING:` are for annotations: they never run.
        skipped = {id(n) for t in ast.walk(tree) if isinstance(t, ast.If)
                   and getattr(t.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(t)}
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in names:
                        edges[module].add(sub)
                    elif target in names:
                        edges[module].add(target)
            elif isinstance(node, ast.Import):
                edges[module] |= {a.name for a in node.names if a.name in names}
        edges[module].discard(module)
    return edges


def test_no_two_modules_import_each_other():
    """No import cycles (design.md): found by depth-first search with an explicit stack."""
    edges = _import_graph()
    assert "bpdebug.check.breaks" in edges["bpdebug.engine"]  # the edges are read at all
    state, cycles = {}, []
    for start in sorted(edges):
        if start in state:
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = "open"
        while stack:
            module, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[module] = "done"
            elif state.get(child) == "open":
                cycles.append(path[path.index(child):] + [child])
            elif child not in state:
                state[child] = "open"
                path.append(child)
                stack.append((child, iter(sorted(edges[child]))))
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)
