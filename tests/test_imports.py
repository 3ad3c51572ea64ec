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
