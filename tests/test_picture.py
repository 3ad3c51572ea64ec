"""The whole-program picture (bpdebug.picture) and `bpdebug graph`: what is drawn, that every
label has cells of its own, and that DOT, Mermaid and SVG say the same thing and parse."""
from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

import bpdebug
from bpdebug.cli import main as cli_main
from bpdebug.picture import scene as scene_module
from bpdebug.picture.dot import dot
from bpdebug.picture.layout import arrange, box_lines, label
from bpdebug.picture.mermaid import mermaid
from bpdebug.picture.scene import Picture
from bpdebug.picture.svg import svg

from test_cli import EXAMPLES, assert_clean_failure, bp

CHAIN = "x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n"
SQUARE = "x = 3\ny = x * x\nf = y + x\n"
DEFS = "def sq(a) = a * a\ndef quad(a, b) = sq(a) + sq(b) * 2\nx = 3; w = 2\ny = quad(x, w) + 1\nf = sq(y)\n"

# Graphviz's DOT language (https://graphviz.org/doc/info/lang.html), enough of it to check ours.
DOT = Lark(r"""
    start: STRICT? KIND id? "{" (stmt ";"?)* "}"
    ?stmt: attr_stmt | edge_stmt | node_stmt | id "=" id
    attr_stmt: TARGET attr_list
    node_stmt: id attr_list?
    edge_stmt: id (EDGEOP id)+ attr_list?
    attr_list: ("[" item* "]")+
    item: id "=" id (";" | ",")?
    ?id: NAME | NUMERAL | STRING | html
    html: "<" (HTML_TEXT | html)* ">"
    STRICT.2: "strict"
    KIND.2: "digraph" | "graph"
    TARGET.2: "graph" | "node" | "edge"
    EDGEOP: "->" | "--"
    NAME: /[A-Za-z_][A-Za-z_0-9]*/
    NUMERAL: /-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)/
    STRING: /"(\\.|[^"\\])*"/
    HTML_TEXT: /[^<>]+/
    %ignore /\s+/
""", parser="earley", propagate_positions=True)


def session_at(text: str, step: int | None = None, name: str = "p.bp"):
    s = bpdebug.load(text, name)
    s.goto(s.total if step is None else step)
    return s


def scene_of(s, expand: bool = False, **kwargs):
    picture = Picture(s.graph)
    picture.toggle_all(expand)
    return picture.scene(s, **kwargs)


def drawing_of(scene, spacing: int = 4):
    return arrange(scene, lambda b: box_lines(scene, b, label), label, spacing=spacing)


# ---- the grid: every label in cells of its own -------------------------------------------------------

def assert_nothing_overlaps(drawing) -> None:
    """Labels meet no other label, box or wire; boxes meet no box; wires do not enter boxes."""
    owner: dict = {}

    def claim(cell, what):
        assert cell not in owner, f"{what} overlaps {owner[cell]} at {cell}"
        owner[cell] = what

    for s in drawing.shapes:
        for x in range(s.x, s.x + s.w):
            for y in range(s.y, s.y + s.h):
                claim((x, y), f"box {s.box.title}")
    for label_ in drawing.labels:
        for k in range(len(label_.text)):
            claim((label_.x + k, label_.y), f"label {label_.text!r}")
    for path in drawing.paths:
        for (x0, y0), (x1, y1) in zip(path.points, path.points[1:]):
            assert x0 == x1 or y0 == y1, path.points
            cells = [(x, y0) for x in range(min(x0, x1), max(x0, x1) + 1)] if y0 == y1 else \
                    [(x0, y) for y in range(min(y0, y1), max(y0, y1) + 1)]
            for x, y in cells:
                assert 0 <= x < drawing.width and 0 <= y < drawing.height, (x, y)
                assert not owner.get((x, y), "wire").startswith(("box", "label")), \
                    f"a wire runs through {owner[(x, y)]} at {(x, y)}"
    assert all(0 <= x < drawing.width and 0 <= y < drawing.height for x, y in owner)


