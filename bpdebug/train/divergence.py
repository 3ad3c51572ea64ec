"""When training goes wrong. Divergence: the loss becomes nan or inf, a param does, or the loss
grows past GROWTH times its first value; training stops, and the message names the step and the
node where the non-finite value was born (the gradient checker's origin finder). Saturation:
sigmoid or tanh outputs pinned at their bounds while the layer's gradient has all but vanished;
a warning with the layer's gradient norms, since training goes on without learning anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..check.health import FLAG_SHARE, layer_health
from ..check.origin import Origin, nonfinite_origin
from ..graph import format_number
from ..report import finite

GROWTH = 1e3          # a loss past this many times its first value has diverged
VANISHED = 1e-3       # a layer gradient norm below this share of its first one has vanished


@dataclass
class Divergence:
    step: int
    what: str                       # "C became nan", "C grew past 1000 times its first value ..."
    origin: Origin | None = None    # where nan or inf was born in this step's passes
    update: str = ""                # else the param whose update made it

    def message(self) -> str:
        text = f"training stopped at step {self.step}: {self.what}"
        if self.origin is not None:
            text += f"; nan or inf was born at node {self.origin.name}: {self.origin.describe()}"
        elif self.update:
            text += f"; the update of {self.update} made it from finite values (the step overflowed)"
        return text + " (a smaller learning rate may help)"

    def as_dict(self) -> dict:
        return {"step": self.step, "what": self.what, "update": self.update or None,
                "origin": self.origin.as_dict() if self.origin is not None else None}


def divergence(trainer, params_finite: bool = False) -> Divergence | None:
    """At the end of a training step, whether it diverged. `params_finite`: every param is known
    to be finite (the caller checked them in one go)."""
    step, name = trainer.steps_done, trainer.loss_name
    loss, first = trainer.losses[-1], trainer.losses[0]
    bad = [] if params_finite else [u.param for u in trainer.updates if not all_finite(u.new)]
    if math.isfinite(loss) and not bad:
        if first > 0 and loss > GROWTH * first:
            return Divergence(step, f"{name} grew past {GROWTH:g} times its first value "
                                    f"({first:.6g} at step 1, {loss:.6g} at step {step})")
        return None
    what = f"{name} became {loss}" if not math.isfinite(loss) else f"{bad[0]} became nan or inf"
    origin = nonfinite_origin(trainer.session)
    return Divergence(step, what, origin, "" if origin is not None else (bad[0] if bad else ""))


def all_finite(x) -> bool:
    """report.finite, a sum first: once a step for every param, and a sum costs less than a
    mask (a sum that overflows is checked element by element)."""
    if isinstance(x, float):
        return math.isfinite(x)
    return math.isfinite(float(np.add.reduce(x, axis=None))) or finite(x)


def layer_norms(session) -> dict:
    """{layer: its gradient norm} from the session's passes."""
    return {h.name: h.grad_norm for h in layer_health(session.graph, session.values, session.grads)}


def saturation_warnings(session, first: dict, step: int) -> list[str]:
    """Layers whose sigmoid or tanh outputs are saturated and whose gradient norm fell below
    VANISHED times the one of the first step (`first`, from layer_norms)."""
    warnings = []
    for h in layer_health(session.graph, session.values, session.grads):
        start = first.get(h.name)
        if h.saturated_share is None or h.saturated_share < FLAG_SHARE or not start:
            continue
        if h.grad_norm < VANISHED * start:
            warnings.append(f"layer {h.name}: {h.saturated_share:.0%} of its {h.act} outputs are saturated "
                            f"and its gradient norm fell from {format_number(start)} at step 1 to "
                            f"{format_number(h.grad_norm)} at step {step}: the gradients have vanished and "
                            "the loss cannot fall (a smaller learning rate may help)")
    return warnings
