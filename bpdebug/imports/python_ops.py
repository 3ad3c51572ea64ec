"""Ops written in Python with a hand-written backward, in the conventions people already use:

    @op                                   # forward: numpy in, numpy out
    def affine(x, w, b):
        return x @ w + b

    @affine.vjp                           # upstream gradient, output, inputs -> one per input
    def affine_vjp(dout, out, x, w, b):
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    affine = op.from_cache(affine_forward, affine_backward)   # forward -> (out, cache),
                                                              # backward(dout, cache) -> grads

A PythonOp becomes one `Op` entry for the builder, called in a program like a built-in. Per
node, the kernel gets wrappers (`bind`) that call the user's code and check what comes back, so
a mistake names the op, the node, the shapes expected and got, and the line of the user's file.
An op without a VJP is differentiated numerically, and its local derivative text says so.
"""
from __future__ import annotations

import inspect
import re
from functools import partial

import numpy as np

from ..kernel import unbroadcast
from ..lang import BpError
from ..ops import Op
from .user_code import defined_at, raised_at, shown_path

NUMERICAL_EPS = 1e-6                 # relative step of the central differences of a forward-only op
_F64 = np.dtype(np.float64)
_PAIR_HINT = "a forward that returns (out, cache) is given with op.from_cache(forward, backward)"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMPTY = inspect.Parameter.empty


class PythonOp:
    """An op written in Python. Calling it runs its forward, so the user's code keeps working."""

    def __init__(self, forward, name: str | None = None, local=None, backward=None, cached: bool = False):
        if not callable(forward):
            raise TypeError(f"op() takes a function, not {type(forward).__name__}")
        self.inputs, self.attrs = _signature(forward)
        self.name = name or _default_name(forward, cached)
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise TypeError(f"{self.name!r} is not a name a program can call; give one with op(name=...)")
        if local is not None and (isinstance(local, str) or len(local) != len(self.inputs)):
            raise TypeError(f"op {self.name}: local= gives one text per input ({', '.join(self.inputs)})")
        self.forward, self.backward, self.cached = forward, backward, cached
        self.local = tuple(str(t) for t in local) if local is not None else None
        self._entry = None

    def vjp(self, fn):
        """Decorator: fn(dout, out, *inputs) returns one gradient per input (None: no gradient)."""
        if self.cached:
            raise TypeError(f"op {self.name} was made with op.from_cache: its backward is its VJP")
        if not callable(fn):
            raise TypeError(f"@{self.name}.vjp decorates a function, not {type(fn).__name__}")
        self.backward, self._entry = fn, None
        return fn

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        return out[0] if self.cached else out

    def __repr__(self) -> str:
        return f"<bpdebug op {self.name}({', '.join(self.inputs)})>"

    @property
    def entry(self) -> Op:
        """This op's entry in the op table."""
        if self._entry is None:
            formula = f"{self.name}(" + ", ".join("{%d}" % k for k in range(len(self.inputs))) + ")"
            self._entry = Op(self.name, len(self.inputs), self._shape_probe, self._unbound_vjp, formula,
                             self._local_texts(), attrs=dict(self.attrs), python=self)
        return self._entry

    def where(self) -> str:
        """The function that computes the gradient, and where it is: `affine_vjp (layers.py:12)`."""
        fn = self.backward or self.forward
        code = getattr(inspect.unwrap(fn), "__code__", None)
        place = f" ({shown_path(code.co_filename)}:{code.co_firstlineno})" if code else ""
        return f"{getattr(fn, '__name__', self.name)}{place}"

    def _local_texts(self) -> tuple:
        if self.local is not None:
            return tuple(_placeholders(t, self.inputs) for t in self.local)
        if self.backward is None:
            text = f"numerical (no VJP given: central differences of {self.name})"
        else:
            text = f"hand-written: {self.where()}"
        return (_escaped(text),) * len(self.inputs)

    def _shape_probe(self, *ins, **attrs):
        """The forward as the builder runs it (on ones) to learn the output's shape."""
        try:
            out = self.forward(*ins, **{**self.attrs, **attrs})
            out = out[0] if self.cached and isinstance(out, tuple) else out
        except Exception as err:
            raise ValueError(f"{self.name}'s forward raised {type(err).__name__} on inputs of these shapes: "
                             f"{err}\n{raised_at(err, self.forward)}") from None
        if isinstance(out, tuple):
            raise ValueError(f"{self.name}'s forward returned {_kind(out)}, not an array; {_PAIR_HINT}")
        return out

    def _unbound_vjp(self, g, out, *ins, **attrs):
        raise RuntimeError(f"op {self.name} is called through the node it is in (PythonOp.bind)")

    def bind(self, graph, node) -> tuple:
        """(forward, vjp) for one node of a graph, checking what the user's code returns."""
        return _Node(self, graph, node).functions()


