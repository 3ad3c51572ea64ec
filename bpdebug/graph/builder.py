"""From the syntax tree to a computational graph: statements, names, expressions, and `def`
calls (inline sub-graphs or one custom-op node). Literals and initializers are in leaves.py,
`layer` and cost sugar in network.py, data files in data.py. Builds; never evaluates (beyond
shapes).

Nothing here recurses over expressions: a program may nest 100,000 levels deep.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..lang import ast
from ..lang import BpError, Span, did_you_mean
from ..ops import BINARY, FUNCTIONS, LIST, OPS, REDUCING, REQUIRED, Op, function, infer_shape
from .arguments import argument, check_size
from .data import load_data
from .leaves import INITIALIZERS, constant, first_non_number, is_constant
from .network import COSTS, cost, layer
from .nodes import LEAF_KINDS, Graph, InlineCall, Node

MAX_CALL_DEPTH = 64                # `def` calls inside `def` calls; expanding them recurses


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
        self.data_files: list = []         # the paths data leaves were read from

    # ---- errors -------------------------------------------------------------------------
    def error(self, message, span, hint=None) -> BpError:
        return BpError(message, span, self.program.source, self.program.filename, hint)

    # ---- nodes --------------------------------------------------------------------------
    def fresh(self) -> str:
        self.counter += 1
        return f"{self.target}.{self.counter}"

    def add(self, name, op, inputs=(), *, kind="op", value=None, attrs=None, span=None) -> int:
        attrs = {**op.attrs, **attrs} if attrs else dict(op.attrs)   # every attribute, defaults included
        if kind == "op":
            shapes = [self.nodes[j].shape for j in inputs]
            try:
                shape = infer_shape(op, shapes, attrs)
            except (ValueError, TypeError, np.exceptions.AxisError) as err:
                names = [self.nodes[j].name for j in inputs]
                both = " and ".join(f"'{n}' {s}" for n, s in zip(names, shapes))
                raise self.error(f"shapes do not fit at node '{name}' ({op.name}): {both}",
                                 span, hint=_shape_hint(op, str(err))) from None
            check_size(self, f"node '{name}' ({op.name})", shape, span)
            needs = not op.constant and any(self.nodes[j].needs_grad for j in inputs)
        else:
            shape = np.shape(value)
            check_size(self, f"{kind} '{name}'", shape, span)
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
        used = _names_used(statements)
        for name, value in self.values.items():
            if name in assigned:
                continue
            if name not in used:  # a typo would otherwise add a leaf nothing reads
                raise self.error(f"'{name}' is given a value (--set {name}=...), but the program neither "
                                 "defines nor uses it", None, did_you_mean(name, sorted(assigned | used)))
            # `-e 'f = x * y' --set x=2 --set y=3`: leaves from outside
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
                layer(self, st)
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
        graph = Graph(self.nodes, self.names, out, self.calls, self.program.source,
                      self.program.filename, {k: v.node for k, v in self.defs.items()})
        graph.data_files = tuple(self.data_files)
        return graph

    def define(self, st: ast.Def) -> None:
        if st.name in self.defs:
            raise self.error(f"op '{st.name}' is already defined", st.span)
        # A def may shadow a built-in op (`def square(x) = ...` with its own grad line): calls
        # look at the program's defs first. Initializers and costs are not ops.
        if st.name in INITIALIZERS or st.name in COSTS:
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
            # A value from outside (a trainer's mini-batch, --set) replaces reading the file.
            value = self.values[st.name] if st.name in self.values else load_data(st.expr, self)
            index = self.add(st.name, OPS["leaf"], kind="data", value=value, span=st.name_span)
        elif is_constant(st.expr):
            value = self.values[st.name] if st.name in self.values else constant(self, st.expr)
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
            elif is_constant(e):
                results.append(self.add(self.fresh(), OPS["const"], kind="const",
                                        value=constant(self, e), span=e.span))
            elif isinstance(e, ast.Tensor):
                raise self.error("a tensor literal holds numbers only", first_non_number(e).span,
                                 "build tensors from nodes with ops, or make this a leaf")
            elif not ready:
                stack.append((e, True))
                if isinstance(e, ast.Call):
                    self.check_call(e)
                stack.extend((c, False) for c in reversed(self.children(e)))
            else:
                n = len(self.children(e))
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

    def children(self, e) -> tuple:
        """The sub-expressions that become the inputs of e's node: a call's arguments, but
        not reshape's shape, and the parts of concat([a, b])."""
        if not isinstance(e, ast.Call) or e.func in self.defs:
            return _children(e)
        op = function(e.func, len(e.args))
        if op is None:
            return e.args
        if op.arity == LIST:
            return e.args[0].items
        return e.args[:op.arity]

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
        op = function(name, len(e.args))
        if op is None:
            raise self.error(f"unknown function '{name}'", e.func_span,
                             did_you_mean(name, list(FUNCTIONS) + list(self.defs) + list(INITIALIZERS)))
        overloads = (f"; {name}(x) of one argument reduces (axis= allowed), {name}(a, b) of two is "
                     "elementwise") if name in REDUCING else ""
        if op.arity == LIST:
            if len(e.args) != 1 or not isinstance(e.args[0], ast.Tensor) or not e.args[0].items:
                raise self.error(f"{name}() takes one list of tensors, such as {name}([a, b], axis=0)", e.span,
                                 _usage(name, op))
        elif not op.arity <= len(e.args) <= op.arity + len(op.positional):
            most = op.arity + len(op.positional)
            takes = f"{op.arity}" + {0: "", 1: f" or {most}"}.get(len(op.positional), f" to {most}")
            raise self.error(f"{name}() takes {takes} argument(s), got {len(e.args)}{overloads}", e.span,
                             _usage(name, op))
        for key, _value, span in e.kwargs:
            if key not in op.attrs:
                accepted = ", ".join(op.attrs) or "no keyword arguments"
                raise self.error(f"{name}() has no argument '{key}' (it accepts {accepted}){overloads}", span,
                                 did_you_mean(key, op.attrs) or _usage(name, op))

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
            return cost(self, e, args, name)
        op = function(e.func, len(e.args))
        return self.add(name, op, args, attrs=self.attr_values(e, op), span=e.span)

    def attr_values(self, e: ast.Call, op: Op) -> dict:
        """The attributes a call gives, positionally (reshape(x, [2, 3])) or by keyword, each
        checked for its kind."""
        given = [(key, value, value.span) for key, value in zip(op.positional, e.args[max(op.arity, 0):])]
        attrs = {}
        for key, value, span in given + list(e.kwargs):
            if key in attrs:
                raise self.error(f"{e.func}() is given '{key}' twice", span, _usage(e.func, op))
            attrs[key] = argument(self, key, value)
        for key, default in op.attrs.items():
            if default is REQUIRED and key not in attrs:
                raise self.error(f"{e.func}() needs its {key}", e.span, _usage(e.func, op))
        return attrs

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
            stack.extend(e.args)
            stack.extend(value for _key, value, _span in e.kwargs)
        elif isinstance(e, ast.Tensor):
            stack.extend(e.items)
        else:
            stack.extend(_children(e))
    return used


def _children(e) -> tuple:
    if isinstance(e, ast.Unary):
        return (e.operand,)
    if isinstance(e, ast.Binary):
        return (e.left, e.right)
    if isinstance(e, ast.Call):
        return e.args
    return ()


def _usage(name: str, op: Op) -> str:
    """How a call of the op reads: `leaky_relu(x, slope=0.01)`, `concat([a, b, ...], axis=0)`."""
    inputs = {LIST: ["[a, b, ...]"], 1: ["x"]}.get(op.arity, ["a", "b", "c"][:op.arity])
    attrs = ["[2, 3]" if v is REQUIRED else f"{k}=..." if v is None else f"{k}={v}" for k, v in op.attrs.items()]
    return f"usage: {name}({', '.join(inputs + attrs)})"


def _shape_hint(op: Op, detail: str) -> str | None:
    if op.name == "matmul":
        return "for a @ b, the last axis of a must match the first axis of b (transpose(...) may help)"
    if op.elementwise:
        return "elementwise ops need shapes that broadcast (numpy rules: trailing axes equal or 1)"
    return detail or None


def build(program: ast.Program, base_dir=None, values: dict | None = None) -> Graph:
    return _Builder(program, base_dir, values).build()
