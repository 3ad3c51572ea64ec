"""The gradient-mistake finder: checks every node's backward rule against central differences
of that node alone, names the first wrong node and the leaves it spoils, finds where nan or inf
is born, and reports gradient health. Importing it registers `break nonfinite` and
`break mismatch` with the engine. No UI here: `bpdebug.cli.check` renders the report.
"""
from __future__ import annotations

from .breaks import failing_nodes, mismatch_reason, node_check
from .checker import Report, affected_leaves, check_session
from .nodes import Answer, NodeCheck, answers, check_node
from .numeric import Tolerances
from .origin import Origin, nonfinite_origin

__all__ = ["Answer", "NodeCheck", "Origin", "Report", "Tolerances", "affected_leaves", "answers",
           "check_node", "check_session", "failing_nodes", "mismatch_reason", "node_check",
           "nonfinite_origin"]
