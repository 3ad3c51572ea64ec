"""One node's backward rule against central differences of that node's own forward.

For a node y = f(x1, ..., xk) and an upstream gradient g, the backward rule sends J_k^T g to
input k. Along a direction d, <J_k^T g, d> must equal the derivative of <g, f> along d, which
central differences estimate from two evaluations of f alone, never of the whole graph. With g
and d random, a wrong rule shows with probability one. For a `def` with grad lines, autodiff
through the op's body is projected the same way, so three answers stand side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import format_value
from ..kernel import seed_gradient
from ..lang import BpError
from ..report import finite
from . import kinks
from .numeric import (ROUNDING, Comparison, Tolerances, close, compare, directional, directions, dot,
                      numerical_vjp, random_like, shifted)

ANSWER_LIMIT = 64  # answers are shown in full, element by element, up to this size


@dataclass
class InputCheck:
    position: int
    name: str
    rule: str                                     # built-in, hand-written or autodiff
    comparisons: list = field(default_factory=list)
    autodiff: list | None = None                  # custom ops: the body's autodiff, compared too
    problem: str = ""                             # a wrong shape or a non-finite answer

    @property
    def ok(self) -> bool:
        return not self.problem and all(c.ok for c in self.comparisons)

    @property
    def autodiff_ok(self) -> bool | None:
        return None if self.autodiff is None else all(c.ok for c in self.autodiff)

    @property
    def max_abs_err(self) -> float | None:
        return None if self.problem else max((c.abs_err for c in self.comparisons), default=0.0)

    @property
    def max_rel_err(self) -> float | None:
        return None if self.problem else max((c.rel_err for c in self.comparisons), default=0.0)


@dataclass
class NodeCheck:
    index: int
    name: str
    op: str
    verdict: str = "ok"        # ok, mismatch, kink, nonfinite, unchecked
    ok: bool | None = True     # None: could not be checked
    hint: str = ""             # a few words
    inputs: list = field(default_factory=list)
    detail: str = ""           # the explanation in full, when there is more to say than the hint

    def set(self, verdict: str, ok: bool | None, hint: str, detail: str = "") -> "NodeCheck":
        self.verdict, self.ok, self.hint, self.detail = verdict, ok, hint, detail or hint
        return self

    @property
    def max_abs_err(self) -> float | None:
        return max((c.max_abs_err for c in self.inputs if c.max_abs_err is not None), default=None)

    @property
    def max_rel_err(self) -> float | None:
        return max((c.max_rel_err for c in self.inputs if c.max_rel_err is not None), default=None)

    @property
    def bad_positions(self) -> list:
        return [c.position for c in self.inputs if not c.ok]


def rule_kind(node, k: int) -> str:
    custom, python = node.op.custom, node.op.python
    if python is not None:
        return "numerical" if python.backward is None else "hand-written"
    if custom is None:
        return "built-in"
    return "hand-written" if custom.params[k] in custom.grads else "autodiff"


def check_node(graph, kernel, values: list, i: int, tol: Tolerances, rng) -> NodeCheck:
    try:
        return _check_node(graph, kernel, values, i, tol, rng)
    except BpError as err:   # an op written in Python failed: the step itself will say how
        res = NodeCheck(i, graph.nodes[i].name, graph.op_label(graph.nodes[i]))
        return res.set("unchecked", None, "its code fails: " + err.message.partition("\n")[0])


def _check_node(graph, kernel, values: list, i: int, tol: Tolerances, rng) -> NodeCheck:
    node = graph.nodes[i]
    res = NodeCheck(i, node.name, graph.op_label(node))
    ins = [values[j] for j in node.inputs]
    out = values[i]
    if out is None or any(x is None for x in ins):
        return res.set("unchecked", None, "not computed yet")
    if not all(finite(x) for x in ins):
        return res.set("unchecked", None, "it reads nan or inf (see the non-finite origin)")
    if not finite(out):
        return res.set("nonfinite", False, "its value is nan or inf although every input is finite")
    if node.op.constant:   # argmax, a comparison: its value may jump, but no gradient flows through it
        moving = [k for k, j in enumerate(node.inputs) if graph.nodes[j].needs_grad]
        at_kink, rule = kinks.exact(node, ins, moving) if moving else (None, "")
        if at_kink is not None:
            return res.set("kink", True, f"at a kink: {rule}")
        return res.set("unchecked", None, f"{node.op.constant}: no gradient flows through it")
    targets = kernel.targets[i]
    if not targets:
        return res.set("unchecked", None, "no input needs a gradient")
    if node.op.stops_gradient:
        return res.set("unchecked", None, "the gradient stops here: it sends 0 by definition")
    at_kink, rule = kinks.exact(node, ins, [k for k, _ in targets])
    if at_kink is True:
        return res.set("kink", True, f"at a kink: {rule}")
    dirs = {k: directions(ins[k], rng) for k, _ in targets}
    near = _near_kinks(node, ins, dirs, max(tol.steps()), at_kink)
    if near is True:
        return res.set("kink", True, f"within a step of a kink: {node.op.kink_rule}")
    g = random_like(out, rng)
    for mask in (at_kink, near):
        if mask is not None:
            g = np.where(mask, 0.0, g)  # these elements send nothing; the others are checked
    f, custom = kernel.fwd[i], node.op.custom
    with np.errstate(all="ignore"):
        given = kernel.vjp[i](g, out, *ins)
        auto = custom.autodiff(g, *ins) if custom is not None else None
    floor = ROUNDING * dot(np.abs(g), np.abs(out))

    def phi(args):
        return dot(g, f(*args))

    unsent = getattr(kernel.vjp[i], "unsent", ())   # an op in Python sends None: no gradient
    for k, j in targets:
        check = InputCheck(k, graph.nodes[j].name, rule_kind(node, k))
        res.inputs.append(check)
        if k in unsent:
            continue
        _check_input(check, ins, k, dirs[k], given[k], auto[k] if auto is not None else None, phi, floor, tol)
    problems = [c.problem for c in res.inputs if c.problem]
    if any("nan or inf" in p for p in problems):
        return res.set("nonfinite", False, problems[0])
    bad = [c for c in res.inputs if not c.ok]
    if bad and custom is not None and _body_straddles(custom, ins, bad, dirs, tol):
        return res.set("kink", True, f"a step crosses a kink inside {custom.defn.name}; not compared")
    if bad:
        from .diagnose import diagnose
        return res.set("mismatch", False, *diagnose(graph, kernel, values, i, bad[0], tol, rng))
    if at_kink is not None:
        return res.set("kink", True,
                       f"{rule} at {int(at_kink.sum())} of {at_kink.size} elements; the others agree")
    if near is not None and near.any():
        res.hint = f"{int(near.sum())} element(s) within a step of a kink left out; the others agree"
    if custom is not None and any(c.autodiff_ok is False for c in res.inputs):
        res.hint = "the rule agrees with the numerical answer but autodiff through the body does not"
    res.detail = res.hint
    return res


def _near_kinks(node, ins: list, dirs: dict, h: float, at_kink):
    """Output elements of a kink op whose central difference, along any direction to be used,
    would straddle a kink (None: not a kink op; True: all of them)."""
    op = node.op
    if op.kink is None or op.custom is not None:
        return None
    near = np.zeros(node.shape, dtype=bool)
    for k, ds in dirs.items():
        for d, _ in ds:
            plus, minus = shifted(ins, k, d, h)
            near |= kinks.straddled(node, plus, minus)
    if at_kink is not None:
        near &= ~at_kink
    return True if near.all() else near


def _body_straddles(custom, ins: list, bad: list, dirs: dict, tol: Tolerances) -> bool:
    for c in bad:
        for d, _ in dirs[c.position]:
            if kinks.body_straddled(custom, *shifted(ins, c.position, d, max(tol.steps()))):
                return True
    return False


def _check_input(check: InputCheck, ins: list, k: int, dirs: list, given_k, auto_k, phi, floor: float,
                 tol: Tolerances) -> None:
    x = ins[k]
    if np.shape(given_k) != np.shape(x):
        check.problem = f"the backward rule gives shape {np.shape(given_k)} for '{check.name}' {np.shape(x)}"
        return
    if not finite(given_k):
        check.problem = f"the backward rule sends nan or inf to '{check.name}'"
        return
    best = None
    for h in tol.steps():
        rule, autos = [], ([] if auto_k is not None else None)
        for d, norm in dirs:
            n = directional(phi, ins, k, d, h) / norm
            fl = floor / (h * norm)
            rule.append(compare(dot(given_k, d) / norm, n, fl, tol))
            if autos is not None:
                autos.append(compare(dot(auto_k, d) / norm, n, fl, tol))
        score = _score(rule) + (_score(autos) if autos else (0, 0.0))
        if best is None or score < best[0]:
            best = (score, rule, autos)
        if score[0] == 0 and score[2] == 0:
            break
    check.comparisons, check.autodiff = best[1], best[2]


def _score(comps: list[Comparison]) -> tuple:
    """Fewer failures first, then smaller errors: how an attempt at one step size ranks."""
    return (sum(not c.ok for c in comps), max((c.rel_err for c in comps), default=0.0))


# ---- the answers side by side ---------------------------------------------------------------

@dataclass
class Answer:
    input: str
    rule: str            # built-in, hand-written or autodiff
    given: object        # what the backward rule sends
    autodiff: object     # custom ops with a grad line: autodiff through the body, else None
    numerical: object    # None when the input is too large to differentiate element by element
    disagree: str        # which answers disagree, or ""


def answers(graph, kernel, values: list, i: int, g, tol: Tolerances) -> list[Answer]:
    """What each input receives for upstream gradient g: the rule's answer, autodiff through a
    custom op's body, and central differences element by element."""
    node = graph.nodes[i]
    ins, out, custom = [values[j] for j in node.inputs], values[i], node.op.custom
    with np.errstate(all="ignore"):
        given = kernel.vjp[i](g, out, *ins)
        auto = custom.autodiff(g, *ins) if custom is not None else None
    floor = ROUNDING * dot(np.abs(g), np.abs(out)) / tol.eps
    result = []
    for k, j in kernel.targets[i]:
        kind = rule_kind(node, k)
        num = numerical_vjp(kernel.fwd[i], ins, k, g, tol.eps) if np.size(ins[k]) <= ANSWER_LIMIT else None
        a = auto[k] if kind == "hand-written" else None
        label = graph.nodes[j].name
        if custom is not None and custom.params[k] != label:
            label = f"{custom.params[k]} ({label})"
        result.append(Answer(label, kind, given[k], a, num,
                             _disagreement(kind, given[k], a, num, tol, floor)))
    return result


