"""The graph room: from the syntax tree to a computational graph, and the graph's types.

    nodes.py    Node, Graph, InlineCall; how a node reads as code (`q = add x y`)
    builder.py  statements, names, expressions and `def` calls -> nodes in topological order
    leaves.py   literals and initializers (`[1, 2]`, `randn(3, 2, seed=0)`)
    network.py  `layer ... = dense(...)` and the costs, expanded into ordinary nodes
    data.py     `data X = csv(...)` / `npy(...)`

Building never evaluates anything beyond shapes.
"""
from .builder import build
from .leaves import MAX_TENSOR_DEPTH
from .nodes import LEAF_KINDS, Graph, InlineCall, Node, format_number, format_value

__all__ = ["LEAF_KINDS", "MAX_TENSOR_DEPTH", "Graph", "InlineCall", "Node", "build", "format_number",
           "format_value"]
