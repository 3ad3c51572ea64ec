"""The keys and the command line, driven with Pilot; asserts on the session and on the screen."""
from __future__ import annotations

import asyncio
import math
import re
import time

import pytest

from bpdebug.engine import Session
from bpdebug.tui.app import BpDebugApp
from bpdebug.tui.widgets.command_line import CommandLine
from bpdebug.tui.widgets.inspector import Inspector
from bpdebug.tui.widgets.node_list import NodeList

from .conftest import FANOUT, NAN, SEED, chain, load, log_text, row_text, screen_text


def run(coro):
    return asyncio.run(coro)


def cells(app, name):
    """The value and gradient cells of a node's row."""
    return row_text(app, name).split()[-2:]


def test_step_shows_forward_values():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"sssss")
            assert s.t == 5 and s.pass_ == "backward"
            assert cells(app, "q") == ["3", "·"]
            assert cells(app, "f") == ["-12", "1"]
            text = screen_text(app)
            assert "FORWARD  step 5 of 10" in text
            assert "forward  q = 3, z = -4  →  f = -12" in text
    run(go())


def test_continue_then_back():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")
            assert app.running is None and s.t == s.total
            assert [cells(app, n)[1] for n in "xyz"] == ["-4", "-4", "3"]
            assert cells(app, "q") == ["3", "-4"] and cells(app, "f") == ["-12", "1"]
            assert "DONE  step 10 of 10" in screen_text(app)
            await pilot.press(*"rrrr")                   # undo x, y, z and q's backward steps
            assert s.t == 6 and s.grads[0] is None         # q's contribution to x is gone
            assert cells(app, "x")[1] == "·" and cells(app, "q")[1] == "-4"
            await pilot.press("s")
            assert s.grad("x") == -4 and cells(app, "x")[1] == "-4"
    run(go())


def test_backward_inspector_shows_local_derivatives_and_contributions():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 6)                  # the backward step of f
            text = screen_text(app)
            assert "upstream df/df = 1" in text
            assert "d(q*z)/dq = z = -4" in text and "contribution 1 × -4 = -4" in text
            assert "d(q*z)/dz = q = 3" in text and "contribution 1 × 3 = 3" in text
            # the circuit: the gradient -4 on the backward edge to q, 3 to z
            assert re.search(r"q ─+ 3 ─+▶│", text) and re.search(r"◀─+ -4 ─+│", text)
            assert re.search(r"z ─+ -4 ─+▶│", text) and re.search(r"◀─+ 3 ─+│", text)
    run(go())


def test_fan_out_lists_every_contribution():
    async def go():
        s = load(FANOUT)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c", "down", "down")       # from x, the current node, down to a
            assert app.nodes.cursor == s.graph.index("a")
            text = screen_text(app)
            # dL/da = 3 from z3 and -1 from z4 (in the order they arrived: z4 first)
            assert "(from z4 -1, from z3 +3)" in text
            assert s.grad("a") == pytest.approx(2.0)
    run(go())


def test_b_toggles_a_breakpoint_on_the_selected_node_and_continue_stops_there():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("down", "down", "down")     # the cursor to q
            assert app.nodes.cursor == 3
            await pilot.press("b")
            assert [(b.node, b.enabled) for b in s.breakpoints] == [(3, True)]
            assert row_text(app, "q").startswith("●")
            assert "1 ● q" in screen_text(app)
            await pilot.press("c")
            assert s.t == 4 and s.current == 3           # stopped after the forward step of q
            await pilot.press("c")
            assert s.t == 7 and s.current == 3           # and after its backward step
            assert "breakpoint 1 (q)" in log_text(app)
            await pilot.press("b")
            assert s.breakpoints == [] and not row_text(app, "q").startswith("●")
    run(go())


def test_the_focused_command_line_says_how_to_leave_it():
    # The footer shows no keys while the command line has the focus.
    async def go():
        app = BpDebugApp(load(SEED))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("colon")
            assert "Esc leaves" in screen_text(app)
            await pilot.press("escape")
            text = screen_text(app)
            assert "Esc leaves" not in text and "press : to type a command" in text
    run(go())


def test_command_line_runs_commands_and_letters_do_not_step_while_typing():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("colon")
            assert isinstance(app.focused, CommandLine)
            await pilot.press(*"break backward q", "enter")
            assert s.t == 0                              # the s, c, b, r typed did nothing else
            assert [(b.node, b.pass_) for b in s.breakpoints] == [(3, "backward")]
            assert isinstance(app.focused, NodeList)     # Enter gives the keys back
            await pilot.press("colon", *"watch grad(x)", "enter")
            await pilot.press("colon", *"c", "enter")    # `c` typed is continue, in slices too
            await pilot.pause()
            assert s.t == 7
            assert ": break backward q" in log_text(app)
            assert "breakpoint 1: backward q" in log_text(app)
            assert "1 grad(x) = -4" in screen_text(app)
            await pilot.press("s")                       # no Esc needed first
            assert s.t == 8
    run(go())


