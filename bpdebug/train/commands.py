"""The command language over a Trainer, for a program with params (`bpdebug script`, and the
TUI's `lr`): `step`, `next`, `continue` and `back` go on past the backward pass into the update
phase, one param a step, then into the next training step; `train N` runs N training steps,
`lr` shows or sets the learning rate, `restart` goes back to the initial params (`restart step`
to the start of this training step). Every other command is bpdebug.commands' own, on the
trainer's session.
"""
from __future__ import annotations

from .. import commands
from ..commands import Result
from ..engine import DONE
from ..graph import format_value
from ..lang import BpError, did_you_mean
from .settings import convert
from .trainer import UPDATE, Trainer, Update

# usage and what it does, as commands.COMMANDS: restart [step] takes the place of restart
COMMANDS = {
    "train": ("train [N]", "run N training steps (default 1): the rest of this one, then whole ones"),
    "lr": ("lr [LR]", "the learning rate, and the optimizer; `lr 0.5` sets it from the next update"),
    "restart": ("restart [step]", "back to the initial params and training step 1 (breakpoints stay); "
                                  "`restart step`: to the start of this training step"),
}


def execute(trainer: Trainer, line: str) -> Result:
    """Run one command line on a program that trains; errors come back with error=True."""
    word, _, arg = line.strip().partition(" ")
    name, arg = commands.ALIASES.get(word, word), arg.strip()
    handler = globals().get(f"command_{name}")
    if handler is None:
        return commands.execute(trainer.session, line)
    try:
        return handler(trainer, arg)
    except BpError as err:
        return Result(err.message + (f" ({err.hint})" if err.hint else ""), error=True)


def _moved(trainer: Trainer, stop=None) -> Result:
    """What a move did: the update it ended on, or else its last step of the passes (as
    without training); and the training step it finished."""
    if trainer.applied:
        text = describe_update(trainer, trainer.last_update)
    else:
        text = commands.after_move(trainer.session, stop).text
    news = _news(trainer)
    return Result(text + (f"\n{news}" if news else ""), stop=stop)


def _news(trainer: Trainer) -> str:
    s = trainer.session
    if trainer.phase == DONE:
        return (f"training step {trainer.steps_done} done: {trainer.loss_name} = {trainer.losses[-1]:.6g}"
                + _held_out(trainer) + (f"\n{trainer.diverged.message()}" if trainer.diverged else ""))
    if trainer.phase == UPDATE and not trainer.applied and s.t == s.total:
        return "the updates are next: `step` applies one, `continue` all of them"
    return ""


def _held_out(trainer: Trainer) -> str:
    e = trainer.evaluations[-1] if trainer.evaluations else None
    if e is None or e.step != trainer.steps_done:
        return ""
    metric = f", {trainer.metric} {e.metric:.2%}" if e.metric is not None else ""
    return f"; held out: {trainer.loss_name} = {e.loss:.6g}{metric}"


def describe_update(trainer: Trainer, u: Update) -> str:
    """`[update 2/4] h.b = h.b - 0.1 * dC/dh.b`, then each quantity of the update with its value
    (and, for a scalar param, the numbers that made it)."""
    lines = [f"[update {u.position + 1}/{len(trainer.params)}] {u.formula}"]
    lines.append(f"  {u.param} was {format_value(u.old)}; d{u.loss}/d{u.param} = {format_value(u.grad)}")
    for q in u.explain():
        numbers = f" = {q.numbers}" if q.numbers is not None else ""
        lines.append(f"  {q.name} = {q.formula}{numbers} = {format_value(q.value)}")
    return "\n".join(lines)


def command_step(trainer: Trainer, arg: str) -> Result:
    return _moved(trainer, trainer.step(commands.count_arg(arg)))


def command_next(trainer: Trainer, arg: str) -> Result:
    return _moved(trainer, trainer.next())


