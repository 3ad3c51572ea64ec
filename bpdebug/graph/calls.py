"""What a call of a built-in means and whether it is well formed: which arguments are inputs
(reshape's shape is not; concat's list holds them), how many a function takes, its keyword
arguments, and their values (read in arguments.py). The program's defs come first, then ops
written in Python (--ops), then the op table. A mixin of the builder: it reads the builder's
`defs` and `user_ops` and makes its errors with `error`.
"""
from __future__ import annotations

from ..lang import ast, did_you_mean
from ..ops import FUNCTIONS, LIST, REDUCING, REQUIRED, Op, function
from .arguments import argument
from .leaves import INITIALIZERS
from .network import COSTS


class CallRules:
    """The builder's rules for calls (see the module's docstring)."""

    def children(self, e) -> tuple:
        """The sub-expressions that become the inputs of e's node: a call's arguments, but
        not reshape's shape, and the parts of concat([a, b])."""
        if not isinstance(e, ast.Call) or e.func in self.defs:
            return sub_expressions(e)
        op = self.user_ops.get(e.func) or function(e.func, len(e.args))
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
        op = self.user_ops.get(name) or function(name, len(e.args))
        if op is None:
            raise self.error(f"unknown function '{name}'", e.func_span,
                             did_you_mean(name, [*FUNCTIONS, *self.defs, *INITIALIZERS, *self.user_ops]))
        overloads = (f"; {name}(x) of one argument reduces (axis= allowed), {name}(a, b) of two is "
                     "elementwise") if name in REDUCING and name not in self.user_ops else ""
        if op.arity == LIST:
            if len(e.args) != 1 or not isinstance(e.args[0], ast.Tensor) or not e.args[0].items:
                raise self.error(f"{name}() takes one list of tensors, such as {name}([a, b], axis=0)", e.span,
                                 _how(e, op))
        elif not op.arity <= len(e.args) <= op.arity + len(op.positional):
            most = op.arity + len(op.positional)
            takes = f"{op.arity}" + {0: "", 1: f" or {most}"}.get(len(op.positional), f" to {most}")
            raise self.error(f"{name}() takes {takes} argument(s), got {len(e.args)}{overloads}", e.span,
                             _how(e, op))
        for key, _value, span in e.kwargs:
            if key not in op.attrs:
                accepted = ", ".join(op.attrs) or "no keyword arguments"
                raise self.error(f"{name}() has no argument '{key}' (it accepts {accepted}){overloads}", span,
                                 did_you_mean(key, op.attrs) or _how(e, op))

    def attr_values(self, e: ast.Call, op: Op) -> dict:
        """The attributes a call gives, positionally (reshape(x, [2, 3])) or by keyword, each
        checked for its kind."""
        if not op.attrs:   # (check_call let no argument by name or position through)
            return {}
        given = [(key, value, value.span) for key, value in zip(op.positional, e.args[max(op.arity, 0):])]
        attrs = {}
        for key, value, span in given + list(e.kwargs):
            if key in attrs:
                raise self.error(f"{e.func}() is given '{key}' twice", span, usage(e.func, op))
            attrs[key] = argument(self, key, value)
        for key, default in op.attrs.items():
            if default is REQUIRED and key not in attrs:
                raise self.error(f"{e.func}() needs its {key}", e.span, usage(e.func, op))
        return attrs


def _how(e: ast.Call, op: Op) -> str:
    """How the call should read, for its error."""
    return (f"x.{e.func}(...) is {e.func}(x, ...); " if e.method else "") + usage(e.func, op)


def usage(name: str, op: Op) -> str:
    """How a call of the op reads: `leaky_relu(x, slope=0.01)`, `concat([a, b, ...], axis=0)`."""
    inputs = {LIST: ["[a, b, ...]"], 1: ["x"]}.get(op.arity, ["a", "b", "c"][:op.arity])
    attrs = ["[2, 3]" if v is REQUIRED else f"{k}=..." if v is None else f"{k}={v}" for k, v in op.attrs.items()]
    return f"usage: {name}({', '.join(inputs + attrs)})"


def sub_expressions(e) -> tuple:
    """The operands of an expression, in order (a call's arguments all of them)."""
    if isinstance(e, (ast.Unary, ast.Index)):
        return (e.operand,)
    if isinstance(e, ast.Binary):
        return (e.left, e.right)
    if isinstance(e, ast.Call):
        return e.args
    return ()
