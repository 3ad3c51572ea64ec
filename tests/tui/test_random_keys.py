"""The TUI survives random keys (issue 13): seeded random presses on the network and XOR examples,
opened as `bpdebug FILE` opens them (XOR with its Trainer): the footer's keys (q too), arrows,
page keys, Tab, Esc, Ctrl+P, `:` with a command or random text and Enter, `?`, with the
terminal resized from 10x5 to 250x80 along the way. After every burst of keys the app is still
running or has quit cleanly (`q`, `:quit`, the palette's Quit: it is opened again); no exception
ends it. At the end it still answers: the banner shows the session's own step count, and a step
moves the session and the banner with it.

Keys are posted straight to the app in bursts, as a fast typist or a paste sends them, and the
test waits for the screen between bursts only: Pilot's press() waits for the CPU to idle after
every key (40 ms or more). Even so the app's own work is about 20 ms a key (Textual restyles and
redraws), so 10,000 keys take minutes: the suite presses KEYS_IN_SUITE keys an example, with
fixed seeds; `python tests/fuzz_campaign.py --tui` presses 10,000 an example with fresh seeds.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.keys import _character_to_key   # Pilot's own spelling of a typed character as a key

from bpdebug.cli import _commands, build_parser
from bpdebug.cli._training import trainer_for
from bpdebug.cli.replay import session_for
from bpdebug.tui import app as app_module
from bpdebug.tui.app import BpDebugApp
from bpdebug.tui.status import count_text, position

from .conftest import EXAMPLES, log_text, screen_text

EXAMPLES_DRIVEN = ("network_232.bp", "xor.bp")     # a network, and a program that trains
KEYS_IN_SUITE = 500        # an example: 1,000 in all, about 30 s
BATCH = 25                 # keys posted before waiting for the screen
PALETTE_KEYS = 3           # keys typed into the palette before Esc
PALETTE_RACES = {"enter", "pageup", "pagedown"}     # see _press_until_quit
RESIZE_EVERY = 120         # keys
ALONE = {"ctrl+p", "question_mark", "q"}     # keys that open a screen, or quit: see bursts()

FOOTER = list("snrcbgtT") + ["colon", "question_mark"]      # and q, and Ctrl+P: rarer, see presses()
MOVES = ["up", "down", "left", "right", "pageup", "pagedown", "home", "end", "tab", "shift+tab",
         "escape", "escape", "enter", "space", "backspace"]
COMMANDS = ["step", "step 3", "back 2", "next", "continue", "break backward out.z", "break if value > 0.5",
            "break nonfinite", "tbreak out.a", "break hidden.a", "delete", "delete 1", "disable 1", "enable ²",
            "watch grad(hidden.W)", "unwatch 1", "print out.a", "p hidden.W", "p hidden.W[0, 1e309]", "where",
            "list", "list all", "set x = 3", "set X = [[1, 2]]", "restart", "restart step", "info breakpoints",
            "check", "help", "train 2", "train ³", "lr 0.5", "lr inf", "until C", "jump 3", "jump 1e309",
            "ignore 1 2", "condition 1 grad > 0", "up", "down", "step 1e309", "back -1", "x", "[[", "grad[/x]",
            "\\", "é", "quit"]
TEXT = "abcxyz0123456789 .,()[]=<>+-*/^?:;'\"é²#"
SIZES = [(10, 5), (250, 80), (80, 24), (40, 12), (200, 60), (120, 40), (11, 30), (249, 6), (25, 79)]
CHARACTERS = {"enter": "\r", "tab": "\t", "escape": "\x1b", "space": " ", "backspace": "\x7f",
              "colon": ":", "question_mark": "?"}


def key_event(key: str) -> events.Key:
    """The event a terminal sends for `key`: a key name (`up`, `colon`) or a typed character."""
    if len(key) == 1:
        return events.Key(_character_to_key(key), key)
    return events.Key(key, CHARACTERS.get(key))


def presses(rng: random.Random):
    """Presses without end: mostly single keys; now and then `:` with a command or random text
    and Enter (or Esc, or Tab to complete); now and then q (the app is opened again) or Ctrl+P
    (the palette, slow to drive: see _press_until_quit); every RESIZE_EVERY keys or so a new
    terminal size (a tuple): 10x5 and 250x80 first, then any of SIZES."""
    sizes = iter([(10, 5), (250, 80)])
    since_resize = 0
    while True:
        if since_resize >= RESIZE_EVERY:
            yield next(sizes, None) or rng.choice(SIZES)
            since_resize = 0
        roll = rng.random()
        if roll < 0.55:
            keys = [rng.choice(FOOTER)]
        elif roll < 0.9:
            keys = [rng.choice(MOVES)]
        elif roll < 0.99:
            text = rng.choice(COMMANDS) if rng.random() < 0.7 else \
                "".join(rng.choice(TEXT) for _ in range(rng.randrange(1, 12)))
            keys = ["colon", *text, rng.choice(["enter", "enter", "escape", "tab"])]
        else:
            keys = [rng.choice(["q", "ctrl+p"])]
        yield from keys
        since_resize += len(keys)


def open_app(name: str) -> BpDebugApp:
    """The app `bpdebug examples/NAME` opens: read from the command line as the CLI reads it."""
    args = build_parser(_commands()).parse_args(["tui", str(EXAMPLES / name)])
    session = session_for(args)
    trainer = trainer_for(session, args)
    return BpDebugApp(trainer.session if trainer else session, trainer=trainer)


@dataclass
class Survived:
    keys: int = 0
    sizes: list = field(default_factory=list)      # the terminal sizes, in turn
    quits: int = 0              # times the app was quit (`q`, `:quit`, the palette) and opened again


async def drive(name: str, seed: int, count: int) -> Survived:
    """Press `count` random keys (seeded) on the app over examples/NAME, checking after every
    burst that it runs (or quit cleanly, and opening it again), and at the end that it answers."""
    keys = bursts(presses(random.Random(seed)))
    done = Survived()
    while True:
        app = open_app(name)
        async with app.run_test(size=(120, 40)) as pilot:
            finished = await _press_until_quit(app, pilot, keys, done, count)
            if finished:
                await _still_answers(app, pilot)
                return done
        # the app quit (an exception would have come out of run_test): cleanly, and a user opens it again
        assert app.return_code == 0, f"the app stopped after {done.keys} keys with {app.return_code}"
        done.quits += 1


def bursts(keys):
    """The keys in bursts posted at once (BATCH of them), or a new size (a tuple). A key that
    opens a screen (or quits) goes alone, after the keys before it have landed: a person sees
    the palette before typing into it, and a key still on its way to the node list when the
    palette opens is taken by the palette's bindings instead."""
    burst = []
    for key in keys:
        if isinstance(key, tuple) or key in ALONE:
            if burst:
                yield burst
                burst = []
            yield key if isinstance(key, tuple) else [key]
            continue
        burst.append(key)
        if len(burst) == BATCH:
            yield burst
            burst = []
    if burst:
        yield burst