class _Node:
    """One node's calls of a PythonOp, and the errors that name it."""

    def __init__(self, op: PythonOp, graph, node):
        self.op, self.graph, self.node = op, graph, node
        self.shapes = [graph.nodes[j].shape for j in node.inputs]
        self.names = [graph.nodes[j].name for j in node.inputs]

    def functions(self) -> tuple:
        op, shape, shapes = self.op, self.node.shape, self.shapes
        forward, backward, cached, arity = op.forward, op.backward, op.cached, len(shapes)
        attrs = {**op.attrs, **self.node.attrs}
        if attrs:                                  # keyword arguments, bound once
            forward = partial(forward, **attrs)
            if backward is not None and not cached:
                backward = partial(backward, **attrs)
        slot = [None, None]                        # the last (out, cache) of this node's forward
        unsent: list = []                          # the inputs the last VJP call sent None to

        handed = [(), []]          # the inputs of the last forward, and the read-only views handed for them

        def hand(ins: tuple) -> list:
            seen = handed[0]
            if len(ins) == len(seen):
                for a, b in zip(ins, seen):
                    if a is not b:
                        break
                else:
                    return handed[1]   # the backward step reads what the forward step did
            handed[0], handed[1] = ins, [*map(_handed, ins)]
            return handed[1]

        def f(*ins):
            try:
                out = forward(*hand(ins))
            except Exception as err:
                raise self.raised("forward", op.forward, err) from None
            if cached:
                out, slot[1] = self.pair(out)
            if type(out) is not np.ndarray or out.dtype is not _F64 or out.shape != shape:
                out = self.output(out)
            else:
                out.setflags(write=False)      # now the value bpdebug shows
            slot[0] = out
            return out

        def vjp(g, out, *ins):
            try:
                if cached and slot[0] is not out:  # another forward ran since: its cache is gone
                    f(*ins)
                if cached:
                    grads = backward(_handed(g), slot[1])
                elif backward is None:
                    grads = self.numerical(f, g, ins)
                else:
                    grads = backward(_handed(g), _handed(out), *hand(ins))
            except BpError:
                raise
            except Exception as err:
                raise self.raised("VJP", op.backward, err) from None
            if type(grads) is tuple and len(grads) == arity:   # the common case, checked fast
                for c, s in zip(grads, shapes):
                    if type(c) is not np.ndarray or c.dtype is not _F64 or c.shape != s:
                        break
                else:
                    if unsent:
                        unsent.clear()
                    return grads
            return self.gradients(grads, unsent)

        vjp.unsent = unsent
        return f, vjp

    @staticmethod
    def numerical(forward, g, ins) -> tuple:
        from ..check.numeric import numerical_vjp

        args = [x if np.ndim(x) == 0 else np.asarray(x, dtype=float) for x in ins]
        return tuple(numerical_vjp(forward, args, k, g, NUMERICAL_EPS) for k in range(len(args)))

    # ---- what comes back ------------------------------------------------------------------------
    def pair(self, result) -> tuple:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise self.error(f"its forward returned {_kind(result)}; a forward given to op.from_cache returns "
                             "(out, cache)", self.op.forward)
        return result

    def gradients(self, grads, unsent: list) -> tuple:
        """What the VJP returned, one float64 gradient of its input's shape per input (zeros
        where it sent None); a located error when it is not that."""
        shapes = self.shapes
        if len(shapes) == 1 and not isinstance(grads, tuple):
            grads = (grads,)
        elif not isinstance(grads, (tuple, list)) or len(grads) != len(shapes):
            raise self.error(f"its VJP returned {_count(grads)}; it must return {len(shapes)}, one per input "
                             f"({', '.join(self.op.inputs)})", self.op.backward)
        unsent[:] = [k for k, c in enumerate(grads) if c is None]   # no gradient (labels, say): zeros
        return tuple((0.0 if s == () else np.zeros(s)) if c is None else self.gradient(k, c)
                     for k, (c, s) in enumerate(zip(grads, shapes)))

    def output(self, out):
        forward = self.op.forward
        shape = self.node.shape
        try:
            if isinstance(out, tuple):
                raise TypeError
            arr = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raise self.error(f"its forward returned {_kind(out)}, not an array of numbers", forward,
                             _PAIR_HINT if isinstance(out, tuple) else None) from None
        if arr.shape != shape:
            raise self.error(f"its forward returned shape {arr.shape}; expected {shape}, the shape it "
                             "had when the graph was built (on inputs of the same shapes)", forward)
        return float(arr) if shape == () else _handed(arr)

    def gradient(self, k: int, c):
        name, s = self.op.inputs[k], self.shapes[k]
        try:
            arr = np.asarray(c, dtype=float)
        except (TypeError, ValueError):
            raise self.error(f"its VJP returned {_kind(c)} for '{name}', not an array of numbers",
                             self.op.backward) from None
        if arr.shape == s:
            return float(arr) if s == () else arr
        hint = None
        try:
            if np.shape(unbroadcast(np.zeros(arr.shape), s)) == s:
                hint = _unsummed_hint(arr.shape, s)
        except (ValueError, IndexError):
            pass
        raise self.error(f"its VJP returned a gradient of shape {arr.shape} for '{name}', which has shape {s}",
                         self.op.backward, hint)

    # ---- errors ---------------------------------------------------------------------------------
    def _inputs(self) -> str:
        parts = [f"{p} = {n} {s}" if p != n else f"{p} {s}" for p, n, s in zip(self.op.inputs, self.names, self.shapes)]
        return f"  inputs: {', '.join(parts)}; output {self.node.shape}"

    def error(self, what: str, fn, hint: str | None = None) -> BpError:
        where = defined_at(fn)
        return self._error(f"op '{self.op.name}' at node '{self.node.name}': {what}", where, hint)

    def raised(self, part: str, fn, err: Exception) -> BpError:
        hint = ("the arrays an op is handed (its inputs, out and dout) are the values bpdebug shows, so they "
                "are read-only: change a copy (dx = dout.copy())") if "read-only" in str(err) else None
        return self._error(f"op '{self.op.name}' at node '{self.node.name}': its {part} raised "
                           f"{type(err).__name__}: {err}", raised_at(err, fn), hint)

    def _error(self, message: str, where: str, hint) -> BpError:
        details = "\n".join(x for x in (where, self._inputs()) if x)
        return BpError(f"{message}\n{details}", self.node.span, self.graph.source, self.graph.filename, hint)


