"""The pdb-like command language: text in, result out.

Shared by the TUI's command line and `bpdebug script`. Holds no state of its own: everything
lives in the Session. Each command is a `command_<name>` function taking (session, argument).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .conditions import CURRENT, Expression
from .describe import describe_event, describe_node, full_value, where_text  # noqa: F401
from .engine import BACKWARD, FORWARD, SPECIAL_BREAKS, Session, Stop, StepEvent
from .graph import MAX_TENSOR_DEPTH, format_value
from .lang import BpError, did_you_mean, parse_condition
from .lang import ast
from .numbers import MAX_COUNT, whole


@dataclass
class Result:
    text: str
    stop: Stop | None = None
    event: StepEvent | None = None
    error: bool = False
    quit: bool = False       # `quit`: the front end ends the session


ALIASES = {"s": "step", "n": "next", "c": "continue", "cont": "continue", "b": "break",
           "p": "print", "w": "where", "l": "list", "r": "back", "u": "until", "unt": "until",
           "h": "help", "?": "help", "d": "delete", "i": "info", "run": "restart", "j": "jump",
           "q": "quit", "exit": "quit"}

# command -> (usage, what it does); `help` and the TUI's help screen lay them out in columns
COMMANDS = {
    "step": ("step [N]", "take N single steps (default 1), entering `def` bodies"),
    "next": ("next", "step over a call of a `def` as one step"),
    "continue": ("continue", "run to the next breakpoint or the end"),
    "back": ("back [N]", "take back N steps, restoring every value and gradient"),
    "until": ("until NODE", "run until NODE is stepped (in this pass, else the next)"),
    "jump": ("jump STEP", "go to STEP steps taken (0 to the last), passing breakpoints by"),
    "break": ("break [forward|backward] [NODE] [if COND]",
              "set a breakpoint; `break nonfinite` (where nan/inf is born), `break mismatch` "
              "(a wrong backward rule)"),
    "tbreak": ("tbreak ...", "a breakpoint that deletes itself when hit"),
    "condition": ("condition N [COND]", "give breakpoint N a condition (none: remove it)"),
    "ignore": ("ignore N COUNT", "pass breakpoint N by its next COUNT hits"),
    "delete": ("delete [N]", "delete breakpoint N (all without N)"),
    "disable": ("disable N", "disable breakpoint N"),
    "enable": ("enable N", "enable breakpoint N"),
    "watch": ("watch EXPR", "show EXPR at every stop, e.g. `watch grad(x)`, `watch norm(grad)`"),
    "unwatch": ("unwatch N", "remove watch N"),
    "print": ("print [NODE|EXPR]", "a node's formula, value and gradient, or an expression"),
    "where": ("where", "the pass, the step, the current node and the `def` calls around it"),
    "up": ("up", "to the `def` call around the current node (or around that one)"),
    "down": ("down", "back toward the current node"),
    "list": ("list [all]", "the graph as code, one node a line; `->` marks the current node"),
    "set": ("set LEAF = VALUE", "give a leaf a new value and recompute up to here"),
    "restart": ("restart", "back to before the first step (breakpoints stay)"),
    "info": ("info breakpoints|watches", "list them"),
    "check": ("check [NODE]", "check backward rules against central differences: the failing "
                              "computed nodes, or NODE's answers side by side"),
    "help": ("help [COMMAND]", "this list"),
    "quit": ("quit", "leave the debugger"),
}


def aliases_of(name: str) -> list[str]:
    return [a for a, n in ALIASES.items() if n == name]


def help_line(name: str, table: dict = COMMANDS, width: int = 18) -> str:
    """`step [N]          (s) take N single steps ...`: usage, aliases, what it does (`table`:
    COMMANDS, or those with a trainer's commands, train.commands.COMMANDS, over them)."""
    usage, what = table[name]
    aliases = aliases_of(name)
    return (f"{usage:<{width}}" if len(usage) < width else usage + "   ") \
        + (f"({', '.join(aliases)}) " if aliases else "") + what


def execute(session: Session, line: str) -> Result:
    """Run one command line; errors come back as a Result with error=True."""
    line = line.strip()
    if not line or line.startswith("#"):
        return Result("")
    word, _, arg = line.partition(" ")
    name = ALIASES.get(word, word)
    handler = globals().get(f"command_{name}")
    if handler is None:
        hint = did_you_mean(word, list(COMMANDS) + list(ALIASES))
        return Result(f"unknown command '{word}'" + (f"; {hint}" if hint else "; type `help`"), error=True)
    try:
        return handler(session, arg.strip())
    except BpError as err:
        return Result(err.message + (f" ({err.hint})" if err.hint else ""), error=True)


# ---- moving ---------------------------------------------------------------------------------

def whole_arg(arg: str, what: str, lo: int = 1, hi: int = MAX_COUNT) -> int:
    """A whole number typed in a command (`step 3`, `delete 2`): every command reads its counts
    and numbers here, so `²`, `1e309` or `-1` get one answer everywhere."""
    try:
        return whole(arg, lo, hi)
    except ValueError as err:
        raise BpError(f"{what} {err}") from None


def count_arg(arg: str) -> int:
    """How many steps: 1 without a number."""
    return whole_arg(arg, "the number of steps") if arg else 1


def after_move(session: Session, stop: Stop | None = None) -> Result:
    ev = session.event()
    lines = []
    if stop is not None and stop.reason == "breakpoint":
        b = stop.breakpoint
        lines.append(f"stopped at breakpoint {b.id} ({b.describe(session.graph)})"
                     + (f": {stop.detail}" if stop.detail else ""))
    if ev is not None:
        lines.append(describe_event(session, ev))
    else:
        lines.append("at the start: nothing stepped yet")
    if session.t >= session.total:
        out = session.graph.nodes[session.graph.output]
        lines.append(f"done: {out.name} = {format_value(session.values[out.index])}; "
                     "every gradient is final")
    lines.extend(f"watch {w}: {_watched(v)}"
                 for w, v in session.watch_values())
    return Result("\n".join(lines), stop=stop, event=ev)


def _at_end(session: Session) -> Result | None:
    if session.t >= session.total:
        return Result("the backward pass is finished; `back` or `restart` to step again")
    return None


def command_step(session: Session, arg: str) -> Result:
    count = count_arg(arg)
    done = _at_end(session)
    if done:
        return done
    stop = session.run(limit=count)
    return after_move(session, stop)


def command_next(session: Session, arg: str) -> Result:
    done = _at_end(session)
    if done:
        return done
    return after_move(session, session.next())


def command_continue(session: Session, arg: str) -> Result:
    done = _at_end(session)
    if done:
        return done
    return after_move(session, session.run())


def command_back(session: Session, arg: str) -> Result:
    count = count_arg(arg)           # `back ³` is a mistake at the start too
    if session.t == 0:
        return Result("at the start: nothing to take back")
    session.back(count)
    return after_move(session)


def command_until(session: Session, arg: str) -> Result:
    if not arg:
        raise BpError("until needs a node name: until NODE")
    return after_move(session, session.until(arg))


def command_jump(session: Session, arg: str) -> Result:
    session.goto(whole_arg(arg, "the step to jump to", 0, session.total))
    return after_move(session)


def command_restart(session: Session, arg: str) -> Result:
    session.restart()
    return Result(f"restarted: {session.total} steps ahead ({session.n} forward, {session.n} backward)")


def command_set(session: Session, arg: str) -> Result:
    name, eq, text = arg.partition("=")
    if not eq or not name.strip() or not text.strip():
        raise BpError("usage: set LEAF = VALUE, e.g. set x = 3 or set v = [1, 2]")
    session.set_leaf(name.strip(), parse_value(text))
    return Result(f"{name.strip()} = {format_value(session.values[session.graph.index(name.strip())]) if session.t else text.strip()}"
                  f"; recomputed {session.t} steps")


def parse_value(text: str):
    """A number or a tensor literal, as typed after `set x =` or `--set x=`."""
    e = parse_condition(text)
    if isinstance(e, ast.Num):
        return e.value
    if not isinstance(e, ast.Tensor):
        raise BpError(f"expected a number or a tensor literal such as [1, 2], got '{text.strip()}'")
    rows = _literal(e)
    try:
        return np.array(rows, dtype=float)
    except ValueError:
        raise BpError(f"ragged tensor literal: {text.strip()}") from None


def _literal(e):
    out: list = []
    stack = [(e, out, 0)]
    while stack:
        node, into, depth = stack.pop()
        if isinstance(node, ast.Num):
            into.append(node.value)
        elif isinstance(node, ast.Tensor):
            if depth >= MAX_TENSOR_DEPTH:
                raise BpError(f"tensor literal nested deeper than {MAX_TENSOR_DEPTH} levels")
            inner: list = []
            into.append(inner)
            stack.extend((i, inner, depth + 1) for i in reversed(node.items))
        else:
            raise BpError("a tensor literal holds numbers only")
    return out[0]


def _watched(value) -> str:
    """A watch's value, or the error text watch_values() gave in its place."""
    return value if isinstance(value, str) else format_value(value)


# ---- breakpoints and watches ------------------------------------------------------------------

def _parse_break(session: Session, arg: str) -> dict:
    spec, _, cond = arg.partition(" if ")
    if arg.startswith("if "):
        spec, cond = "", arg[3:]
    words = spec.split()
    out: dict = {"node": None, "pass_": None, "condition": cond.strip() or None, "special": None}
    for w in words:
        if w in (FORWARD, BACKWARD) and out["pass_"] is None:
            out["pass_"] = w
        elif w in SPECIAL_BREAKS and out["special"] is None:
            out["special"] = w
        elif out["node"] is None:
            session.graph.index(w)  # raises with a suggestion
            out["node"] = w
        else:
            raise BpError(f"unexpected '{w}': break [forward|backward] [NODE] [if COND]")
    return out


def _break(session: Session, arg: str, temporary: bool) -> Result:
    b = session.add_breakpoint(temporary=temporary, **_parse_break(session, arg))
    kind = "temporary breakpoint" if temporary else "breakpoint"
    return Result(f"{kind} {b.id}: {b.describe(session.graph)}")


def command_break(session: Session, arg: str) -> Result:
    if not arg:
        return command_info(session, "breakpoints")
    return _break(session, arg, False)


def command_tbreak(session: Session, arg: str) -> Result:
    return _break(session, arg, True)


def _bp_number(arg: str) -> int:
    return whole_arg(arg, "a breakpoint number")


def command_condition(session: Session, arg: str) -> Result:
    number, _, cond = arg.partition(" ")
    b = session.breakpoint(_bp_number(number))
    cond = cond.strip()
    b.condition = Expression(cond, session.graph.names) if cond else None
    return Result(f"breakpoint {b.id}: {b.describe(session.graph)}")


def command_ignore(session: Session, arg: str) -> Result:
    number, _, count = arg.partition(" ")
    b = session.breakpoint(_bp_number(number))
    if not count.strip():
        raise BpError("usage: ignore N COUNT: breakpoint N passes by its next COUNT hits")
    b.ignore = whole_arg(count.strip(), "the number of hits to pass by", 0)
    return Result(f"breakpoint {b.id} will pass by its next {b.ignore} hit(s)" if b.ignore
                  else f"breakpoint {b.id} will stop at its next hit")


def command_delete(session: Session, arg: str) -> Result:
    if not arg:
        n = len(session.breakpoints)
        session.breakpoints.clear()
        return Result(f"deleted {n} breakpoint(s)")
    b = session.breakpoint(_bp_number(arg))
    session.delete_breakpoint(b.id)
    return Result(f"deleted breakpoint {b.id}")


def command_disable(session: Session, arg: str) -> Result:
    b = session.breakpoint(_bp_number(arg))
    b.enabled = False
    return Result(f"disabled breakpoint {b.id}")


def command_enable(session: Session, arg: str) -> Result:
    b = session.breakpoint(_bp_number(arg))
    b.enabled = True
    return Result(f"enabled breakpoint {b.id}")


def command_watch(session: Session, arg: str) -> Result:
    if not arg:
        return command_info(session, "watches")
    w = session.add_watch(arg)
    value = dict(session.watch_values()).get(w.text)
    return Result(f"watch {len(session.watches)}: {w.text} = {_watched(value)}")


def command_unwatch(session: Session, arg: str) -> Result:
    n = whole_arg(arg, "a watch number")
    if not 1 <= n <= len(session.watches):
        raise BpError(f"no watch number {n}")
    w = session.watches.pop(n - 1)
    return Result(f"removed watch {n}: {w.text}")


def command_info(session: Session, arg: str) -> Result:
    what = arg.split()[0] if arg else ""
    if "breakpoints".startswith(what) and what:
        if not session.breakpoints:
            return Result("no breakpoints")
        rows = [f"{b.id:>3}  {'on ' if b.enabled else 'off'}  {'temp' if b.temporary else 'keep'}  "
                f"hits {b.hits:<4} {b.describe(session.graph)}"
                + (f"   (passing by {b.ignore} more hit(s))" if b.ignore else "") for b in session.breakpoints]
        return Result("  id  state keep  hits  where\n" + "\n".join(rows))
    if "watches".startswith(what) and what:
        if not session.watches:
            return Result("no watches")
        return Result("\n".join(f"{k}: {w} = {_watched(v)}"
                                for k, (w, v) in enumerate(session.watch_values(), 1)))
    raise BpError("usage: info breakpoints | info watches")


# ---- looking ---------------------------------------------------------------------------------

def command_check(session: Session, arg: str) -> Result:
    from .check.breaks import check_text
    return Result(check_text(session, arg or None))


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def command_print(session: Session, arg: str) -> Result:
    if not arg:
        if session.current is None:
            return Result("nothing stepped yet")
        return Result(describe_node(session, session.frames()[session.frame]))
    if arg in session.graph.names:
        return Result(describe_node(session, session.graph.index(arg)))
    if NAME.fullmatch(arg) and arg not in CURRENT:
        session.graph.index(arg)             # no node named so: say that, with a suggestion
    try:
        value = Expression(arg, session.graph.names, "expression").evaluate(session.lookup)
    except (ValueError, TypeError) as err:  # numpy's word on shapes that do not fit
        raise BpError(f"cannot evaluate {arg}: {err}") from None
    return Result(f"{arg} = " + full_value(value).replace("\n", "\n" + " " * (len(arg) + 3)))


def command_where(session: Session, arg: str) -> Result:
    return Result(where_text(session))


def _frame(session: Session, step: int) -> Result:
    frames = session.frames()
    k = session.frame + step
    if not frames:
        return Result("nothing stepped yet")
    if k >= len(frames):
        raise BpError("no `def` call around this one" if len(frames) > 1
                      else f"{session.graph.nodes[frames[0]].name} is not inside a `def` call")
    if k < 0:
        raise BpError("already at the current node")
    session.select_frame(k)
    return Result(where_text(session))


def command_up(session: Session, arg: str) -> Result:
    return _frame(session, 1)


def command_down(session: Session, arg: str) -> Result:
    return _frame(session, -1)


def command_list(session: Session, arg: str) -> Result:
    g = session.graph
    cur = session.current
    lo, hi = 0, len(g.nodes)
    if arg != "all" and len(g.nodes) > 50:
        centre = cur if cur is not None else 0
        lo, hi = max(0, centre - 10), min(len(g.nodes), centre + 11)
    lines = [("-> " if i == cur else "   ") + g.line(g.nodes[i]) for i in range(lo, hi)]
    if hi - lo < len(g.nodes):
        lines.append(f"   ... {len(g.nodes)} nodes in all; `list all` shows every one")
    return Result("\n".join(lines))


def command_help(session: Session, arg: str) -> Result:
    if arg:
        name = ALIASES.get(arg, arg)
        if name not in COMMANDS:
            raise BpError(f"no command '{arg}'", hint=did_you_mean(arg, COMMANDS))
        return Result(help_line(name))
    return Result("\n".join(help_line(name) for name in COMMANDS))


def command_quit(session: Session, arg: str) -> Result:
    return Result("", quit=True)
