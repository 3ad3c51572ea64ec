"""From the syntax tree to a computational graph: nodes in topological order, each naming an
op from the op table. Expands `def` calls (inline sub-graphs or one custom-op node), `layer`
sugar and cost functions into ordinary nodes. Builds; never evaluates (beyond shapes).

Nothing here recurses over expressions: a program may nest 100,000 levels deep.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .lang import ast
from .lang import BpError, Span, did_you_mean
from .ops import BINARY, FUNCTIONS, OPS, Op, infer_shape

LEAF_KINDS = ("leaf", "param", "data")
INITIALIZERS = ("zeros", "ones", "randn", "uniform", "eye")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "softmax", "softplus", "identity")
COSTS = ("quadratic", "cross_entropy", "softmax_cross_entropy")
MAX_TENSOR_DEPTH = 32
MAX_CALL_DEPTH = 64                # `def` calls inside `def` calls; expanding them recurses


@dataclass(eq=False)
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
    def __init__(self, nodes, names, output, calls, source, filename, defs):
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
        self.defs = defs
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
            raise BpError(f"no node named '{name}'", hint=did_you_mean(name, self.names)) from None

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
        """The right-hand side of an op node: `q*z`, `0.5*C.3`."""
        return node.op.formula.format(*(self.label(j) for j in node.inputs))

    def local_text(self, node: Node, k: int) -> str:
        """The local derivative with respect to input k, as text: `z` for d(q*z)/dq."""
        if k >= len(node.op.local):
            return "?"
        return node.op.local[k].format(*(self.label(j) for j in node.inputs))

    def op_label(self, node: Node) -> str:
        """The op's name as users know it: a `def` call shows the def's name."""
        if node.op.name == "return":
            return self.calls[node.call].op
        return node.op_name

    def line(self, node: Node) -> str:
        """One node a line, like a jaxpr: `q = add x y`, `h1.z: (4, 3) = add h1.xW h1.b`."""
        shape = f": {node.shape}" if node.shape != () else ""
        if node.kind != "op":
            return f"{node.name}{shape} = {node.kind} {format_value(node.value)}"
        op = self.op_label(node)
        args = " ".join(self.nodes[j].name for j in node.inputs)
        attrs = "".join(f" {k}={v}" for k, v in node.attrs.items())
        return f"{node.name}{shape} = {op} {args}{attrs}"


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


def format_number(x: float) -> str:
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x)) if x != 0 or math.copysign(1, x) > 0 else "0"
    return f"{x:.6g}"


@dataclass
class _Def:
    node: ast.Def
    grads: dict = field(default_factory=dict)   # param -> ast.Grad


class _Builder:
    def __init__(self, program: ast.Program, base_dir=None, values: dict | None = None):
        self.program = program
        self.base_dir = base_dir
        self.values = dict(values or {})   # leaf values given from outside (`--set x=3`)
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.defined_at: dict[str, Span] = {}
        self.calls: list[InlineCall] = []
        self.defs: dict[str, _Def] = {}
        self.call_stack: list[int] = []
        self.expanding: list[str] = []     # the `def`s being expanded, shared with fragments
        self.counter = 0
        self.target = ""

    # ---- errors -------------------------------------------------------------------------
    def error(self, message, span, hint=None) -> BpError:
        return BpError(message, span, self.program.source, self.program.filename, hint)

    # ---- nodes --------------------------------------------------------------------------
    def fresh(self) -> str:
        self.counter += 1
        return f"{self.target}.{self.counter}"

    def add(self, name, op, inputs=(), *, kind="op", value=None, attrs=None, span=None) -> int:
        attrs = attrs or {}
        if kind == "op":
            shapes = [self.nodes[j].shape for j in inputs]
            try:
                shape = infer_shape(op, shapes, attrs)
            except (ValueError, TypeError, np.exceptions.AxisError) as err:
                names = [self.nodes[j].name for j in inputs]
                both = " and ".join(f"'{n}' {s}" for n, s in zip(names, shapes))
                raise self.error(f"shapes do not fit at node '{name}' ({op.name}): {both}",
                                 span, hint=_shape_hint(op, str(err))) from None
            needs = any(self.nodes[j].needs_grad for j in inputs)
        else:
            shape = np.shape(value)
            needs = kind in LEAF_KINDS
        node = Node(len(self.nodes), name, op, tuple(inputs), tuple(shape), kind, value, attrs, span,
                    self.call_stack[-1] if self.call_stack else None, needs)
        self.nodes.append(node)
        return node.index

    def bind(self, name: str, index: int, span: Span) -> None:
        if name in self.names:
            where = self.defined_at[name]
            raise self.error(f"'{name}' is already defined" + (f" (at line {where.line})" if where else "")
                             + "; every name is assigned once", span)
        self.names[name] = index
        self.defined_at[name] = span

    # ---- statements ---------------------------------------------------------------------
    def build(self) -> Graph:
        statements = self.program.statements
        for st in statements:
            if isinstance(st, ast.Def):
                self.define(st)
            elif isinstance(st, ast.Grad):
                self.add_grad(st)
        assigned = {st.name for st in statements if isinstance(st, (ast.Assign, ast.Layer))}
        assigned |= {f"{st.name}.{p}" for st in statements if isinstance(st, ast.Layer) for p in "Wb"}
        for name, value in self.values.items():
            if name not in assigned:  # `-e 'f = x * y' --set x=2 --set y=3`: leaves from outside
                self.bind(name, self.add(name, OPS["leaf"], kind="leaf", value=value), None)
        # The output: named by `output NAME`, else declared by the last `loss`, else the last
        # assignment.
        output, output_span = None, None
        for st in statements:
            declared = isinstance(output, ast.Output) or (isinstance(output, ast.Assign) and output.kind == "loss")
            if isinstance(st, ast.Assign):
                self.assign(st)
                if not isinstance(output, ast.Output) and (st.kind == "loss" or not declared):
                    output, output_span = st, st.name_span
            elif isinstance(st, ast.Layer):
                self.layer(st)
                if not declared:
                    output, output_span = st, st.span
            elif isinstance(st, ast.Output):
                output, output_span = st, st.span
        if output is None:
            raise self.error("the program has no assignment, so there is nothing to compute", None)
        name = output.name
        if name not in self.names:
            raise self.error(f"output '{name}' is not defined", output_span,
                             did_you_mean(name, self.names))
        out = self.names[name]
        node = self.nodes[out]
        if int(np.prod(node.shape)) != 1:
            raise self.error(
                f"the output '{node.name}' has shape {node.shape}; the backward pass needs a scalar "
                "output", output_span,
                "reduce it with sum(...) or mean(...), or name a scalar with `output NAME`")
        return Graph(self.nodes, self.names, out, self.calls, self.program.source,
                     self.program.filename, {k: v.node for k, v in self.defs.items()})

    def define(self, st: ast.Def) -> None:
        if st.name in self.defs:
            raise self.error(f"op '{st.name}' is already defined", st.span)
        if st.name in FUNCTIONS or st.name in INITIALIZERS or st.name in COSTS:
            raise self.error(f"'{st.name}' is a built-in function; give the op another name", st.span)
        if len(set(st.params)) != len(st.params):
            raise self.error(f"op '{st.name}' names a parameter twice", st.span)
        self.defs[st.name] = _Def(st)

    def add_grad(self, st: ast.Grad) -> None:
        d = self.defs.get(st.op)
        if d is None:
            raise self.error(f"grad for unknown op '{st.op}'", st.span, did_you_mean(st.op, self.defs))
        if st.wrt not in d.node.params:
            params = ", ".join(d.node.params) or "none"
            raise self.error(f"op '{st.op}' has no parameter '{st.wrt}' (its parameters: {params})",
                             st.wrt_span, did_you_mean(st.wrt, d.node.params))
        if st.wrt in d.grads:
            raise self.error(f"a second grad for '{st.op}' wrt '{st.wrt}'", st.span)
        d.grads[st.wrt] = st

    def assign(self, st: ast.Assign) -> None:
        self.target, self.counter = st.name, 0
        if st.kind == "data":
            from .data import load_data
            # A value from outside (a trainer's mini-batch, --set) replaces reading the file.
            value = self.values[st.name] if st.name in self.values else load_data(st.expr, self)
            index = self.add(st.name, OPS["leaf"], kind="data", value=value, span=st.name_span)
        elif _is_constant(st.expr):
            value = self.values[st.name] if st.name in self.values else self.constant(st.expr)
            index = self.add(st.name, OPS["leaf"], kind="param" if st.kind == "param" else "leaf",
                             value=value, span=st.name_span)
        elif st.name in self.values:
            raise self.error(f"'{st.name}' is computed here, not a leaf, so it cannot be set", st.name_span)
        else:
            if st.kind == "param":
                raise self.error("a param must be a value (a number, a tensor or an initializer "
                                 "such as randn(3, 2)), not a computation", st.expr.span)
            # The root node takes the statement's name; `y = x` just makes `y` another name for x.
            index = self.expr(st.expr, st.name, {})
        self.bind(st.name, index, st.name_span)

    # ---- expressions (iterative) ----------------------------------------------------------
    def expr(self, root, target: str, env: dict) -> int:
        """Build nodes for `root`; the root node is named `target`, the others `target.N`."""
        results: list[int] = []
        stack = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if isinstance(e, ast.Num):
                results.append(self.add(self.fresh(), OPS["const"], kind="const", value=e.value, span=e.span))
            elif isinstance(e, ast.Name):
                results.append(self.lookup(e, env))
            elif isinstance(e, ast.Str):
                raise self.error("a string is only allowed as an argument of csv(...) or npy(...)", e.span)
            elif _is_constant(e):
                results.append(self.add(self.fresh(), OPS["const"], kind="const",
                                        value=self.constant(e), span=e.span))
            elif isinstance(e, ast.Tensor):
                raise self.error("a tensor literal holds numbers only", _first_non_number(e).span,
                                 "build tensors from nodes with ops, or make this a leaf")
            elif not ready:
                stack.append((e, True))
                children = _children(e)
                if isinstance(e, ast.Call):
                    self.check_call(e)
                stack.extend((c, False) for c in reversed(children))
            else:
                n = len(_children(e))
                args = results[len(results) - n:] if n else []
                del results[len(results) - n:]
                results.append(self.apply(e, args, env, target if not stack else None))
        (index,) = results
        return index

    def lookup(self, e: ast.Name, env: dict) -> int:
        if e.name in env:
            return env[e.name]
        if e.name in self.names and env.get("__def__") is None:
            return self.names[e.name]
        if env.get("__def__") is not None:
            d = env["__def__"]
            raise self.error(f"'{e.name}' is not a parameter of op '{d}'", e.span,
                             did_you_mean(e.name, [k for k in env if not k.startswith("__")]))
        later = next((st for st in self.program.statements
                      if isinstance(st, (ast.Assign, ast.Layer)) and st.name == e.name), None)
        if later is not None:
            raise self.error(f"'{e.name}' is used before it is defined (at line {later.span.line})",
                             e.span, "define it above this line")
        if e.name in FUNCTIONS or e.name in self.defs:
            raise self.error(f"'{e.name}' is a function; call it with arguments: {e.name}(...)", e.span)
        raise self.error(f"undefined name '{e.name}'", e.span, did_you_mean(e.name, self.names))

    def check_call(self, e: ast.Call) -> None:
        name = e.func
        if name in self.defs:
            params = self.defs[name].node.params
            if e.kwargs:
                raise self.error(f"op '{name}' takes its arguments in order, without names: "
                                 f"{name}({', '.join(params)})", e.kwargs[0][2])
            if len(e.args) != len(params):
                raise self.error(f"op '{name}' takes {len(params)} argument(s) ({', '.join(params)}), "
                                 f"got {len(e.args)}", e.span)
            return
        if name in INITIALIZERS:
            return
        if name in COSTS:
            if len(e.args) != 2:
                raise self.error(f"{name}(prediction, target) takes 2 arguments", e.span)
            return
        op = FUNCTIONS.get(name)
        if op is None:
            raise self.error(f"unknown function '{name}'", e.func_span,
                             did_you_mean(name, list(FUNCTIONS) + list(self.defs) + list(INITIALIZERS)))
        if len(e.args) != op.arity:
            raise self.error(f"{name}() takes {op.arity} argument(s), got {len(e.args)}", e.span)
        for key, _value, span in e.kwargs:
            if key not in op.attrs:
                accepted = ", ".join(op.attrs) or "no keyword arguments"
                raise self.error(f"{name}() has no argument '{key}' (it accepts {accepted})", span,
                                 did_you_mean(key, op.attrs))

    def apply(self, e, args: list[int], env: dict, root_name: str | None) -> int:
        if isinstance(e, ast.Call) and e.func in self.defs and not self.defs[e.func].grads:
            return self.call_def(e, args, root_name)  # names its return node after the body's
        name = root_name or self.fresh()
        if isinstance(e, ast.Unary):
            if e.op != "neg":
                raise self.error("'not' belongs in breakpoint conditions, not in programs", e.span)
            return self.add(name, OPS["neg"], args, span=e.span)
        if isinstance(e, ast.Binary):
            if e.op not in BINARY:
                raise self.error(f"'{e.op}' belongs in breakpoint conditions, not in programs", e.span)
            return self.add(name, OPS[e.op], args, span=e.span)
        assert isinstance(e, ast.Call)
        if e.func in self.defs:
            return self.call_def(e, args, name)
        if e.func in COSTS:
            return self.cost(e, args, name)
        attrs = {key: self.attr_value(value) for key, value, _span in e.kwargs}
        return self.add(name, FUNCTIONS[e.func], args, attrs=attrs, span=e.span)

    def attr_value(self, e):
        if isinstance(e, ast.Num) and e.value == int(e.value):
            return int(e.value)
        if isinstance(e, ast.Tensor) and all(isinstance(i, ast.Num) and i.value == int(i.value) for i in e.items):
            return tuple(int(i.value) for i in e.items)
        raise self.error("expected a whole number or a list of them, such as axis=0", e.span)

    # ---- user ops -------------------------------------------------------------------------
    def call_def(self, e: ast.Call, args: list[int], name: str | None) -> int:
        d = self.defs[e.func]
        if e.func in self.expanding:
            raise self.error(f"op '{e.func}' calls itself; ops cannot be recursive", e.span)
        if len(self.expanding) >= MAX_CALL_DEPTH:
            raise self.error(f"ops call ops more than {MAX_CALL_DEPTH} levels deep here", e.span)
        self.expanding.append(e.func)
        try:
            return self.expand_def(e, d, args, name)
        finally:
            self.expanding.pop()

    def expand_def(self, e: ast.Call, d: _Def, args: list[int], name: str | None) -> int:
        if d.grads:
            from .custom import custom_op
            op = custom_op(d.node, d.grads, [self.nodes[j].shape for j in args], self)
            return self.add(name, op, args, span=e.span)
        call_index = len(self.calls)
        self.calls.append(InlineCall(e.func, len(self.nodes), -1))
        arg_names = tuple(self.nodes[j].name for j in args)
        self.call_stack.append(call_index)
        env = dict(zip(d.node.params, args), __def__=e.func)
        body = self.expr(d.node.body, None, env)
        ret = self.add(name or self.fresh(), OPS["return"], (body,), span=e.span)
        self.call_stack.pop()
        self.calls[call_index] = InlineCall(e.func, self.calls[call_index].start, ret, arg_names)
        return ret

    def fragment(self, expr, leaves: dict, op_name: str) -> Graph:
        """A stand-alone graph for a `def` body or grad line, its parameters as leaves."""
        sub = _Builder(self.program, self.base_dir)
        sub.defs = self.defs
        sub.expanding = self.expanding
        sub.target = op_name
        env = {"__def__": op_name}
        for name, shape in leaves.items():
            env[name] = sub.add(name, OPS["leaf"], kind="leaf", value=np.zeros(shape) if shape else 0.0)
            sub.names[name] = env[name]
        root = sub.expr(expr, f"{op_name}.out", env)
        return Graph(sub.nodes, sub.names, root, sub.calls, self.program.source,
                     self.program.filename, {})

    # ---- network sugar --------------------------------------------------------------------
    def layer(self, st: ast.Layer) -> None:
        call = st.call
        self.target, self.counter = st.name, 0
        if call.func != "dense":
            raise self.error(f"unknown layer '{call.func}'", call.func_span, "layers are dense(input, units, act=...)")
        kw = {k: (v, s) for k, v, s in call.kwargs}
        for key in kw:
            if key not in ("act", "W", "b", "seed", "units"):
                raise self.error(f"dense() has no argument '{key}' (it accepts units, act, W, b, seed)",
                                 kw[key][1], did_you_mean(key, ("act", "W", "b", "seed", "units")))
        if not call.args or not isinstance(call.args[0], ast.Name):
            raise self.error("dense() needs its input as the first argument, a node name", call.span)
        x = self.lookup(call.args[0], {})
        in_shape = self.nodes[x].shape
        if len(in_shape) not in (1, 2):
            raise self.error(f"dense() needs a vector or a batch of rows as input; '{self.nodes[x].name}' "
                             f"has shape {in_shape}", call.args[0].span)
        fan_in = in_shape[-1]
        if "W" in kw:
            W = self.constant(kw["W"][0])
        else:
            units = call.args[1] if len(call.args) > 1 else kw.get("units", (None,))[0]
            if not (isinstance(units, ast.Num) and units.value >= 1 and units.value == int(units.value)):
                raise self.error("dense() needs the number of units, or W=[[...]]", call.span)
            seed = int(kw["seed"][0].value) if "seed" in kw else len(self.nodes)
            W = np.random.default_rng(seed).standard_normal((fan_in, int(units.value))) / math.sqrt(fan_in)
        # A value from outside (`--set h.W=...`, a trace's trained params) replaces the layer's own.
        W = np.asarray(self.values.get(f"{st.name}.W", W), dtype=float)
        if W.ndim != 2 or W.shape[0] != fan_in:
            raise self.error(f"W must have shape ({fan_in}, units) to multiply '{self.nodes[x].name}' "
                             f"{in_shape}; got {W.shape}", kw["W"][1] if "W" in kw else call.span)
        b = np.asarray(self.constant(kw["b"][0]), dtype=float) if "b" in kw else np.zeros(W.shape[1])
        b = np.asarray(self.values.get(f"{st.name}.b", b), dtype=float)
        if b.shape != (W.shape[1],):
            raise self.error(f"b must have shape ({W.shape[1]},); got {b.shape}", kw["b"][1])
        act = "identity"
        if "act" in kw:
            a = kw["act"][0]
            if not isinstance(a, ast.Name) or a.name not in ACTIVATIONS:
                raise self.error(f"act must be one of {', '.join(ACTIVATIONS)}", kw["act"][1],
                                 did_you_mean(getattr(a, "name", ""), ACTIVATIONS))
            act = a.name
        n = st.name
        w = self.add(f"{n}.W", OPS["leaf"], kind="param", value=W, span=st.span)
        self.bind(f"{n}.W", w, st.span)
        bias = self.add(f"{n}.b", OPS["leaf"], kind="param", value=b, span=st.span)
        self.bind(f"{n}.b", bias, st.span)
        xw = self.add(f"{n}.xW", OPS["matmul"], (x, w), span=st.span)
        self.bind(f"{n}.xW", xw, st.span)
        z = self.add(f"{n}.z", OPS["add"], (xw, bias), span=st.span)
        self.bind(f"{n}.z", z, st.span)
        out = z
        if act != "identity":
            out = self.add(f"{n}.a", OPS[act], (z,), span=st.span)
            self.bind(f"{n}.a", out, st.span)
        self.bind(n, out, st.span)

    def cost(self, e: ast.Call, args: list[int], name: str) -> int:
        a, y = args
        pa, py = self.nodes[a].shape, self.nodes[y].shape
        rows = pa[0] if len(pa) == 2 else 1
        s = e.span
        if e.func == "quadratic":        # C = 0.5 * sum((a - y)^2) / rows
            diff = self.add(self.fresh(), OPS["sub"], (a, y), span=s)
            sq = self.add(self.fresh(), OPS["mul"], (diff, diff), span=s)
            total = self.add(self.fresh(), OPS["sum"], (sq,), span=s)
            scale = 0.5 / rows
        elif e.func == "cross_entropy":  # C = -sum(y log a + (1-y) log(1-a)) / rows
            one = self.add(self.fresh(), OPS["const"], kind="const", value=1.0, span=s)
            la = self.add(self.fresh(), OPS["log"], (a,), span=s)
            na = self.add(self.fresh(), OPS["sub"], (one, a), span=s)
            lna = self.add(self.fresh(), OPS["log"], (na,), span=s)
            ny = self.add(self.fresh(), OPS["sub"], (one, y), span=s)
            t1 = self.add(self.fresh(), OPS["mul"], (y, la), span=s)
            t2 = self.add(self.fresh(), OPS["mul"], (ny, lna), span=s)
            total = self.add(self.fresh(), OPS["add"], (t1, t2), span=s)
            total = self.add(self.fresh(), OPS["sum"], (total,), span=s)
            scale = -1.0 / rows
        else:                            # softmax_cross_entropy(z, y) = -sum(y log_softmax(z)) / rows
            ls = self.add(self.fresh(), OPS["log_softmax"], (a,), span=s)
            t = self.add(self.fresh(), OPS["mul"], (y, ls), span=s)
            total = self.add(self.fresh(), OPS["sum"], (t,), span=s)
            scale = -1.0 / rows
        if py != pa:
            raise self.error(f"{e.func}: prediction '{self.nodes[a].name}' {pa} and target "
                             f"'{self.nodes[y].name}' {py} must have the same shape", s)
        c = self.add(self.fresh(), OPS["const"], kind="const", value=scale, span=s)
        return self.add(name, OPS["mul"], (c, total), span=s)

    # ---- constants --------------------------------------------------------------------------
    def constant(self, e):
        """The value of a literal, tensor literal or initializer call."""
        if isinstance(e, ast.Num):
            return e.value
        if isinstance(e, ast.Tensor):
            return self.tensor(e)
        if isinstance(e, ast.Call) and e.func in INITIALIZERS:
            return self.initializer(e)
        raise self.error("expected a number, a tensor literal or an initializer", e.span)

    def tensor(self, root: ast.Tensor) -> np.ndarray:
        # Iterative, with the shape checked at every level, so ragged input gets a located error.
        shapes: dict[int, tuple] = {}
        stack = [(root, 0, False)]
        while stack:
            e, depth, done = stack.pop()
            if depth > MAX_TENSOR_DEPTH:
                raise self.error(f"tensor literal nested deeper than {MAX_TENSOR_DEPTH} levels", e.span)
            if isinstance(e, ast.Num):
                shapes[id(e)] = ()
                continue
            if not isinstance(e, ast.Tensor):
                raise self.error("a tensor literal holds numbers only", e.span)
            if not done:
                stack.append((e, depth, True))
                stack.extend((i, depth + 1, False) for i in e.items)
                continue
            if not e.items:
                raise self.error("empty tensor literal; use zeros(n) for an empty-looking tensor", e.span)
            first = shapes[id(e.items[0])]
            for item in e.items[1:]:
                if shapes[id(item)] != first:
                    raise self.error(f"ragged tensor literal: this entry has shape {shapes[id(item)]}, "
                                     f"the first has shape {first}", item.span)
            shapes[id(e)] = (len(e.items),) + first
        flat = []
        stack = [root]
        while stack:
            e = stack.pop()
            if isinstance(e, ast.Num):
                flat.append(e.value)
            else:
                stack.extend(reversed(e.items))
        return np.array(flat, dtype=float).reshape(shapes[id(root)])

    def initializer(self, e: ast.Call) -> np.ndarray:
        dims = []
        for a in e.args:
            if not (isinstance(a, ast.Num) and a.value == int(a.value) and a.value >= 0):
                raise self.error(f"{e.func}() takes whole-number sizes", a.span)
            dims.append(int(a.value))
        if not dims:
            raise self.error(f"{e.func}() needs at least one size, such as {e.func}(3)", e.span)
        allowed = {"zeros": (), "ones": (), "eye": (), "randn": ("seed", "scale"),
                   "uniform": ("lo", "hi", "seed")}[e.func]
        kw = {}
        for key, value, span in e.kwargs:
            if key not in allowed:
                raise self.error(f"{e.func}() has no argument '{key}'" +
                                 (f" (it accepts {', '.join(allowed)})" if allowed else ""), span)
            if not isinstance(value, ast.Num):
                raise self.error(f"{key}= takes a number", value.span)
            kw[key] = value.value
        if int(np.prod(dims)) > 50_000_000:
            raise self.error(f"{e.func}{tuple(dims)} is too large", e.span)
        rng = np.random.default_rng(int(kw.get("seed", 0)))
        if e.func == "zeros":
            return np.zeros(dims)
        if e.func == "ones":
            return np.ones(dims)
        if e.func == "eye":
            if len(dims) != 1:
                raise self.error("eye(n) takes one size", e.span)
            return np.eye(dims[0])
        if e.func == "randn":
            return rng.standard_normal(dims) * kw.get("scale", 1.0)
        return rng.uniform(kw.get("lo", -1.0), kw.get("hi", 1.0), dims)


def _children(e) -> tuple:
    if isinstance(e, ast.Unary):
        return (e.operand,)
    if isinstance(e, ast.Binary):
        return (e.left, e.right)
    if isinstance(e, ast.Call):
        return e.args
    return ()


def _is_constant(e) -> bool:
    """A literal number, a tensor literal of numbers, or an initializer call."""
    if isinstance(e, ast.Num):
        return True
    if isinstance(e, ast.Call):
        return e.func in INITIALIZERS
    if not isinstance(e, ast.Tensor):
        return False
    stack = list(e.items)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Tensor):
            stack.extend(item.items)
        elif not isinstance(item, ast.Num):
            return False
    return True


def _first_non_number(e: ast.Tensor):
    stack = list(reversed(e.items))
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Tensor):
            stack.extend(reversed(item.items))
        elif not isinstance(item, ast.Num):
            return item
    return e


def _shape_hint(op: Op, detail: str) -> str | None:
    if op.name == "matmul":
        return "for a @ b, the last axis of a must match the first axis of b (transpose(...) may help)"
    if op.elementwise:
        return "elementwise ops need shapes that broadcast (numpy rules: trailing axes equal or 1)"
    return detail or None


def build(program: ast.Program, base_dir=None, values: dict | None = None) -> Graph:
    return _Builder(program, base_dir, values).build()
