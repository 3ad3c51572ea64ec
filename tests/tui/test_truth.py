"""What the TUI teaches, and the conventions users bring (issue 11), driven with Pilot: the
running sum of x*x, gradients named after the output, one step count, the program's own names
in hints, the command line's manners (keys back after Enter, empty Enter, history kept,
completion, quit), up/down, the command palette, clicking a neighbour, themes."""
from __future__ import annotations

import asyncio
import re

import bpdebug
from bpdebug.tui.app import BpDebugApp
from bpdebug.tui.status import hint_names
from bpdebug.tui.colours import styles
from bpdebug.tui.history import history_path
from bpdebug.tui.widgets.command_line import Completer
from bpdebug.tui.widgets.inspector import Inspector
from bpdebug.tui.widgets.neighbourhood import Neighbourhood
from bpdebug.tui.widgets.node_list import NodeList

from .conftest import EXAMPLES, SEED, flat, load, log_text, row_text, screen_text, training_app

SQUARE = "x = 3\nf = x * x\n"
SQ_CALL = "def sq(a) = a * a\nx = 3\ny = sq(x) + 1\n"


def run(coro):
    return asyncio.run(coro)


# ---- wrong or misleading before ---------------------------------------------------------------------

def test_the_inspector_shows_the_running_sum_of_x_times_x():
    async def go():
        app = BpDebugApp(load(SQUARE))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"sss")                     # x, 3... the backward step of f = x*x
            text = flat(screen_text(app))
            first = text.index("df/dx so far = 3 (from f +3)")
            second = text.index("df/dx so far = 6 (from f +3, from f +3)")
            assert first < second
    run(go())


def test_an_older_step_says_what_its_input_held_then_and_now():
    async def go():
        app = BpDebugApp(load("x = 2\na = x * 3\nb = x * 5\nf = a + b\n"))
        s = app.session
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 10)                  # through b then a: x has 5, then 8
            app.select_node(s.graph.index("b"))
            await pilot.pause()
            assert "df/dx was = 5 (from b +5) after this step; now 8" in flat(screen_text(app))
    run(go())


def test_gradients_are_named_after_the_output_in_every_panel():
    async def go():
        app, trainer = training_app("network_232.bp")
        s = trainer.session
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")                         # to the end of the passes
            app.select_node(s.graph.index("out.b"))
            await pilot.pause()
            backward = flat(screen_text(app))
            assert "dC/dout.b" in backward and "dL/" not in backward
            await pilot.press(*"sss", "s")               # hidden.W, hidden.b, out.W, then out.b's update
            text = flat(screen_text(app))
            assert "update out.b = out.b - 0.1 * dC/dout.b" in text and "dL/" not in text
            assert "dL/" not in log_text(app)
    run(go())


def test_one_step_count_with_the_update_phase_counted_apart():
    async def go():
        app, _ = training_app("network_232.bp")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 7)
            assert "FORWARD  step 7 of 34" in screen_text(app)      # as `script` says [forward 7/34]
            assert "[7/34]" in log_text(app)
            await pilot.press("c", "s")                   # to the end of the passes, one update
            assert "UPDATE  update 1 of 4" in screen_text(app) and "[1/4] update" in log_text(app)
    run(go())


def test_hints_use_the_programs_own_names():
    async def go():
        app = BpDebugApp(load("a = 2\nb = a * 3\nout = b + 1\n"))
        async with app.run_test(size=(120, 40)):
            text = screen_text(app)
            assert "break backward b" in text and "watch grad(a)" in text and "p b" in text
            assert not re.search(r"\bq\b|grad\(x\)", text.replace("q quit", ""))
    run(go())


def test_hint_names_prefer_the_names_the_user_wrote():
    assert hint_names(load(SQ_CALL).graph) == ("y", "x")                 # not the builder's y.1
    assert hint_names(load(SEED).graph) == ("q", "x")
    assert hint_names(bpdebug.load_file(EXAMPLES / "network_232.bp").graph) == ("hidden.xW", "x")


def test_after_an_update_the_circuit_shows_the_params_new_value():
    async def go():
        app, trainer = training_app("linreg.bp", lr=0.5)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c", "s")                   # the passes, then the first update: w
            update = trainer.updates[-1]
            new = f"{float((update.new ** 2).sum()) ** 0.5:.4g}"
            assert new != f"{float((update.old ** 2).sum()) ** 0.5:.4g}"
            assert f"↓ ‖{new}‖" in app.query_one(Neighbourhood).render().plain       # as in the list
            assert f"‖{new}‖" in row_text(app, "w")
    run(go())


def test_the_help_screen_lines_its_commands_up_in_columns():
    async def go():
        app = BpDebugApp(load(SEED))
        async with app.run_test(size=(120, 60)) as pilot:
            await pilot.press("question_mark")
            lines = screen_text(app).splitlines()
            rows = {word: line for line in lines for word in ("step [N]", "next", "condition N [COND]")
                    if f"  {word} " in line}
            starts = {line.index(what) for line, what in ((rows["step [N]"], "s  "),
                                                          (rows["next"], "n  "))}
            assert len(starts) == 1, rows                  # the aliases in one column
            described = [rows["step [N]"].index("take N single"), rows["next"].index("step over a"),
                         rows["condition N [COND]"].index("give breakpoint N")]
            assert len(set(described)) == 1, rows          # the descriptions in one column
    run(go())