PROGRAMS = {
    "chain": CHAIN, "square": SQUARE, "defs": DEFS,
    "fanout": "x = 2\nw = 0.5\na = x * w\nz3 = a * 3\nz4 = a * -1\nL = z3 + z4\n",
    "unused": "x = 3\ny = 4\nf = x * 2\n",
    "hub": "x = 0.5\na0 = sin(x)\n" + "".join(f"a{i} = a{i - 1} + x\n" for i in range(1, 60)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("spacing", [3, 4])
def test_labels_boxes_and_wires_never_overlap(name, spacing):
    for step in (0, 3, None):
        s = session_at(PROGRAMS[name], step)
        for expand in (False, True):
            assert_nothing_overlaps(drawing_of(scene_of(s, expand), spacing))


@pytest.mark.parametrize("example", ["network_232.bp", "neuron_fanout.bp", "xor.bp", "mistakes/transpose.bp"])
def test_the_examples_draw_without_overlaps(example):
    s = bpdebug.load_file(EXAMPLES / example)
    s.goto(s.total)
    for expand in (False, True):
        assert_nothing_overlaps(drawing_of(scene_of(s, expand)))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.sampled_from("+*-")), min_size=1, max_size=30),
       st.integers(0, 3))
def test_random_programs_draw_without_overlaps(rows, leaves):
    lines = [f"v{k} = {k + 1}" for k in range(leaves + 1)]
    for a, b, op in rows:
        n = len(lines)
        lines.append(f"v{n} = v{a % n} {op} v{b % n}")
    s = session_at("\n".join(lines))
    assert_nothing_overlaps(drawing_of(scene_of(s), spacing=3))


def test_a_hub_feeding_every_node_keeps_its_long_wires_below_the_picture():
    s = session_at(PROGRAMS["hub"])
    scene = scene_of(s)
    assert len(scene.boxes) == 61 and scene.hidden == 0
    started = time.perf_counter()
    drawing = drawing_of(scene)
    assert time.perf_counter() - started < 5          # grandalf with its dummy vertices capped
    lowest_box = max(shape.y + shape.h for shape in drawing.shapes)
    assert any(max(y for _, y in path.points) > lowest_box for path in drawing.paths)
    assert len([w for w in scene.wires if w.node == 0]) == len(s.graph.consumers[0]) == 60


# ---- what the scene says ------------------------------------------------------------------------------

def wire(scene, source: str, target: str):
    names = {b.key: b.name for b in scene.boxes}
    found = [w for w in scene.wires if names[w.source] == source and w.target is not None
             and names[w.target] == target]
    assert len(found) == 1, found
    return found[0]


def central_difference(text: str, leaf: str, h: float = 1e-6) -> float:
    """d output / d leaf by re-running the forward pass with the leaf moved both ways."""
    def output(values):
        s = bpdebug.load(text, "p.bp", values)
        s.run()
        return s.value(s.graph.nodes[s.graph.output].name)
    x = session_at(text).value(leaf)
    return (output({leaf: x + h}) - output({leaf: x - h})) / (2 * h)


def test_wires_carry_values_forward_and_gradients_back_at_the_end():
    s = session_at(CHAIN)
    scene = scene_of(s)
    w = wire(scene, "x", "q")
    assert (w.value, w.grad) == (s.value("x"), s.grad("x"))
    assert w.grad == pytest.approx(central_difference(CHAIN, "x"))
    w = wire(scene, "z", "f")
    assert w.value == s.value("z") and w.grad == pytest.approx(central_difference(CHAIN, "z"))
    out = [w for w in scene.wires if w.target is None]
    assert [(w.note, w.value, w.grad) for w in out] == [("output", s.value("f"), 1.0)]


def test_mid_backward_a_gradient_not_sent_yet_is_not_shown():
    s = session_at(CHAIN, 6)                      # only f's backward step is taken
    scene = scene_of(s)
    assert wire(scene, "q", "f").grad == s.contributions(s.graph.index("f"))[0]
    assert wire(scene, "x", "q").grad is None     # q has not sent anything: nothing, not 0
    q = scene.by_key[s.graph.index("q")]
    assert q.grad == s.grads[q.node] and not q.grad_final
    assert box_lines(scene, q, label)[1] == (f"df/dq so far {label(q.grad)}", "partial")
    x = scene.by_key[s.graph.index("x")]
    assert x.grad is None and box_lines(scene, x, label)[1] == ("df/dx = ·", "pending")
    assert scene.current == s.graph.index("f")


