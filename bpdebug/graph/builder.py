"""From the syntax tree to a computational graph: statements, names, expressions, and `def`
calls (inline sub-graphs or one custom-op node). Literals and initializers are in leaves.py,
`layer` and cost sugar in network.py, data files in data.py, Python's spellings of a call
(`x.relu()`, `np.exp(x)`) in spelling.py. Builds; never evaluates (beyond shapes).

What a name means, and the rules of assigning one again (`c += 1` makes version `c#k`), are
in names.py; what a call of a built-in means and whether it is well formed, in calls.py.

Nothing here recurses over expressions: a program may nest 100,000 levels deep.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..lang import ast
from ..lang import BpError, Span, did_you_mean
from ..ops import BINARY, FUNCTIONS, OPS, Op, function, infer_shape
from ..ops.indexing import Key, key_problem
from .arguments import check_size
from .calls import CallRules, sub_expressions
from .data import load_data
from .leaves import INITIALIZERS, constant, first_non_number, is_constant
from .names import NameRules
from .network import COSTS, cost, layer
from .nodes import LEAF_KINDS, Graph, InlineCall, Node, split_version
from .spelling import resolve

MAX_CALL_DEPTH = 64                # `def` calls inside `def` calls; expanding them recurses


@dataclass
class _Def:
    node: ast.Def
    grads: dict = field(default_factory=dict)   # param -> ast.Grad


class _Builder(NameRules, CallRules):
    def __init__(self, program: ast.Program, base_dir=None, values: dict | None = None,
                 ops: dict | None = None):
        self.program = program
        self.user_ops = ops or {}          # {name: Op}: ops written in Python (--ops), over built-ins
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
        self.versions: dict[str, int] = {}  # name -> how many assignments the program makes to it
        self.seen: dict[str, int] = {}      # name -> how many of them are built so far
        self.kinds: dict[str, str] = {}     # name -> what first bound it: "", param, data, loss, layer
        self.statement = None               # the statement being built
        self.data_files: list = []          # the paths data leaves were read from

    # ---- errors -------------------------------------------------------------------------
    def error(self, message, span, hint=None) -> BpError:
        return BpError(message, span, self.program.source, self.program.filename, hint)

    # ---- nodes --------------------------------------------------------------------------
    def fresh(self) -> str:
        self.counter += 1
        return f"{self.target}.{self.counter}"

    def add(self, name, op, inputs=(), *, kind="op", value=None, attrs=None, span=None) -> int:
        attrs = {**op.attrs, **attrs} if attrs else dict(op.attrs)   # every attribute, defaults included
        nodes = self.nodes
        if kind == "op":
            shapes = [nodes[j].shape for j in inputs]
            if op.elementwise and op.shape is None and shapes and not any(shapes):   # scalars: most nodes
                shape = ()
            else:
                shape = self.checked_shape(name, op, inputs, shapes, attrs, span)
            needs = not op.constant and any([nodes[j].needs_grad for j in inputs])
        else:
            shape = np.shape(value)
            check_size(self, f"{kind} '{name}'", shape, span)
            needs = kind in LEAF_KINDS
        node = Node(len(nodes), name, op, tuple(inputs), tuple(shape), kind, value, attrs, span,
                    self.call_stack[-1] if self.call_stack else None, needs)
        nodes.append(node)
        return node.index

    def checked_shape(self, name, op, inputs, shapes: list, attrs: dict, span) -> tuple:
        """The shape of a new node from its op's shape rule, within the size limit."""
        try:
            shape = infer_shape(op, shapes, attrs)
        except (ValueError, TypeError, np.exceptions.AxisError) as err:
            names = [self.nodes[j].name for j in inputs]
            both = " and ".join(f"'{n}' {s}" for n, s in zip(names, shapes))
            raise self.error(f"shapes do not fit at node '{name}' ({op.name}): {both}",
                             span, hint=_shape_hint(op, str(err))) from None
        check_size(self, f"node '{name}' ({op.name})", shape, span)
        return shape

    # ---- statements ---------------------------------------------------------------------
    def build(self) -> Graph:
        statements = self.program.statements
        for name in self.user_ops:
            if name in INITIALIZERS or name in COSTS:
                raise self.error(f"the op written in Python '{name}' has the name of a built-in "
                                 f"{'initializer' if name in INITIALIZERS else 'cost'}; give it another name", None)
        for st in statements:
            if isinstance(st, ast.Def):
                self.define(st)
            elif isinstance(st, ast.Grad):
                self.add_grad(st)
            elif isinstance(st, ast.Assign):
                self.versions[st.name] = self.versions.get(st.name, 0) + 1
                self.check_rebinding(st)
        assigned = {st.name for st in statements if isinstance(st, (ast.Assign, ast.Layer))}
        assigned |= {f"{st.name}.{p}" for st in statements if isinstance(st, ast.Layer) for p in "Wb"}
        assigned |= {f"{name}#{k}" for name, n in self.versions.items() if n > 1 for k in range(1, n + 1)}
        for key in list(self.values):   # `--set c#3=...` for the last of three is `--set c=...`
            base, k = split_version(key)
            if k is not None and k == self.versions.get(base, 0) > 1:
                self.values[base] = self.values.pop(key)
        used = _names_used(statements) if self.values else set()
        for name, value in self.values.items():
            if name in assigned:
                continue
            if name not in used:  # a typo would otherwise add a leaf nothing reads
                raise self.error(f"'{name}' is given a value (--set {name}=...), but the program neither "
                                 "defines nor uses it", None, did_you_mean(name, sorted(assigned | used)))
            # `-e 'f = x * y' --set x=2 --set y=3`: leaves from outside
            self.bind(name, self.add(name, OPS["leaf"], kind="leaf", value=value), None, "leaf")
        # The output: named by `output NAME`, else declared by the last `loss`, else the last
        # assignment.
        output, output_span = None, None
        for st in statements:
            self.statement = st
            declared = isinstance(output, ast.Output) or (isinstance(output, ast.Assign) and output.kind == "loss")
            if isinstance(st, ast.Assign):
                self.assign(st)
                if not isinstance(output, ast.Output) and (st.kind == "loss" or not declared):
                    output, output_span = st, st.name_span
            elif isinstance(st, ast.Layer):
                layer(self, st)
                if not declared:
                    output, output_span = st, st.span
            elif isinstance(st, ast.Output):
                output, output_span = st, st.span
        if output is None:
            raise self.error("the program has no assignment, so there is nothing to compute", None)
        name = output.name   # a rebound name: its newest version
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
        graph = Graph(self.nodes, self.names, out, self.calls, self.program.source, self.program.filename,
                      {k: d.node for k, d in self.defs.items() if k in FUNCTIONS or k in COSTS})
        graph.data_files = tuple(self.data_files)
        return graph

    def define(self, st: ast.Def) -> None:
        # A def may shadow a built-in function (`def sigmoid(z) = ...`): the program's own wins.
        if st.name in self.defs:
            raise self.error(f"op '{st.name}' is already defined", st.span)
        if st.name in self.user_ops:
            raise self.error(f"'{st.name}' is an op written in Python (--ops); give this one another name",
                             st.span)
        if st.name in INITIALIZERS:
            raise self.error(f"'{st.name}' makes a leaf (an initializer); give the op another name", st.span)
        if len(set(st.params)) != len(st.params):
            raise self.error(f"op '{st.name}' names a parameter twice", st.span)
        if "#" in st.name + "".join(st.params):
            raise self.error("'#' followed by digits names a version of a rebound name; an op and its "
                             "parameters need plain names", st.span)
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
        name = self.version(st)   # `c`, or `c#k` for an earlier of several assignments to c
        self.target, self.counter = name, 0
        if st.kind == "data":
            # A value from outside (a trainer's mini-batch, --set) replaces reading the file.
            value = self.values[name] if name in self.values else load_data(st.expr, self)
            index = self.add(name, OPS["leaf"], kind="data", value=value, span=st.name_span)
        elif is_constant(st.expr):
            value = self.values[name] if name in self.values else constant(self, st.expr)
            index = self.add(name, OPS["leaf"], kind="param" if st.kind == "param" else "leaf",
                             value=value, span=st.name_span)
        elif name in self.values:
            leaves = [v for v in (f"{st.name}#{k}" for k in range(1, self.seen[st.name]))
                      if self.nodes[self.names[v]].is_leaf]
            raise self.error(f"'{name}' is computed here, not a leaf, so it cannot be set", st.name_span,
                             f"its leaf is an earlier version: --set {leaves[-1]}=..." if leaves else None)
        else:
            if st.kind == "param":
                raise self.error("a param must be a value (a number, a tensor or an initializer "
                                 "such as randn(3, 2)), not a computation", st.expr.span)
            # The root node takes the statement's name; `y = x` just makes `y` another name for x.
            index = self.expr(st.expr, name, {})
        self.rebind(st, index)

    # ---- expressions (iterative) ----------------------------------------------------------
    def expr(self, root, target: str, env: dict) -> int:
        """Build nodes for `root`; the root node is named `target`, the others `target.N`."""
        results: list[int] = []
        stack = [(root, None)]
        while stack:
            e, n = stack.pop()   # n: how many inputs e's node takes, once its children are pushed
            kind = type(e)       # (most common first: a large program makes several a node)
            if n is not None:
                args = results[len(results) - n:] if n else []
                del results[len(results) - n:]
                results.append(self.apply(e, args, env, target if not stack else None))
            elif kind is ast.Name:
                results.append(self.lookup(e, env))
            elif kind is ast.Binary:
                left, right = e.left, e.right
                if type(left) is ast.Name and type(right) is ast.Name:   # `a + b`, without the stack
                    args = [self.lookup(left, env), self.lookup(right, env)]
                    results.append(self.apply(e, args, env, target if not stack else None))
                else:
                    stack.extend(((e, 2), (right, None), (left, None)))
            elif kind is ast.Num:
                results.append(self.add(self.fresh(), OPS["const"], kind="const", value=e.value, span=e.span))
            elif kind is ast.Str:
                raise self.error("a string is only allowed as an argument of csv(...) or npy(...)", e.span)
            elif is_constant(e):
                results.append(self.add(self.fresh(), OPS["const"], kind="const",
                                        value=constant(self, e), span=e.span))
            elif kind is ast.Tensor:
                item = first_non_number(e)
                raise self.error("a tensor literal holds numbers only", item.span, _missing_comma(item)
                                 or "build tensors from nodes with ops, or make this a leaf")
            else:
                if kind is ast.Call:
                    e = resolve(self, e)
                    self.check_call(e)
                children = self.children(e)
                stack.append((e, len(children)))
                stack.extend((c, None) for c in reversed(children))
        (index,) = results
        return index

    def lookup(self, e: ast.Name, env: dict) -> int:
        if e.name in env:
            return env[e.name]
        if not env and e.name in self.names:   # outside a def (a def's env names it)
            return self.names[e.name]
        if env.get("__def__") is not None:
            d = env["__def__"]
            raise self.error(f"'{e.name}' is not a parameter of op '{d}'", e.span,
                             did_you_mean(e.name, [k for k in env if not k.startswith("__")]))
        raise self.unknown_name(e)

    def apply(self, e, args: list[int], env: dict, root_name: str | None) -> int:
        kind = type(e)
        if kind is ast.Binary:
            if e.op not in BINARY:
                raise self.error(f"'{e.op}' belongs in breakpoint conditions, not in programs", e.span)
            return self.add(root_name or self.fresh(), OPS[e.op], args, span=e.span)
        if kind is ast.Call and e.func in self.defs and not self.defs[e.func].grads:
            return self.call_def(e, args, root_name)  # names its return node after the body's
        name = root_name or self.fresh()
        if kind is ast.Unary:
            if e.op != "neg":
                raise self.error("'not' belongs in breakpoint conditions, not in programs", e.span)
            return self.add(name, OPS["neg"], args, span=e.span)
        if isinstance(e, ast.Index):
            return self.add(name, OPS["index"], args, attrs={"key": self.index_key(e, args[0])}, span=e.span)
        assert isinstance(e, ast.Call)
        if e.func in self.defs:
            return self.call_def(e, args, name)
        if e.func in COSTS:
            return cost(self, e, args, name)
        op = self.user_ops.get(e.func) or function(e.func, len(e.args))
        return self.add(name, op, args, attrs=self.attr_values(e, op), span=e.span)

    def index_key(self, e: ast.Index, x: int) -> Key:
        """`x[1:3, 0]`'s key, checked against x's shape."""
        key = Key(ast.index_parts(e))
        node = self.nodes[x]
        problem = key_problem(node.shape, key)
        if problem:
            part, what, hint = problem
            span = e.key[part].span if part < len(e.key) else e.span
            raise self.error(f"cannot index '{node.name}' (shape {node.shape}) with {key}: {what}", span, hint)
        return key

    def activation(self, act: str, z: int, name: str, span: Span) -> int:
        """A layer's `act=NAME`: the program's own def of that name wins over the built-in."""
        if act not in self.defs:
            return self.add(name, OPS[act], (z,), span=span)
        call = ast.Call(act, (ast.Name(self.nodes[z].name, span),), (), span, span)
        self.check_call(call)
        return self.apply(call, [z], {}, name)

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
            from ..custom import custom_op
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
        sub = _Builder(self.program, self.base_dir, ops=self.user_ops)
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