def test_completion_offers_only_what_can_come_next():
    c = Completer(load(SEED))
    assert c.complete("print grad ") == []                         # an operator comes next
    assert c.complete("print grad(") == [f"print grad({name})" for name in sorted("fqxyz")]
    assert "print value" in c.complete("print va") and "print x" in c.complete("print ")
    assert c.complete("break backward f") == ["break backward f"]
    assert not any("forward" in line for line in c.complete("break backward "))
    assert "break backward if" in c.complete("break backward ")
    assert "break backward q if" in c.complete("break backward q ")
    assert not any(line.startswith(("break backward q x", "break backward q f")) for line in c.complete("break backward q "))
    assert "break forward q if grad" in c.complete("break forward q if gr")
    assert c.complete("break if value ") == []
    assert "condition 1 value" in c.complete("condition 1 val")


# ---- the command line's manners --------------------------------------------------------------------

def test_enter_gives_the_keys_back_and_an_empty_enter_repeats_the_last_command():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("colon", *"step 2", "enter")
            assert s.t == 2 and isinstance(app.focused, NodeList)
            await pilot.press("s", "colon", "enter")      # `s` at once; then Enter on nothing: step 2
            assert s.t == 5
            assert log_text(app).count(": step 2") == 2
    run(go())


def test_history_is_kept_between_sessions(state_home):
    async def first():
        app = BpDebugApp(load(SEED))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("colon", *"break backward q", "enter", "colon", *"p x", "enter")

    async def second():
        app = BpDebugApp(load(SEED))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("colon", "up")
            assert app.command_line.value == "p x"
            await pilot.press("up")
            assert app.command_line.value == "break backward q"
    run(first())
    assert history_path() == state_home / "bpdebug" / "history"
    assert history_path().read_text() == "break backward q\np x\n"
    run(second())


def test_quit_from_the_command_line():
    for word in ("q", "quit", "exit"):
        async def go():
            app = BpDebugApp(load(SEED))
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("colon", *word, "enter")
                await pilot.pause()
                assert app._exit or not app.is_running
        run(go())


def test_up_and_down_show_the_def_calls_around_the_current_node():
    async def go():
        s = load(SQ_CALL)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("s", "s")                   # x, then x*x inside sq
            await pilot.press("colon", *"up", "enter")
            assert app.query_one(Inspector).node == s.graph.index("y.2")
            assert "inspector: y.2 (next)" in screen_text(app)
            await pilot.press("colon", *"down", "enter")
            assert app.query_one(Inspector).node == s.graph.index("y.1")
    run(go())


def test_next_in_the_backward_pass_stands_on_the_call():
    async def go():
        s = load(SQ_CALL)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 7, "n")              # from the constant 1: over sq(x)
            assert s.current == s.graph.index("y.2") and s.t == 9
            text = flat(screen_text(app))
            assert "▶ y.2 = sq(x)" in text and "the whole call sq(x) sent back:" in text and "→ x +6" in text
            assert "inside sq(x)" not in text                  # the call, not its body
    run(go())


# ---- Textual's conventions ----------------------------------------------------------------------------

def test_the_command_palette_runs_commands_and_goes_to_any_node():
    async def go():
        s = bpdebug.load_file(EXAMPLES / "network_232.bp")
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+p")
            await pilot.press(*"go to out.b")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause()
            assert app.query_one(Inspector).node == s.graph.index("out.b")
            assert app.nodes.cursor == s.graph.index("out.b")
            await pilot.press("ctrl+p", *"continue")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert s.t == s.total
    run(go())


def test_clicking_a_neighbour_in_the_circuit_goes_to_it():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"sssss")                   # current: f = q*z; q and z on the left
            lines = app.query_one(Neighbourhood).render().plain.splitlines()
            row = next(k for k, line in enumerate(lines) if line.startswith("z "))
            await pilot.click(Neighbourhood, offset=(2, row + 1))   # the panel's border is a row
            await pilot.pause()
            assert app.query_one(Inspector).node == s.graph.index("z") and app.nodes.cursor == 2
    run(go())


def test_the_inspector_scrolls_by_keyboard():
    async def go():
        app = BpDebugApp(bpdebug.load_file(EXAMPLES / "network_232.bp"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("colon", *"jump 24", "enter", "tab")
            inspector = app.query_one(Inspector)
            assert app.focused is inspector
            await pilot.press("pagedown")
            await pilot.pause()
            assert inspector.scroll_y > 0
            await pilot.press("s")                        # the keys still step
            await pilot.pause()
            assert app.session.t == 25 and inspector.scroll_y == 0   # a new node from its top
    run(go())


def test_tensors_in_full_where_the_column_has_room():
    async def go():
        app = BpDebugApp(load("v = [1, 2, 3, 4, 5]\nf = sum(v * v)\n"))
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press(*"s" * app.session.total)
            assert "[1, 2, 3, 4, 5]" in row_text(app, "v") and "[2, 4, 6, 8, 10]" in row_text(app, "v")
        app = BpDebugApp(load("v = [1, 2, 3, 4, 5]\nf = sum(v * v)\n"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"s" * app.session.total)
            assert "‖7.416‖" in row_text(app, "v")       # no room: the norm
    run(go())


def test_a_light_theme_draws_in_its_own_colours():
    async def go():
        app = BpDebugApp(load(SEED))
        app.theme = "textual-light"
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 7)
            assert styles()["forward"] != "green"
            light = styles()
            app.theme = "textual-dark"
            await pilot.pause()
            assert styles() != light                      # follows the theme it is drawn in
    run(go())


def test_the_banner_keeps_the_current_formula_at_80_columns():
    async def go():
        app, trainer = training_app("network_232.bp")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("colon", *"jump 23", "enter")
            banner = screen_text(app).splitlines()[0]
            assert "BACKWARD  step 23 of 34  lr 0.1  ▶ out.a = sigmoid(out.z)" in banner   # and the rate
    run(go())
