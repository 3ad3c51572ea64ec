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

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


class Terminal:
    """A program in a tmux pane of its own tmux server (a private socket: no other tmux
    sessions, no environment from whoever started the default server)."""

    def __init__(self, command: list[str], width: int, height: int, where) -> None:
        self.socket = str(where / "tmux.sock")
        # COLUMNS and LINES, if set, would fix the size the program reads
        command = ["env", "-u", "COLUMNS", "-u", "LINES", *command]
        shell = f"{shlex.join(command)}; echo \"[exited $?]\"; sleep 30"
        # The pane gets its size first, then the program: started with new-session, it could
        # read the terminal's size before tmux had set it.
        self._tmux("new-session", "-d", "-s", "test", "-x", str(width), "-y", str(height), "sleep 60")
        self._tmux("respawn-pane", "-k", "-t", "test", shell)

    def _tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, "-S", self.socket, *args], check=True, capture_output=True,
                              text=True).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "test")

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
        assert "1 ● backward q" in screen and "upstream dL/dq = -4" in screen
        term.keys("q")
        term.wait_for(r"\[exited 0\]")
    finally:
        term.close()