def _handed(x):
    """What the user's code gets for a value: numpy, and read-only where bpdebug keeps it (a float
    becomes np.float64; an array a read-only view, so writing into it is an error, not a wrong
    number on the screen)."""
    if type(x) is np.ndarray:
        if x.flags.writeable:
            x = x.view()
            x.setflags(write=False)   # (setting the flags attribute takes twice as long)
        return x
    return np.float64(x) if type(x) is float else x


def _unsummed_hint(got: tuple, want: tuple) -> str:
    extra = len(got) - len(want)
    axes = list(range(extra)) + [extra + a for a, n in enumerate(want) if n == 1 and got[extra + a] != 1]
    keep = ", keepdims=True" if any(a >= extra for a in axes) else ""
    which = axes[0] if len(axes) == 1 else tuple(axes)
    return f"not summed back over the broadcast axis {which}: return it .sum(axis={which}{keep})"


def _signature(fn) -> tuple[list, dict]:
    """(input names, {keyword argument: default}) from the forward's parameters."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"op() cannot read the parameters of {fn!r}") from None
    inputs, attrs = [], {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"op {getattr(fn, '__name__', '?')}: an op takes a fixed list of inputs, "
                            f"not *{p.name}")
        if p.default is not _EMPTY:
            attrs[p.name] = p.default
        elif p.kind == p.KEYWORD_ONLY:
            raise TypeError(f"op {getattr(fn, '__name__', '?')}: keyword argument '{p.name}' needs a default")
        else:
            inputs.append(p.name)
    if not inputs:
        raise TypeError(f"op {getattr(fn, '__name__', '?')} takes no input; an op needs at least one")
    return inputs, attrs


def _default_name(fn, cached: bool) -> str:
    name = getattr(fn, "__name__", "")
    if cached and name.endswith("_forward"):   # affine_forward / affine_backward -> affine
        name = name[:-len("_forward")]
    return name


def _placeholders(text: str, params: list) -> str:
    """A local-derivative text with each parameter name made a placeholder for the node's input."""
    text = _escaped(text)
    index = {p: k for k, p in enumerate(params)}
    return re.sub(r"(?<![\w.])[A-Za-z_]\w*", lambda m: "{%d}" % index[m[0]] if m[0] in index else m[0], text)


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _kind(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, tuple):
        return f"a tuple of {len(x)}"
    return f"a {type(x).__name__}"


def _count(grads) -> str:
    if isinstance(grads, (tuple, list)):
        return f"{len(grads)} gradient{'s' * (len(grads) != 1)}"
    return f"{_kind(grads)} (one gradient)"


class _OpMaker:
    """`op`: the decorator, with `op.from_cache` for the forward/backward pairs of course work."""

    def __call__(self, fn=None, *, name: str | None = None, local=None):
        if fn is None:
            return lambda f: PythonOp(f, name, local)
        return PythonOp(fn, name, local)

    def from_cache(self, forward, backward, *, name: str | None = None, local=None) -> PythonOp:
        """An op from forward(*inputs) -> (out, cache) and backward(dout, cache) -> one gradient
        per input. The op is named after the forward (`affine_forward` -> `affine`)."""
        if not callable(backward):
            raise TypeError(f"op.from_cache takes a backward function, not {type(backward).__name__}")
        return PythonOp(forward, name, local, backward=backward, cached=True)

    def __repr__(self) -> str:
        return "<bpdebug.op: @op, @op(local=...), op.from_cache(forward, backward)>"


op = _OpMaker()


def ops_table(ops) -> dict:
    """{name: Op} from a PythonOp, a module (its PythonOps), or a list of either."""
    import types

    items = [ops] if isinstance(ops, (PythonOp, types.ModuleType)) else list(ops)
    found: dict[str, Op] = {}
    for item in items:
        if isinstance(item, types.ModuleType):
            found.update((v.name, v.entry) for v in vars(item).values() if isinstance(v, PythonOp))
        elif isinstance(item, PythonOp):
            found[item.name] = item.entry
        else:
            raise TypeError(f"ops= takes ops made with @op (or modules holding them), not {type(item).__name__}")
    return found
