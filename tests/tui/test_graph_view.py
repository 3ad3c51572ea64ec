"""`g`: the whole graph in the TUI, driven with Pilot, and its snapshots at 80x24 and 200x60."""
from __future__ import annotations

import asyncio
from pathlib import Path

from textual import events

import bpdebug
from bpdebug.tui.app import BpDebugApp
from bpdebug.tui.widgets.graph_view import GraphView

from .conftest import SEED, chain, load, screen_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(coro):
    return asyncio.run(coro)


def graph_text(app) -> str:
    return app.query_one(GraphView).grid.text()


def test_g_shows_the_graph_and_steps_update_it():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("g")
            view = app.query_one(GraphView)
            assert view.display and not app.query_one("#main").display and app.focused is view
            screen = screen_text(app)
            assert "q = x + y" in screen and "f = q*z" in screen and "df/dx = ·" in screen
            assert "graph: 5 nodes" in screen
            await pilot.press(*"sssssss")            # both x, y wires into q: sent back by q
            assert s.t == 7
            rows = graph_text(app).splitlines()
            into_q = [r for r in rows if "▶│ q = x + y" in r or "▶║ q = x + y" in r]
            assert len(into_q) == 1
            below = rows[rows.index(into_q[0]) + 1]
            assert below.split("║")[0].split()[-1] == "-4"      # x's gradient, just under its wire
            assert "df/dx so far -4" in screen_text(app)
            assert view.scene.by_key[view.scene.current].name == "q"
            await pilot.press("g")
            assert not view.display and app.query_one("#main").display and app.focused is app.nodes
    run(go())


def test_enter_expands_a_layer_and_collapses_it_again():
    async def go():
        s = bpdebug.load_file(EXAMPLES / "network_232.bp")
        app = BpDebugApp(s)
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("c", "g")
            view = app.query_one(GraphView)
            assert "▸ hidden = dense(x, 3, act=sigmoid)" in graph_text(app)
            assert "hidden.xW" not in graph_text(app)
            await pilot.press("right", "enter")         # from x along its wire to the layer
            text = graph_text(app)
            assert "hidden.xW = x @ hidden.W" in text and "param hidden.W" in text
            assert "▸ hidden = dense" not in text and "▸ out = dense" in text
            assert view.selected_box.title == "hidden.a = sigmoid(hidden.z)"
            await pilot.press("enter")                  # on a node of the expanded layer
            assert "▸ hidden = dense(x, 3, act=sigmoid)" in graph_text(app)
            assert view.selected_box.title == "hidden = dense(x, 3, act=sigmoid)"
    run(go())


def test_enter_on_a_plain_node_puts_it_in_view():
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("g")
            view = app.query_one(GraphView)
            await pilot.press("right")                  # from x along its wire
            assert view.selected_box.title == "q = x + y"
            await pilot.press("b")                      # a breakpoint on the box selected
            assert [b.node for b in s.breakpoints] == [s.graph.index("q")]
            await pilot.press("enter")
            await pilot.press("g")
            assert "inspector: q (selected)" in screen_text(app)
    run(go())


def test_a_big_program_draws_the_neighbourhood_and_says_what_is_hidden():
    async def go():
        s = load(chain(500))
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("g", *"sss")
            screen = screen_text(app)
            assert "6 of 500 nodes within 3 wires of x2; 494 hidden" in screen   # x0 .. x5
            assert "x5 = sin(x4)" in graph_text(app) and "x6 = " not in graph_text(app)
    run(go())


def test_the_graph_at_80x24_mid_backward(snap_compare):
    assert snap_compare(BpDebugApp(load(SEED)), press=["s"] * 7 + ["g"], terminal_size=(80, 24))


def test_the_network_at_200x60_with_a_layer_expanded(snap_compare):
    async def setup(pilot):
        await pilot.press("c", "g", "right", "enter")

    session = bpdebug.load_file(EXAMPLES / "network_232.bp")
    assert snap_compare(BpDebugApp(session), run_before=setup, terminal_size=(200, 60))


def test_g_scrolls_the_current_node_into_view_when_the_graph_is_bigger_than_the_screen():
    async def go():
        s = bpdebug.load_file(EXAMPLES / "micrograd_more_ops.bp")
        app = BpDebugApp(s)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"ssssss", "g")
            await pilot.pause()
            current = s.graph.nodes[s.current].name
            view = app.query_one(GraphView)
            assert view.grid.width > 80                  # the picture does not fit: it must scroll
            assert f"║ {current} = " in screen_text(app)   # the current node's box is on screen
    run(go())


def test_b_right_after_g_before_the_graph_is_drawn_breaks_on_the_row_in_view():
    """`g b` in one burst (a paste, a fast typist: found by tests/tui/test_random_keys.py): the
    graph has no drawing yet, so b sets the breakpoint on the list's row, which the graph opens on."""
    async def go():
        s = load(SEED)
        app = BpDebugApp(s)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("down", "down", "down")              # the row of q
            for key in "gb":                                       # both before the graph's first draw
                app.post_message(events.Key(key, key))
            await pilot.pause()
            assert app.is_running and [b.node for b in s.breakpoints] == [s.graph.index("q")]
            await pilot.press("b")                                 # drawn now: the box of q, taken off
            assert app.query_one(GraphView).selected_box.name == "q" and s.breakpoints == []
    run(go())