def test_mid_forward_values_not_computed_yet_are_not_shown():
    s = session_at(CHAIN, 4)                      # x, y, z and q computed, f not
    scene = scene_of(s)
    assert wire(scene, "q", "f").value == s.value("q")
    out = next(w for w in scene.wires if w.target is None)
    assert out.value is None and out.grad is None
    assert all(b.grad is None for b in scene.boxes)   # no seed before the backward pass


def test_a_node_read_twice_gets_a_wire_per_input_with_its_own_contribution():
    s = session_at(SQUARE)
    scene = scene_of(s)
    x, y1 = s.graph.index("x"), s.graph.index("y")
    twice = [w for w in scene.wires if w.source == x and w.target == y1]
    sent = s.contributions(y1)
    assert [w.grad for w in twice] == [sent[0], sent[1]] and len(twice) == 2
    assert scene.by_key[x].grad == pytest.approx(central_difference(SQUARE, "x"))


def test_a_def_call_is_one_box_until_expanded():
    s = session_at(DEFS)
    picture = Picture(s.graph)
    scene = picture.scene(s)
    titles = [b.title for b in scene.boxes]
    assert "y.8 = quad(x, w)" in titles and "f = sq(y)" in titles
    call = next(b for b in scene.boxes if b.title == "y.8 = quad(x, w)")
    into = {s.graph.nodes[w.node].name: w.grad for w in scene.wires if w.target == call.key}
    assert into["x"] == pytest.approx(central_difference(DEFS, "x"))   # x is read only inside
    assert into["w"] == pytest.approx(central_difference(DEFS, "w"))
    assert picture.toggle(call.key)
    expanded = picture.scene(s)
    titles = [b.title for b in expanded.boxes]
    assert "y.7 = y.2 + y.6" in titles and "y.2 = sq(x)" in titles    # the inner calls stay boxes
    inner = next(b for b in expanded.boxes if b.title == "y.2 = sq(x)")
    picture.toggle(inner.key)
    assert "y.1 = x*x" in [b.title for b in picture.scene(s).boxes]
    y1 = s.graph.index("y.1")
    assert picture.toggle(y1)                    # collapses the innermost expanded group (sq)
    assert "y.2 = sq(x)" in [b.title for b in picture.scene(s).boxes]


def test_a_layer_is_one_box():
    s = bpdebug.load_file(EXAMPLES / "network_232.bp")
    s.run()
    scene = scene_of(s)
    titles = [b.title for b in scene.boxes]
    assert "hidden = dense(x, 3, act=sigmoid)" in titles
    assert "out = dense(hidden.a, 2, act=sigmoid)" in titles
    assert not any(t.startswith(("hidden.", "param")) for t in titles)
    expanded = [b.title for b in scene_of(s, expand=True).boxes]
    assert "hidden.z = hidden.xW + hidden.b" in expanded and "param hidden.W" in expanded


def test_past_what_fits_it_draws_three_wires_around_the_node_and_counts_the_rest():
    text = "x0 = 0.5\nx1 = -0.3\n" + "".join(
        f"x{i} = x{i - 1} + x{i - 2}\n" if i % 2 == 0 else f"x{i} = sin(x{i - 1})\n" for i in range(2, 2000))
    s = session_at(text, 3000)
    graph = s.graph
    started = time.perf_counter()
    scene = scene_of(s)
    drawing = drawing_of(scene, 3)
    assert time.perf_counter() - started < 2
    centre = s.current
    assert scene.centre == graph.nodes[centre].name
    near, frontier = {centre}, [centre]         # an independent breadth-first search
    for _ in range(3):
        frontier = [j for i in frontier for j in (*graph.nodes[i].inputs, *graph.consumers[i]) if j not in near]
        near.update(frontier)
    assert {b.key for b in scene.boxes} == near
    assert scene.hidden == len(graph.nodes) - len(near) and f"{scene.hidden:,} hidden" in scene.extent()
    assert_nothing_overlaps(drawing)
    far = scene_of(s, centre=10)
    assert far.centre == "x10" and 10 in far.by_key and centre not in far.by_key
    program = "".join(f"x{i} = {i}\n" for i in range(90)) + "y = x89 * 2\n"
    s = session_at(program, 91)                    # the step of the constant 2
    assert s.graph.nodes[s.current].kind == "const"
    near = scene_of(s)
    assert near.centre == "y" and all(b.kind != "const" for b in near.boxes)
    assert near.current == s.graph.index("y")       # the box that shows the constant, in its formula


