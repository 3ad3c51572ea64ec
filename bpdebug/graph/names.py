"""What a name means while a program is built, and the rules of assigning one.

A name assigned again (`c = c + 1`, `c += 1`) gets a new node each time, as in Python: of n
assignments to `c`, the k-th makes node `c#k` and the last node `c`; `c` always means the newest
so far, and `c#k` the k-th (the last too). A param or data name is assigned once, since
training updates a param in place and feeds a data leaf its batches; so are a layer's names.
A mixin of the builder: it reads and writes the builder's `names`, `defined_at`, `versions`,
`seen` and `kinds` (and reads its `defs` and `user_ops`).
"""
from __future__ import annotations

from ..lang import Span, ast, did_you_mean
from ..ops import FUNCTIONS
from .nodes import split_version
from .spelling import dotted_name_hint


class NameRules:
    """The builder's rules for names (see the module's docstring)."""

    def bind(self, name: str, index: int, span: Span, kind: str = "layer") -> None:
        """A name that is bound once: a layer's, or a leaf given from outside."""
        if name in self.names:
            raise self.error(f"'{name}' is already defined{self.where(name)}; a layer's names are its own",
                             span, "give the layer another name")
        self.names[name] = index
        self.defined_at[name] = span
        self.kinds[name] = kind

    def where(self, name: str) -> str:
        span = self.defined_at.get(name)
        return f" (at line {span.line})" if span else ""

    def check_rebinding(self, st: ast.Assign) -> None:
        """Before anything is built: a param or data name is assigned once (training updates a
        param in place and feeds data its batches), so neither may be rebound or rebind."""
        name = st.name
        base, k = split_version(name)
        if k is not None:
            raise self.error(f"'{name}' names version {k} of '{base}'; assign to '{base}' itself",
                             st.name_span, f"each assignment to '{base}' makes its next version")
        first = self.kinds.setdefault(name, st.kind)
        self.defined_at.setdefault(name, st.name_span)
        if self.versions[name] == 1:
            return
        if first in ("param", "data"):
            what, why = (("a param", "training updates a param in place") if first == "param" else
                         ("data", "training feeds a data leaf its batches"))
            raise self.error(f"'{name}' is {what} name{self.where(name)}, which is assigned once: {why}",
                             st.name_span, "give the new value a name of its own")
        if st.kind in ("param", "data"):
            raise self.error(f"'{name}' is already defined{self.where(name)}; a {st.kind} needs a name of "
                             "its own", st.name_span, "give it a name not used above")

    def version(self, st: ast.Assign) -> str:
        """The node name of this assignment: `c#k` for the k-th of n > 1 assignments, the plain
        name for the last."""
        name = st.name
        if self.kinds.get(name) == "layer":
            raise self.error(f"'{name}' is a layer's name{self.where(name)}, which is assigned once",
                             st.name_span, "give the new value a name of its own")
        self.seen[name] = k = self.seen.get(name, 0) + 1
        return name if k == self.versions[name] else f"{name}#{k}"

    def rebind(self, st: ast.Assign, index: int) -> None:
        """From here on, `st.name` means node `index`; as `name#k` too when it has versions."""
        if self.versions[st.name] > 1:
            self.names[f"{st.name}#{self.seen[st.name]}"] = index
        self.names[st.name] = index
        self.defined_at[st.name] = st.name_span

    def unknown_name(self, e: ast.Name):
        """The error for a name that means nothing here: not yet, no such version, or a typo."""
        base, k = split_version(e.name)
        n = self.versions.get(base, 0)
        assignments = [st for st in self.program.statements
                       if isinstance(st, (ast.Assign, ast.Layer)) and st.name == base]
        later = assignments[(k or 1) - 1] if len(assignments) >= (k or 1) else None
        if later is self.statement and k is None:
            return self.error(f"'{e.name}' has no value yet: this is its first assignment", e.span,
                              f"give it a value above this line, such as {e.name} = 0")
        if later is not None and (k is None or n > 1):
            return self.error(f"'{e.name}' is used before it is defined (at line {later.span.line})",
                              e.span, "define it above this line")
        if k is not None and base in self.names:
            return self.error(f"undefined name '{e.name}'", e.span,
                              f"'{base}' is assigned once, so it has no numbered versions" if n < 2 else
                              f"'{base}' is assigned {n} times: its versions are {base}#1 to {base}#{n}")
        if e.name in FUNCTIONS or e.name in self.defs or e.name in self.user_ops:
            return self.error(f"'{e.name}' is a function; call it with arguments: {e.name}(...)", e.span)
        return self.error(f"undefined name '{e.name}'", e.span,
                          dotted_name_hint(e.name, self.names) or did_you_mean(e.name, self.names))

