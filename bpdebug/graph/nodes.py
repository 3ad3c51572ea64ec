"""The computational graph: nodes in topological order, each naming an op from the op table,
and how a node reads as code (`q = add x y`, `f = q*z`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..lang import BpError, Span, did_you_mean
from ..numbers import format_number
from ..ops import LIST, Op

LEAF_KINDS = ("leaf", "param", "data")


def split_version(name: str) -> tuple[str, int | None]:
    """`c#2` -> ("c", 2): the second version of a rebound `c`; a plain name -> (name, None)."""
    base, mark, k = name.partition("#")
    return (base, int(k)) if mark and k.isdigit() else (name, None)


def name_hint(name: str, names) -> str | None:
    """A hint for a name that is not there: the versions a rebound name has, or a close name."""
    base, k = split_version(name)
    if k is None or base not in names:
        return did_you_mean(name, names)
    n = sum(1 for other in names if split_version(other)[0] == base and other != base)
    return (f"'{base}' is assigned {n} times: {base}#1 to {base}#{n}" if n else
            f"'{base}' is assigned once, so it has no numbered versions")


@dataclass(eq=False, slots=True)
class Node:
    index: int
    name: str
    op: Op
    inputs: tuple
    shape: tuple
    kind: str = "op"               # leaf, param, data, const or op
    value: object = None           # the fixed value of a leaf or constant
    attrs: dict = field(default_factory=dict)
    span: Span | None = None
    call: int | None = None        # the innermost inlined `def` call this node belongs to
    needs_grad: bool = True
    onnx_name: str | None = None   # an ONNX model's name for the tensor (bpdebug.imports)

    @property
    def is_leaf(self) -> bool:
        return self.kind in LEAF_KINDS

    @property
    def op_name(self) -> str:
        return self.op.name if self.kind == "op" else self.kind


@dataclass(frozen=True)
class InlineCall:
    """A call of a `def` without grad lines: body nodes start..end-1, return node at end."""

    op: str
    start: int
    end: int
    args: tuple = ()


class Graph:
    def __init__(self, nodes, names, output, calls, source, filename, shadowing):
        self.nodes: list[Node] = nodes
        self.names: dict[str, int] = names      # every name, aliases (`h1` for `h1.a`) included
        self.output: int = output
        self.calls: list[InlineCall] = calls
        # For `next`: the outermost call that starts (forward) or ends (backward) at a node.
        self.call_end: dict[int, int] = {}
        self.call_start: dict[int, int] = {}
        for c in calls:
            self.call_end[c.start] = max(c.end, self.call_end.get(c.start, c.end))
            self.call_start[c.end] = min(c.start, self.call_start.get(c.end, c.start))
        self.source = source
        self.filename = filename
        self.shadowing = shadowing   # def name -> the program's ast.Def that shadows a built-in
        self.origin = None      # how to build it again with other leaf values (set by who loaded it)
        self.data_files: tuple = ()            # the files data leaves were read from
        self.consumers: list[list[int]] = [[] for _ in nodes]
        for node in nodes:
            # Nodes the builder named (`f.1`, a def body's `y.2`) are shown by `list` and in
            # events, so commands must reach them too; a user name never looks like one.
            names.setdefault(node.name, node.index)
            for j in dict.fromkeys(node.inputs):
                self.consumers[j].append(node.index)

    def __len__(self) -> int:
        return len(self.nodes)

    def index(self, name: str) -> int:
        """The node named `name`; BpError with a suggestion if there is none."""
        try:
            return self.names[name]
        except KeyError:
            raise BpError(f"no node named '{name}'", hint=name_hint(name, self.names)) from None

    def node(self, name: str) -> Node:
        return self.nodes[self.index(name)]

    def formula(self, node: Node) -> str:
        """How the node reads as code: `f = q*z`; a call of a `def` reads `y = sq(x)`."""
        if node.kind != "op":
            return f"{node.name} = {format_value(node.value)}"
        if node.op.name == "return":
            call = self.calls[node.call]
            return f"{node.name} = {call.op}({', '.join(call.args)})"
        return f"{node.name} = {self.expression(node)}"

    def label(self, j: int) -> str:
        """How an input reads in a formula: a scalar constant by its value, a node by its name."""
        n = self.nodes[j]
        return format_value(n.value) if n.kind == "const" and n.shape == () else n.name

    def expression(self, node: Node) -> str:
        """The right-hand side of an op node: `q*z`, `0.5*C.3`, `sum(x, axis=1)`,
        `concat([a, b])`: attributes the formula does not show are added when not the default."""
        op, labels = node.op, [self.label(j) for j in node.inputs]
        if op.arity == LIST:
            text = f"{op.formula}([{', '.join(labels)}])"
        else:
            text = op.formula.format(*labels, **_attr_texts(node.attrs))
        extra = [f"{k}={_attr_text(v)}" for k, v in node.attrs.items()
                 if v != op.attrs.get(k) and "{" + k + "}" not in op.formula]
        return f"{text[:-1]}, {', '.join(extra)})" if extra and text.endswith(")") else text

    def local_text(self, node: Node, k: int) -> str:
        """The local derivative with respect to input k, as text: `z` for d(q*z)/dq."""
        texts = node.op.local
        if node.op.arity == LIST and texts:
            return texts[0]              # one rule for every part
        if k >= len(texts):
            return "?"
        return texts[k].format(*(self.label(j) for j in node.inputs), **_attr_texts(node.attrs))

    def op_label(self, node: Node) -> str:
        """The op's name as users know it: a `def` call shows the def's name."""
        if node.op.name == "return":
            return self.calls[node.call].op
        return node.op_name

    def shadowing_def(self, node: Node):
        """The user's `def` this node calls, when it has a built-in function's name (the
        program's own definition wins, and every view says so); else None."""
        is_call = node.op.custom is not None or node.op.name == "return"
        return self.shadowing.get(self.op_label(node)) if is_call else None

    def line(self, node: Node) -> str:
        """One node a line, like a jaxpr: `q = add x y`, `h1.z: (4, 3) = add h1.xW h1.b`,
        `y = index x [1:3]`."""
        shape = f": {node.shape}" if node.shape != () else ""
        if node.kind != "op":
            return f"{node.name}{shape} = {node.kind} {format_value(node.value)}"
        op = self.op_label(node)
        args = " ".join(self.nodes[j].name for j in node.inputs)
        attrs = "".join(f" {_attr_text(v)}" if k == "key" else f" {k}={_attr_text(v)}"
                        for k, v in node.attrs.items() if v != node.op.attrs.get(k))
        d = self.shadowing_def(node)
        mine = f"   # your def {d.name} (line {d.span.line}), not the built-in" if d else ""
        return f"{node.name}{shape} = {op} {args}{attrs}{mine}"


def _attr_text(v) -> str:
    """An attribute as the user writes it: 0.01, 1, [2, 3], and an index key `[1:3, 0]`
    (a tuple of its own kind, which prints itself)."""
    if type(v) is tuple:
        return "[" + ", ".join(map(_attr_text, v)) + "]"
    return format_number(v) if isinstance(v, float) else str(v)


def _attr_texts(attrs: dict) -> dict:
    return {k: _attr_text(v) for k, v in attrs.items()}


def format_value(value, limit: int = 6) -> str:
    if value is None:
        return "—"
    if isinstance(value, (float, int, np.floating)) or np.ndim(value) == 0:
        return format_number(float(value))
    arr = np.asarray(value)
    if arr.size > limit:
        return f"array{arr.shape}"
    return np.array2string(arr, precision=4, separator=", ", suppress_small=False,
                           formatter={"float_kind": format_number}).replace("\n", "")