async def _press_until_quit(app, pilot, bursts_, done: Survived, count: int) -> bool:
    """Post the keys burst by burst until `count` are pressed (True), or the app quit (False)."""
    while done.keys < count:
        burst = next(bursts_)
        if isinstance(burst, tuple):
            await pilot.resize_terminal(*burst)
            done.sizes.append(burst)
            continue
        if burst[0] in ALONE:
            await pilot.pause()                  # the keys before it have all landed
        if isinstance(app.screen, CommandPalette):
            # Textual's palette (8.2.8) loses races with keys faster than its search, and at a
            # person's speed still pages an empty list (KeyError in OptionList._move_page) and
            # lets Enter's choice and Esc both close it (ScreenStackError): so there a few keys
            # typed at a person's speed, as Pilot presses them, then Esc. Enter in the palette
            # runs what `:` runs, which the keys here type; test_truth.py chooses from the palette.
            burst = [*[k for k in burst if k not in PALETTE_RACES][:PALETTE_KEYS], "escape"]
            await pilot.press(*burst)
        else:
            for key in burst:
                app.post_message(key_event(key))
        done.keys += len(burst)
        await pilot.pause(0)                     # every widget has taken its messages
        if app.return_code is not None or not app.is_running:
            return False                         # quit (or failed): no more keys reach it
    await pilot.pause()
    return True


async def _still_answers(app, pilot) -> None:
    """Leave whatever is open; the banner shows where the session stands, and a step moves both."""
    await pilot.resize_terminal(120, 40)
    for _ in range(10):
        if app.running is None and len(app.screen_stack) == 1 and app.focused is not app.command_line:
            break
        await pilot.press("escape")
    assert app.is_running and app.return_code is None and "Traceback" not in log_text(app)
    banner = screen_text(app).splitlines()[0]
    s, training = app.session, app.training
    what, k, total = position(s, training)
    assert count_text((what, k, total)) in banner, banner
    if what != "update":                         # the passes' count is the session's own
        assert (k, total) == (s.t, s.total), (what, k, total, s.t)
    before = (position(s, training), training.step_number if training else 0)
    await pilot.press("s" if s.t < s.total or training is not None else "r")
    await pilot.pause()
    after = (position(app.session, training), training.step_number if training else 0)
    assert after != before, "a key did not move the session"
    assert count_text(after[0]) in screen_text(app).splitlines()[0]


@pytest.mark.parametrize("name, seed", zip(EXAMPLES_DRIVEN, (232, 4)))
def test_random_keys_and_resizes_never_break_the_tui(name, seed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)     # anything the app writes (a screenshot from the palette) lands here
    done = asyncio.run(drive(name, seed, KEYS_IN_SUITE))
    assert done.keys >= KEYS_IN_SUITE and done.sizes[:2] == [(10, 5), (250, 80)] and len(done.sizes) >= 4, done


# ---- what the random keys found ------------------------------------------------------------------

class _PaletteWatcher(BpDebugApp):
    """The app, counting how the command palette was closed (Textual posts Closed to the app)."""
    CSS_PATH = Path(app_module.__file__).parent / BpDebugApp.CSS_PATH    # a subclass reads it from its own folder
    closed: list

    def on_command_palette_closed(self, message: CommandPalette.Closed) -> None:
        self.closed.append(message.option_selected)


def test_esc_closes_the_palette_the_palettes_way():
    """Esc in the palette is the palette's: it stops the palette's search and says it closed.
    The app's own Esc used to pop it, leaving the search running to look for the palette's list
    after the list was gone: typing and Esc at Pilot's speed killed the app about one time in six."""
    async def go():
        app = _PaletteWatcher(open_app("network_232.bp").session)
        app.closed = []
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(3):
                await pilot.press("ctrl+p", "x", "s", "escape")
                await pilot.pause()
                assert not isinstance(app.screen, CommandPalette)
            assert app.closed == [False] * 3 and app.is_running
    asyncio.run(go())
