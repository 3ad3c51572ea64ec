"""Pictures of the whole program, in the style of the tutorials' circuit diagrams: boxes in
layers left to right, values on the wires going forward, gradients on the wires coming back.

    scene.py    what to draw at the session's position: boxes (a node, or a `def` call or a
                `layer` collapsed to one box), wires with their value and gradient, and, past
                what fits, the neighbourhood of one node with a count of what is hidden
    layout.py   where: grandalf's layered (Sugiyama) layout, then a grid of character cells
                with wires routed between the columns and a free cell for every label
    text.py     the grid as lines of Rich text (the TUI's graph view)
    svg.py      the same grid as a standalone SVG
    dot.py, mermaid.py   the scene as Graphviz DOT and as a Mermaid flowchart

Front ends compute nothing: values and gradients are read from the Session.
"""