def test_command_errors_are_shown_not_raised():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("colon", *"until nosuch", "enter")
            await pilot.press("colon", *"frobnicate", "enter")
            text = log_text(app)
            assert "no node named 'nosuch'" in text
            assert "unknown command 'frobnicate'" in text
            assert s.t == 0
    run(go())


def test_history_and_completion():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            line = app.command_line
            await pilot.press("colon", *"p x", "enter", "colon", *"step 2", "enter")
            assert s.t == 2
            await pilot.press("colon", "up")
            assert line.value == "step 2"
            await pilot.press("up")
            assert line.value == "p x"
            await pilot.press("down", "down")
            assert line.value == ""
            await pilot.press(*"unt", "tab")
            assert line.value == "until "
            await pilot.press("tab")                    # several nodes: listed in the log
            await pilot.press(*"q", "tab")
            assert line.value == "until q "
            await pilot.press("enter")
            assert s.current == 3
            await pilot.press("colon", *"break backw", "tab")
            assert line.value == "break backward "
    run(go())


def test_selecting_a_node_shows_it_without_moving():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 7)                   # current: backward q
            await pilot.press("up", "up", "up")           # select x
            assert s.t == 7
            inspector = app.query_one(Inspector)
            assert inspector.node == 0 and "inspector: x (selected)" in screen_text(app)
            await pilot.press("s")                        # the next step selects the current node
            assert app.nodes.cursor == s.current == 2
            await pilot.click(NodeList, offset=(6, 3))    # border, header, x, then y
            assert app.nodes.cursor == 1 and inspector.node == 1
    run(go())


class SlowSession(Session):
    """A session whose `run` takes 10 ms for at most 5 steps, like a huge graph (or a slow
    replay): `continue` over its 2,000 steps takes several seconds."""

    def run(self, limit=None):
        time.sleep(0.01)
        return super().run(limit=min(limit or 5, 5))


def test_continue_runs_in_slices_shows_progress_and_can_be_interrupted():
    async def go():
        s = SlowSession(load(chain(1000)).graph)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("c")                        # returns while the run goes on
            assert app.running is not None and 0 < s.t < s.total
            assert "running… press Esc or c to stop" in screen_text(app)
            assert f"step {s.t} of 2000" in screen_text(app)
            await pilot.press("escape")
            stopped = s.t
            await pilot.pause(0.05)
            assert app.running is None and s.t == stopped < s.total
            assert "interrupted" in log_text(app)
            await pilot.press("c")
            assert app.running is not None
            await pilot.press("c")                        # c again stops it too
            assert app.running is None and stopped < s.t < s.total
    run(go())


def test_nonfinite_values_are_red_flagged_with_the_reason():
    async def go():
        s = load(NAN)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"sss")
            assert math.isnan(s.values[2])
            # y = log(x) is where nan is born: ✱ there, instead of the plain ! of a nan passed on
            assert row_text(app, "y").startswith("✱") and cells(app, "y")[0] == "nan"
            text = screen_text(app)
            assert "non-finite at y" in text
            assert "nan or inf is born here: forward step of y = log(x) made y" in text
            assert "non-finite value or gradient here" in text
            await pilot.press("s")
            assert row_text(app, "f").startswith("!") and row_text(app, "y").startswith("✱")
            assert "non-finite at f (born at y)" in screen_text(app)
    run(go())


def test_names_are_never_markup():
    async def go():
        s = load("a = 2\nb = a * 3\n")
        node = s.graph.nodes[s.graph.output]            # b; the language has no such names
        s.graph.names["grad[/x]"] = s.graph.names.pop(node.name)
        node.name = "grad[/x]"
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("end", "b", "s", "s", "s")
            text = screen_text(app)
            assert "inspector: grad[/x] (current)" in text
            assert "grad[/x] = a*3" in text and "1 ● grad[/x]" in text
    run(go())


def test_resizing_never_crashes():
    async def go():
        s = load(FANOUT)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"s" * 8)
            for size in [(80, 24), (30, 8), (1, 1), (200, 60), (60, 12), (80, 24)]:
                await pilot.resize_terminal(*size)
                await pilot.pause()
                await pilot.press("s")
            assert s.t == 14 and "step 14 of 16  ▶ a = x*w" in screen_text(app)
        assert app.return_code in (None, 0)
    run(go())


def test_a_10000_node_graph_opens_and_a_step_redraws_a_few_rows():
    async def go():
        s = load(chain(10_000))
        app = BpDebugApp(s)
        drawn = []
        original = NodeList.render_line

        def counting(self, y):
            drawn.append(y)
            return original(self, y)

        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert "nodes (10000)" in screen_text(app)
            NodeList.render_line = counting
            try:
                await pilot.press("s", "s")
                await pilot.pause()
            finally:
                NodeList.render_line = original
            assert s.t == 2
            assert 0 < len(drawn) <= 8, drawn           # the rows the steps touched, not the list
    run(go())