def command_continue(trainer: Trainer, arg: str) -> Result:
    """To a breakpoint or the end of the passes; there, every update; at the end of a training
    step, the next one's passes."""
    if trainer.phase == UPDATE:
        trainer.finish_updates()
        return _moved(trainer)
    if trainer.phase == DONE:
        trainer.begin_step()
    return _moved(trainer, trainer.session.run())


def command_back(trainer: Trainer, arg: str) -> Result:
    count = commands.count_arg(arg)
    if trainer.t == 0:
        return Result(f"at the start of training step {trainer.step_number}: an earlier training step "
                      "cannot be taken back (its batch and params are gone); `restart` goes back to "
                      "the initial params")
    trainer.back(count)
    return _moved(trainer)


def command_restart(trainer: Trainer, arg: str) -> Result:
    if arg == "step":
        trainer.back(trainer.t)
        return Result(f"back to the start of training step {trainer.step_number}")
    if arg:
        raise BpError(f"restart takes nothing, or `step`; got '{arg}'")
    trainer.reset()
    return Result(f"restarted: the initial params, before training step 1 ({trainer.session.total} steps "
                  f"of passes, then {len(trainer.params)} updates)")


def command_train(trainer: Trainer, arg: str) -> Result:
    count = commands.count_arg(arg)
    done = trainer.steps_done
    stop = trainer.run(count)
    if stop is not None:               # a breakpoint in the passes
        return _moved(trainer, stop)
    ran, first = trainer.steps_done - done, trainer.losses[done]
    name = trainer.loss_name
    text = (f"{ran} training step{'s' * (ran != 1)} done (to step {trainer.steps_done}): "
            f"{name} {first:.6g} -> {trainer.losses[-1]:.6g}" + _held_out(trainer))
    if trainer.diverged:
        return Result(text + "\n" + trainer.diverged.message(), error=True)
    return Result(text)


def command_lr(trainer: Trainer, arg: str) -> Result:
    if arg:
        trainer.lr = convert("lr", arg)
    schedule = trainer.schedule.describe()
    now = "" if schedule == "constant" else f"; {schedule} schedule, {trainer.rate:g} in this training step"
    return Result(f"lr {trainer.lr:g} ({trainer.optimizer.describe()}{now})")


def command_set(trainer: Trainer, arg: str) -> Result:
    _in_the_passes(trainer, "set")
    return commands.command_set(trainer.session, arg)


def command_jump(trainer: Trainer, arg: str) -> Result:
    _in_the_passes(trainer, "jump")
    return commands.command_jump(trainer.session, arg)


def _in_the_passes(trainer: Trainer, name: str) -> None:
    """`set` and `jump` move the passes, which the updates applied since would no longer follow."""
    if trainer.applied:
        raise BpError("the updates have begun: take them back (back) or finish the training step "
                      f"(train) before a `{name}`")


def command_help(trainer: Trainer, arg: str) -> Result:
    table = {**commands.COMMANDS, **COMMANDS}
    if arg:
        name = commands.ALIASES.get(arg, arg)
        if name not in table:
            raise BpError(f"no command '{arg}'", hint=did_you_mean(arg, table))
        return Result(commands.help_line(name, table))
    return Result("\n".join(commands.help_line(name, table) for name in table))


def command_where(trainer: Trainer, arg: str) -> Result:
    rate = f"{trainer.optimizer.name}, lr {trainer.rate:g}"
    head = f"training step {trainer.step_number} ({rate})"
    if trainer.phase == UPDATE:
        nxt = trainer.session.graph.nodes[trainer.params[trainer.applied]].name
        return Result(f"{head}, update phase: {trainer.applied} of {len(trainer.params)} updates "
                      f"applied; next: {nxt}")
    if trainer.phase == DONE:
        return Result(f"{head} done: {trainer.loss_name} = {trainer.losses[-1]:.6g}; the next "
                      "`step` begins the next training step")
    return Result(f"{head}\n{commands.command_where(trainer.session, arg).text}")
