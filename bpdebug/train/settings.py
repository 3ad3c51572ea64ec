"""Training settings: the learning rate, the optimizer and its constants, the schedule, the
steps, the batch, the held-out rows. Three sources, each overriding the one before: the
defaults, the program's own `train` statement (`train lr=2, steps=2000`), the command line.
Every value is checked here, once, whichever source it came from; a bad one is a BpError that
names the setting (located at the statement, for the program's).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..lang import BpError, ast, did_you_mean
from ..numbers import MAX_COUNT, real, shown, whole
from .optimizers import OPTIMIZERS, make_optimizer
from .schedules import SCHEDULES, parse_schedule

METRICS = ("accuracy",)
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "adam": 0.001}


@dataclass(frozen=True)
class Settings:
    lr: float | None = None          # None: DEFAULT_LR of the optimizer
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    schedule: str = "constant"
    lr_end: float = 0.0
    steps: int | None = None         # how many `train` runs (and what T offers in the TUI)
    batch: int | None = None         # None: every row, plain gradient descent
    seed: int = 0
    val: float | None = None         # the share of rows held out
    eval_every: int | None = None    # None: after each epoch
    metric: str | None = None

    @property
    def rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def updated(self, given: dict) -> "Settings":
        """These settings with `given` ({name: value already converted}) on top."""
        return replace(self, **given)

    def make_optimizer(self):
        return make_optimizer(self.optimizer, self.momentum, self.nesterov, self.beta1, self.beta2,
                              self.eps, self.weight_decay)

    def checked(self) -> "Settings":
        """Settings that make sense together; a BpError saying what is missing otherwise."""
        if self.nesterov and self.optimizer != "momentum":
            raise BpError("nesterov is a kind of momentum: use it with optimizer momentum")
        if (self.eval_every is not None or self.metric is not None) and self.val is None:
            what = "eval_every" if self.metric is None else "metric"
            raise BpError(f"{what} is measured on held-out rows: hold some out with val (--val 0.2)")
        try:
            parse_schedule(self.schedule, self.lr_end, self.steps)
        except ValueError as err:
            raise BpError(str(err)) from None
        return self


NAMES = tuple(f.name for f in fields(Settings))


# ---- values: each setting's conversion from text (the command line, a name in the program) or
# a number (the program), with its range ------------------------------------------------------
def _positive(raw) -> float:
    return real(raw, 0, lo_open=True)


def _at_least_zero(raw) -> float:
    return real(raw, 0)


def _below_one(raw) -> float:
    return real(raw, 0, 1, hi_open=True)


def _share(raw) -> float:
    return real(raw, 0, 1, lo_open=True, hi_open=True, example="0.2")


def _whole(low: int, high: int):
    return lambda raw: whole(raw, low, high)


def _choice(options):
    def convert(raw) -> str:
        if raw not in options:
            hint = did_you_mean(str(raw), options)
            raise ValueError(f"must be one of {', '.join(options)}, got '{shown(raw)}'" + (f" ({hint})" if hint else ""))
        return raw
    return convert


def _flag(raw) -> bool:
    if raw in (True, "true", 1.0):
        return True
    if raw in (False, "false", 0.0):
        return False
    raise ValueError(f"must be true or false, got {shown(raw)}")


def _schedule(raw) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"must be one of {', '.join(SCHEDULES)}, got {shown(raw)}")
    try:
        parse_schedule(raw, steps=1)
    except ValueError as err:
        raise ValueError(str(err)) from None
    return raw


CONVERT = {
    "lr": _positive, "optimizer": _choice(OPTIMIZERS), "momentum": _below_one, "nesterov": _flag,
    "beta1": _below_one, "beta2": _below_one, "eps": _positive, "weight_decay": _at_least_zero,
    "schedule": _schedule, "lr_end": _at_least_zero, "steps": _whole(1, MAX_COUNT),
    "batch": _whole(1, MAX_COUNT), "seed": _whole(0, 2**63 - 1), "val": _share,
    "eval_every": _whole(1, MAX_COUNT), "metric": _choice(METRICS),
}


def convert(name: str, raw, label: str | None = None):
    """Setting `name`'s value from `raw`; BpError('LABEL must be ...') if it does not fit."""
    try:
        return CONVERT[name](raw)
    except ValueError as err:
        raise BpError(f"{label or name} {err}") from None


# ---- the program's `train` statement ---------------------------------------------------------
def statement_settings(st: ast.Train) -> dict:
    """{name: value} of a `train lr=2, optimizer=adam` statement, each checked; located errors."""
    given: dict = {}
    for name, expr, span in st.options:
        if name not in CONVERT:
            raise BpError(f"train has no setting '{name}' (its settings: {', '.join(NAMES)})", span,
                          hint=did_you_mean(name, NAMES))
        if name in given:
            raise BpError(f"train sets '{name}' twice", span)
        if isinstance(expr, ast.Num):
            raw = expr.value
        elif isinstance(expr, (ast.Name, ast.Str)):
            raw = expr.name if isinstance(expr, ast.Name) else expr.value
        else:
            raise BpError(f"train {name}= takes a number or a name, such as lr=0.5 or optimizer=adam",
                          expr.span)
        try:
            given[name] = CONVERT[name](raw)
        except ValueError as err:
            raise BpError(f"{name} {err}", expr.span) from None
    return given
