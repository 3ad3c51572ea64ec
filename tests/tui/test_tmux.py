"""The real thing: `bpdebug FILE` in a tmux terminal, driven with keys, read off the screen."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from .conftest import SEED

SQUARE = "x = 3\nf = x * x\n"

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


class Terminal:
    """A program in a tmux pane of its own tmux server (a private socket: no other tmux
    sessions, no environment from whoever started the default server)."""

    def __init__(self, command: list[str], width: int, height: int, where, env: dict | None = None) -> None:
        self.socket = str(where / "tmux.sock")
        # COLUMNS and LINES, if set, would fix the size the program reads
        command = ["env", "-u", "COLUMNS", "-u", "LINES", *(f"{k}={v}" for k, v in (env or {}).items()), *command]
        shell = f"{shlex.join(command)}; echo \"[exited $?]\"; sleep 30"
        # The pane gets its size first, then the program: started with new-session, it could
        # read the terminal's size before tmux had set it.
        self._tmux("new-session", "-d", "-s", "test", "-x", str(width), "-y", str(height), "sleep 60")
        self._tmux("respawn-pane", "-k", "-t", "test", shell)

    def _tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, "-S", self.socket, *args], check=True, capture_output=True,
                              text=True).stdout

    def screen(self, colours: bool = False) -> str:
        """The pane as text; with `colours`, with the escape sequences that colour it."""
        return self._tmux("capture-pane", "-p", *(["-e"] if colours else []), "-t", "test")

    def keys(self, *keys: str) -> None:
        for key in keys:                 # one at a time, as a person types
            self._tmux("send-keys", "-t", "test", key)
            time.sleep(0.05)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"{pattern!r} never showed up; the screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True)


def row(name: str, value: str, grad: str) -> str:
    """A node list row: status mark, name, op, value, gradient."""
    return rf"[→←▶] {name}\s+\w+\s+{re.escape(value)}\s+{re.escape(grad)}\s"


def test_step_continue_and_quit_in_a_real_terminal(tmp_path):
    program = tmp_path / "chain_rule.bp"
    program.write_text(SEED)
    term = Terminal([sys.executable, "-m", "bpdebug", str(program)], 120, 40, tmp_path)
    try:
        term.wait_for(r"FORWARD\s+step 0 of 10")
        term.keys(*"sssss")
        screen = term.wait_for(r"step 5 of 10")
        assert re.search(row("q", "3", "·"), screen) and re.search(row("f", "-12", "1"), screen)
        assert "forward  q = 3, z = -4  →  f = -12" in screen
        term.keys("c")
        screen = term.wait_for(r"DONE\s+step 10 of 10")
        for name, value, grad in [("x", "-2", "-4"), ("y", "5", "-4"), ("z", "-4", "3"),
                                  ("q", "3", "-4"), ("f", "-12", "1")]:
            assert re.search(row(name, value, grad), screen), (name, screen)
        term.keys("r", "r", "r")                       # back to the backward step of q
        screen = term.wait_for(r"BACKWARD\s+step 7 of 10")
        assert "d(x + y)/dx = 1" in screen and "contribution -4 × 1 = -4" in screen
        term.keys("q")
        term.wait_for(r"\[exited 0\]")
    finally:
        term.close()


def test_80x24_and_the_command_line(tmp_path):
    program = tmp_path / "chain_rule.bp"
    program.write_text(SEED)
    term = Terminal([sys.executable, "-m", "bpdebug", str(program)], 80, 24, tmp_path)
    try:
        term.wait_for(r"step 0 of 10")
        term.keys(":", "break backward q", "Enter", "Escape")
        time.sleep(0.3)                               # a lone Escape, not the start of a key code
        term.keys("c")
        screen = term.wait_for(r"step 7 of 10")
        assert "1 ● backward q" in screen and "upstream df/dq = -4" in screen
        term.keys("q")
        term.wait_for(r"\[exited 0\]")
    finally:
        term.close()


def test_x_times_x_reads_3_then_6(tmp_path):
    """The fan-out moment: the two terms of f = x*x add 3, then 3 more, and the screen says so."""
    program = tmp_path / "square.bp"
    program.write_text(SQUARE)
    term = Terminal([sys.executable, "-m", "bpdebug", str(program)], 120, 40, tmp_path)
    try:
        term.wait_for(r"step 0 of 4")
        term.keys("s", "s", "s")                       # x, f, then the backward step of f
        screen = term.wait_for(r"BACKWARD\s+step 3 of 4")
        first = re.search(r"df/dx so far = 3 +\(from f \+3\)", screen)
        second = re.search(r"df/dx so far = 6 +\(from f \+3, from f \+3\)", screen)
        assert first and second and first.start() < second.start(), screen
        assert "contribution 1 × 3 = 3" in screen
        term.keys("s")
        screen = term.wait_for(r"DONE\s+step 4 of 4")
        assert re.search(row("x", "3", "6"), screen)
        term.keys("q")
        term.wait_for(r"\[exited 0\]")
    finally:
        term.close()


def test_no_color_draws_in_greys_only(tmp_path):
    program = tmp_path / "chain_rule.bp"
    program.write_text(SEED)
    term = Terminal([sys.executable, "-m", "bpdebug", str(program)], 100, 30, tmp_path, env={"NO_COLOR": "1"})
    try:
        term.wait_for(r"step 0 of 10")
        term.keys(*"ssssss")
        term.wait_for(r"step 6 of 10")
        screen = term.screen(colours=True)
        found = set()
        for code in re.findall(r"\x1b\[([0-9;]*)m", screen):
            found |= {("rgb", tuple(map(int, m.groups()))) for m in re.finditer(r"[34]8;2;(\d+);(\d+);(\d+)", code)}
            found |= {("256", int(m.group(1))) for m in re.finditer(r"[34]8;5;(\d+)", code)}
            plain = re.sub(r"[34]8;[25](;\d+)+", "", code)
            found |= {("16", int(c)) for c in plain.split(";") if c.isdigit() and (30 <= int(c) <= 47 or 90 <= int(c) <= 107)}
        assert found and all(_grey(kind, value) for kind, value in found), sorted(found)
        term.keys("q")
        term.wait_for(r"\[exited 0\]")
    finally:
        term.close()


def _grey(kind: str, value) -> bool:
    """Whether a colour of the terminal's (truecolour, the 256 palette, or one of the 16) is a
    grey, black or white."""
    if kind == "rgb":
        return value[0] == value[1] == value[2]
    if kind == "256":
        if value >= 232 or value in (0, 7, 8, 15):
            return True
        if 16 <= value <= 231:
            r, g, b = (value - 16) // 36, (value - 16) // 6 % 6, (value - 16) % 6
            return r == g == b
        return False
    return value % 10 in (0, 7) or value in (39, 49)      # black, white (and the defaults)
