"""Ctrl+P, Textual's command palette: every debugger command, and a fuzzy jump to any node by
name ("go to h.W"). A command that needs no argument runs when chosen; one that takes one is
typed into the command line for you to finish. Textual's own commands (themes, quit, keys)
are there too.

A graph may have 100,000 names: up to FUZZY_NAMES of them are matched fuzzily, as Textual's
matcher does it; past that, names containing the typed text (a plain substring test, fast) are
matched, and at most SHOWN are offered.
"""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..commands import COMMANDS, aliases_of

FUZZY_NAMES = 5000
SHOWN = 100
RUN_AS_IS = {"step", "next", "continue", "back", "where", "up", "down", "list", "restart", "help",
             "quit", "check"}    # useful without an argument: chosen, they run


class DebuggerCommands(Provider):
    """The commands and nodes of the BpDebugApp the palette was opened over."""

    def _entries(self) -> list:
        """[(text to match, help, callback)] for the commands."""
        app = self.app
        out = []
        for name, (usage, what) in COMMANDS.items():
            aliases = aliases_of(name)
            text = usage + (f"  ({', '.join(aliases)})" if aliases else "")
            run = partial(app.run_command, name) if name in RUN_AS_IS else partial(app.type_command, name + " ")
            out.append((text, what, run))
        return out

    async def discover(self) -> Hits:
        for text, what, run in self._entries():
            yield DiscoveryHit(text, run, help=what)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, what, run in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=what)
        graph = self.app.session.graph
        nodes = graph.nodes
        if len(nodes) > FUZZY_NAMES:
            lowered = query.lower()
            candidates = (n for n in nodes if lowered in n.name.lower())
        else:
            candidates = iter(nodes)
        shown = 0
        for node in candidates:
            text = f"go to {node.name}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.select_node, node.index),
                          help=graph.formula(node))
                shown += 1
                if shown >= SHOWN:
                    return