def pass_answers(graph, kernel, values: list, grads: list, i: int, tol: Tolerances) -> list[Answer]:
    """The answers for the upstream gradient the backward pass has for node i: ones where it
    is zero or not there yet, so that every answer is not trivially zero."""
    g = grads[i]
    if g is None or not np.any(g):
        g = seed_gradient(graph.nodes[i].shape)
    return answers(graph, kernel, values, i, g, tol)


def _disagreement(kind: str, given, auto, num, tol: Tolerances, floor: float) -> str:
    named = [(kind, given)] + ([("autodiff", auto)] if auto is not None else []) + \
            ([("numerical", num)] if num is not None else [])
    if len(named) < 2:
        return ""
    if len(named) == 2:
        return "" if close(named[0][1], named[1][1], tol, floor) else f"{named[0][0]} and {named[1][0]} disagree"
    agree = {(a, b): close(named[a][1], named[b][1], tol, floor) for a in range(3) for b in range(a + 1, 3)}
    if all(agree.values()):
        return ""
    if not any(agree.values()):
        return "all three disagree"
    for odd in range(3):
        others = [o for o in range(3) if o != odd]
        if agree[tuple(others)] and not any(agree[tuple(sorted((odd, o)))] for o in others):
            return f"{named[odd][0]} disagrees with {named[others[0]][0]} and {named[others[1]][0]}"
    pair = next(p for p, ok in agree.items() if not ok)
    return f"{named[pair[0]][0]} and {named[pair[1]][0]} disagree"


def show(x) -> str:
    return format_value(x, ANSWER_LIMIT) if x is not None else "(too large to show element by element)"


def describe_answers(found: list[Answer], indent: str = "  ") -> str:
    lines = []
    for a in found:
        lines.append(f"{indent}wrt {a.input}: {a.disagree or 'all agree'}")
        rows = [(a.rule, a.given)] + ([("autodiff", a.autodiff)] if a.autodiff is not None else [])
        lines.extend(f"{indent}  {label:<13}{show(value)}" for label, value in rows + [("numerical", a.numerical)])
    return "\n".join(lines)