def _names_used(statements) -> set:
    """Every name read by an assignment or a layer (not by `def` bodies, whose names are
    their parameters)."""
    used = set()
    stack = [st.expr for st in statements if isinstance(st, ast.Assign)]
    stack += [st.call for st in statements if isinstance(st, ast.Layer)]
    while stack:
        e = stack.pop()
        if isinstance(e, ast.Name):
            used.add(e.name)
        elif isinstance(e, ast.Call):
            if "." in e.func and not e.method:   # `x.relu()` reads x
                used.add(e.func.rpartition(".")[0])
            stack.extend(e.args)
            stack.extend(value for _key, value, _span in e.kwargs)
        elif isinstance(e, ast.Tensor):
            stack.extend(e.items)
        else:
            stack.extend(sub_expressions(e))
    return used


def _missing_comma(item) -> str | None:
    """`[1 -2]` reads as [1 - 2] and `[[1, 2] [3, 4]]` as an index: both a comma short."""
    if isinstance(item, ast.Binary) and item.op in ("add", "sub") and isinstance(item.right, ast.Num):
        return "missing ','? [1 -2] reads as [1 - 2]; write [1, -2]"
    if isinstance(item, ast.Index) and isinstance(item.operand, ast.Tensor):
        return "missing ','? [[1, 2] [3, 4]] reads [3, 4] as an index; write [[1, 2], [3, 4]]"
    return None


def _shape_hint(op: Op, detail: str) -> str | None:
    if op.name == "matmul":
        return "for a @ b, the last axis of a must match the first axis of b (transpose(...) may help)"
    if op.elementwise:
        return "elementwise ops need shapes that broadcast (numpy rules: trailing axes equal or 1)"
    return detail or None


def build(program: ast.Program, base_dir=None, values: dict | None = None, ops: dict | None = None) -> Graph:
    """The graph of a program; `ops` adds functions ({name: Op}, ops written in Python)."""
    return _Builder(program, base_dir, values, ops).build()


def builder_for(filename: str | None) -> _Builder:
    """A builder without a program, for graphs that come another way (an ONNX model): `add`
    makes nodes of the op table with their shapes checked, `fresh` names them `target.N`."""
    return _Builder(ast.Program((), "", filename))
