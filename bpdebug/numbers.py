"""Numbers a user types where a count, a size, a seed, a step or a rate goes, and how a number
reads back. One rule for each kind, shared by a program's arguments (graph/arguments.py), the
command language (`step 3`, `delete 2`), the training settings and every command-line option,
so `inf`, `-1`, `1e309`, `10^12` or `²` get the same answer wherever they are typed.

Each check returns the number or raises ValueError with the rule broken ("must be a whole
number from 1 to 1000000000, got inf"); the caller puts its own name and place in front.
Plain Python (no numpy): the numbers are Python ints and floats, which neither wrap nor overflow.
"""
from __future__ import annotations

import math

MAX_COUNT = 10**9          # steps, training steps, breakpoint numbers: more than anyone waits for
MAX_INT = 2**31 - 1        # sizes, strides, padding, units, axes, columns, indices


def format_number(x: float) -> str:
    """A number as bpdebug shows it: whole numbers without a point, others to 6 digits."""
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x)) if x != 0 or math.copysign(1, x) > 0 else "0"
    return f"{x:.6g}"


def number(raw: str | float) -> float:
    """A float from text as typed (`3`, `-0.5`, `1e-3`, `inf`), or a number already read.
    Only ASCII, without `_`: Python's float() also reads `1_000` and digits of other scripts."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip()
    if text.isascii() and "_" not in text:
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError(f"expected a number, got '{raw}'")


def shown(raw: str | float, most: int = 40) -> str:
    """The value as the user gave it: text as typed (its start, if long), a number as bpdebug
    writes numbers."""
    if not isinstance(raw, str):
        return format_number(float(raw))
    return raw if len(raw) <= most else f"{raw[:most // 2]}… ({len(raw):,} characters)"


def whole(raw: str | float, lo: int, hi: int | None) -> int:
    """A whole number in [lo, hi] (hi None: no upper end), from text or a number; ValueError
    naming the range."""
    try:
        x = number(raw)
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and x == int(x) and lo <= x and (hi is None or x <= hi)):
        limits = f"of at least {lo}" if hi is None else f"from {lo} to {hi}"
        raise ValueError(f"must be a whole number {limits}, got {shown(raw)}")
    return int(x)


def real(raw: str | float, lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False,
         hi_open: bool = False, example: str | None = None) -> float:
    """A finite number between lo and hi (either end left out with lo_open/hi_open)."""
    x = number(raw)
    fits = (math.isfinite(x) and (lo < x if lo_open else lo <= x) and (x < hi if hi_open else x <= hi))
    if not fits:
        such = f" (such as {example})" if example else ""
        raise ValueError(f"must be {_interval(lo, hi, lo_open, hi_open)}{such}, got {shown(raw)}")
    return x


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    a, b = format_number(lo), format_number(hi)
    if math.isinf(lo) and math.isinf(hi):
        return "a finite number"
    if math.isinf(hi):
        if lo == 0 and lo_open:
            return "a positive number"
        return f"a number {'greater than' if lo_open else 'of at least'} {a}"
    if math.isinf(lo):
        return f"a number {'less than' if hi_open else 'of at most'} {b}"
    if lo_open and hi_open:
        return f"between {a} and {b}"
    low = f"more than {a}" if lo_open else f"at least {a}"
    high = f"less than {b}" if hi_open else f"at most {b}"
    return f"{low} and {high}"