def test_the_neighbourhood_stops_at_max_boxes_around_a_hub(monkeypatch):
    monkeypatch.setattr(scene_module, "MAX_BOXES", 20)
    s = session_at(PROGRAMS["hub"])
    scene = scene_of(s, centre=0)
    assert len(scene.boxes) == 20 and scene.hidden == len(s.graph.nodes) - 20


def test_a_deep_def_body_collapsed_is_one_box_without_recursion():
    body = " + ".join(["sin(a)"] * 3)
    deep = "x = 0.1\n" + "".join(f"def f{k}(a) = f{k - 1}(a) * 0.5\n" if k else f"def f0(a) = {body}\n"
                                 for k in range(40)) + "y = f39(x)\n"
    s = session_at(deep)
    scene = scene_of(s)
    assert [b.title for b in scene.boxes] == ["x", "y = f39(x)"]
    assert_nothing_overlaps(drawing_of(scene))


# ---- the formats --------------------------------------------------------------------------------------

def dot_labels(text: str) -> dict:
    """Parse DOT; {statement: label text} where each HTML label is well-formed XML."""
    tree = DOT.parse(text)
    labels = {}
    for stmt in tree.find_pred(lambda t: t.data in ("node_stmt", "edge_stmt")):
        ends = tuple(str(c) for c in stmt.children if not hasattr(c, "data") and c.type != "EDGEOP")
        for item in stmt.find_data("item"):
            key, value = item.children[0], item.children[1]
            if str(key) == "label" and getattr(value, "data", None) == "html":
                raw = text[value.meta.start_pos + 1: value.meta.end_pos - 1]
                labels[ends] = "".join(ET.fromstring(f"<r>{raw.replace('<br/>', '|')}</r>").itertext())
    return labels


def test_dot_parses_and_labels_every_node_and_wire():
    s = session_at(CHAIN)
    scene = scene_of(s)
    labels = dot_labels(dot(scene, "chain"))
    key = {name: f"b{s.graph.index(name)}" for name in "xyzqf"}
    assert labels[(key["q"],)] == "q = x + y|df/dq = -4"
    assert labels[(key["x"], key["q"])] == f"{label(s.value('x'))}|{label(s.grad('x'))}"
    assert labels[(key["z"], key["f"])] == "-4|3"
    edges = {k for k in labels if len(k) == 2}
    assert len(edges) == len(scene.wires)


def test_dot_at_a_step_leaves_out_what_is_not_computed():
    labels = dot_labels(dot(scene_of(session_at(CHAIN, 6)), "chain"))
    assert labels[("b0", "b3")] == "-2|"            # x's value; nothing sent back yet


def mermaid_parts(text: str):
    nodes = dict(re.findall(r'^  (b\d+)\["(.*)"\]$', text, re.M))
    edges = re.findall(r'^  (b\d+) (?:-->|-\.->)\|"(.*)"\| (b\d+|exit\d+)$', text, re.M)
    return nodes, edges


def unescape_mermaid(text: str) -> str:
    assert '"' not in text and "<" not in text.replace("<br/>", "")
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text).replace("<br/>", "|")


def test_mermaid_has_every_node_and_edge():
    s = session_at(SQUARE)
    scene = scene_of(s)
    nodes, edges = mermaid_parts(mermaid(scene, "sq"))
    assert set(nodes) == {f"b{b.key}" for b in scene.boxes}
    assert len(edges) == len(scene.wires)
    x, y = s.graph.index("x"), s.graph.index("y")
    assert [unescape_mermaid(t) for a, t, b in edges if (a, b) == (f"b{x}", f"b{y}")] == ["3|◀ 3", "3|◀ 3"]
    assert unescape_mermaid(nodes[f"b{y}"]) == "y = x*x|df/dy = 1"


