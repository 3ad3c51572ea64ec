"""What a program says about its own training, read from its syntax tree when it is loaded:
the settings of its `train` statement, and the prediction and target its loss compares (the
two arguments of a cost, `loss C = quadratic(out, Y)`), which `--metric` and `--predict` read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..graph.network import COSTS
from ..lang import BpError, ast
from .settings import statement_settings


@dataclass(frozen=True)
class ProgramTraining:
    given: dict = field(default_factory=dict)   # {setting: value} from the `train` statement
    prediction: str | None = None               # the cost's first argument, when it is a name
    target: str | None = None                   # its second


def read_program(program: ast.Program, output: str) -> ProgramTraining:
    """`output`: the name of the graph's output (the loss)."""
    given: dict = {}
    first = None
    prediction = target = None
    for st in program.statements:
        if isinstance(st, ast.Train):
            if first is not None:
                raise BpError(f"a second train statement (the first is at line {first.span.line}); "
                              "give every setting in one", st.span)
            first = st
            given = statement_settings(st)
        elif isinstance(st, ast.Assign) and st.name == output and isinstance(st.expr, ast.Call) \
                and st.expr.func in COSTS and len(st.expr.args) == 2:
            a, y = st.expr.args
            prediction = a.name if isinstance(a, ast.Name) else None
            target = y.name if isinstance(y, ast.Name) else None
    return ProgramTraining(given, prediction, target)


def program_training(graph) -> ProgramTraining:
    """The program's training settings; none for a graph that no .bp program built."""
    return getattr(graph, "training", None) or ProgramTraining()