def test_svg_is_well_formed_with_every_name_and_value():
    s = session_at(CHAIN)
    scene = scene_of(s)
    root = ET.fromstring(svg(scene, drawing_of(scene), "chain <rule> & \"f\""))
    texts = [("".join(t.itertext()), t.get("class")) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    shown = {text for text, _ in texts}
    for name in "xyzqf":
        i = s.graph.index(name)
        assert any(re.match(rf"(.* )?{name}( = .*)?$", t) for t in shown), name
        assert (label(s.values[i]), "value") in texts
        assert (f"df/d{name} = {label(s.grads[i])}", "grad") in texts
    assert root.find("{http://www.w3.org/2000/svg}title").text == 'chain <rule> & "f"'


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "svg"])
def test_names_with_quotes_brackets_and_angles_cannot_break_a_format(fmt):
    s = session_at("x = 2\ny = 3\nq = x * y\nf = q + x\n")
    weird = 'a "b" [c] <d> &e #f `g` *h* \\i'
    s.graph.nodes[0].name = weird
    scene = scene_of(s)
    if fmt == "dot":
        labels = dot_labels(dot(scene, weird))
        assert labels[("b0",)] == f"{weird}|df/d{weird} = 4"
        assert labels[("b2",)] == f"q = {weird}*y|df/dq = 1"
    elif fmt == "mermaid":
        nodes, _ = mermaid_parts(mermaid(scene, weird))
        assert unescape_mermaid(nodes["b0"]) == f"{weird}|df/d{weird} = 4"
    else:
        root = ET.fromstring(svg(scene, drawing_of(scene), weird))
        assert weird in {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}


# ---- the command ----------------------------------------------------------------------------------------

def test_graph_command_writes_each_format(tmp_path, capsys):
    for name, check in (("c.svg", lambda t: ET.fromstring(t)), ("c.dot", DOT.parse),
                        ("c.mmd", lambda t: mermaid_parts(t)[1] or pytest.fail(t))):
        assert cli_main(["graph", str(EXAMPLES / "chain_rule.bp"), "-o", str(tmp_path / name)]) == 0
        check((tmp_path / name).read_text())
    assert cli_main(["graph", "-e", "f = (x + y) * z", "--set", "x=-2", "--set", "y=5", "--set", "z=-4",
                     "--format", "mermaid", "--at", "7"]) == 0
    out = capsys.readouterr().out
    assert "step 7 of 10 (backward pass)" in out and "f = q#42;z" not in out and "f = f.1#42;z" in out


def graph_cli(capsys, *args) -> tuple:
    """`bpdebug graph ARGS` in this process: (exit code, stdout, stderr)."""
    try:
        code = cli_main(["graph", *map(str, args)])
    except SystemExit as stop:                  # argparse's usage errors
        code = stop.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err
    return code, out, err


@pytest.mark.parametrize("at", ["-1", "11", "ten", "inf", "nan", "1e309", "2.5"])
def test_graph_command_refuses_a_bad_step(at, capsys):
    code, out, err = graph_cli(capsys, EXAMPLES / "chain_rule.bp", "--at", at)
    assert code == 2 and out == ""
    assert err == f"bpdebug: error: --at expects a step number from 0 to 10 (this program has 10 steps), got '{at}'\n"


def test_graph_command_refuses_a_bad_format_and_an_unwritable_output(tmp_path, capsys):
    chain = EXAMPLES / "chain_rule.bp"
    code, _, err = graph_cli(capsys, chain, "--format", "png")
    assert code == 2 and "invalid choice: 'png'" in err
    code, _, err = graph_cli(capsys, chain, "-o", tmp_path / "c.png")
    assert code == 2 and "cannot tell the format from the name" in err
    code, _, err = graph_cli(capsys, chain, "-o", tmp_path / "no" / "c.svg")
    assert code == 2 and "cannot write" in err and "No such file or directory" in err
    code, _, err = graph_cli(capsys, chain, "--format", "svg", "-o", tmp_path)
    assert code == 2 and "cannot write" in err and "Is a directory" in err


def test_graph_command_in_a_process_exits_2_with_one_line():
    done = bp("graph", "examples/chain_rule.bp", "--at", "1e309")
    assert_clean_failure(done, "--at expects a step number from 0 to 10")
    assert len(done.stderr.strip().splitlines()) == 1
