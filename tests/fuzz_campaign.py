"""A longer fuzz campaign than the suite runs: the generators of tests/test_fuzz.py (damaged
examples and ONNX models, command lines of the debugger, command lines of `bpdebug`) with fresh seeds, for as
long as you like, in turns. Prints how many inputs each fuzzer tried and every distinct failure
with an input that shows it.

    python tests/fuzz_campaign.py --minutes 10
    python tests/fuzz_campaign.py --minutes 2 --only commands --seed 7
    python tests/fuzz_campaign.py --minutes 0 --tui          # 10,000 random keys on each TUI example

--tui first presses random keys on the TUI as tests/tui/test_random_keys.py does, --keys (10,000)
on each of its examples with fresh seeds (some minutes: about 20 ms a key).

Exit 0 when nothing failed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import faulthandler
import random
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_fuzz  # noqa: E402  (the generators and checks the suite uses)

FUZZERS = {
    "programs": (test_fuzz.damaged_example(), lambda example: test_fuzz.run_damaged(*example)),
    "models": (test_fuzz.damaged_model(),
               test_fuzz.test_damaged_onnx_models_load_run_check_and_train_or_give_a_bperror.hypothesis.inner_test),
    "commands": (test_fuzz.st.tuples(test_fuzz.st.sampled_from(test_fuzz.SESSIONS),
                                     test_fuzz.st.lists(test_fuzz.command_line(), min_size=1, max_size=12)),
                 lambda pair: test_fuzz.test_random_command_lines_give_results_never_exceptions.hypothesis.inner_test(*pair)),
    "cli": (test_fuzz.argv(), test_fuzz.test_random_command_lines_of_bpdebug_exit_0_1_or_2.hypothesis.inner_test),
}


HUNG_SECONDS = 60


class _TimeUp(Exception):
    pass


def fuzz(name: str, seconds: float, run_seed: int, failures: dict) -> int:
    """Feed the fuzzer's inputs to its check for `seconds`; distinct failures go into `failures`
    (keyed by the exception and where it was raised). The number of inputs tried."""
    strategy, check = FUZZERS[name]
    tried = 0
    deadline = time.monotonic() + seconds

    @seed(run_seed)
    @settings(max_examples=10**9, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def probe(value):
        nonlocal tried
        if time.monotonic() > deadline:
            raise _TimeUp
        tried += 1
        faulthandler.dump_traceback_later(HUNG_SECONDS)   # an input that hangs shows where
        try:
            check(value)
        except Exception as err:  # noqa: BLE001 - every failure is a finding
            frame = traceback.extract_tb(err.__traceback__)[-1]
            key = (name, type(err).__name__, frame.filename, frame.lineno)
            failures.setdefault(key, (value, "".join(traceback.format_exception(err))[-3000:]))
        finally:
            faulthandler.cancel_dump_traceback_later()

    try:
        probe()
    except _TimeUp:
        pass
    return tried


def fuzz_tui(keys: int, run_seed: int, failures: dict) -> None:
    """Random keys on the TUI, `keys` on each example of the suite's test, from `run_seed`."""
    import asyncio
    import os
    import tempfile

    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="bpdebug-state-")   # not the user's history
    os.chdir(tempfile.mkdtemp(prefix="bpdebug-tui-"))    # where a palette screenshot lands
    from tui import test_random_keys as tui_keys

    for k, name in enumerate(tui_keys.EXAMPLES_DRIVEN):
        started = time.monotonic()
        try:
            done = asyncio.run(tui_keys.drive(name, run_seed + k, keys))
        except Exception as err:  # noqa: BLE001 - every failure is a finding
            failures[("tui", type(err).__name__, name, run_seed + k)] = (
                (name, run_seed + k), "".join(traceback.format_exception(err))[-3000:])
            print(f"  tui {name} seed {run_seed + k}: {type(err).__name__}", flush=True)
            continue
        print(f"  tui {name} seed {run_seed + k}: {done.keys:,} keys, {len(done.sizes)} sizes, "
              f"{done.quits} quits in {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to fuzz in all (default 1)")
    parser.add_argument("--only", choices=sorted(FUZZERS), action="append", help="run only these fuzzers")
    parser.add_argument("--seed", type=int, default=None, help="the first seed (default: random)")
    parser.add_argument("--round", type=float, default=20.0, help="seconds each fuzzer runs before the next")
    parser.add_argument("--tui", action="store_true", help="first press random keys on the TUI's examples")
    parser.add_argument("--keys", type=int, default=10_000, help="keys on each TUI example (default 10,000)")
    args = parser.parse_args()
    names = args.only or sorted(FUZZERS)
    run_seed = random.randrange(2**32) if args.seed is None else args.seed
    counts = dict.fromkeys(names, 0)
    failures: dict = {}
    if args.tui:
        print(f"pressing {args.keys:,} random keys on each TUI example from seed {run_seed}", flush=True)
        fuzz_tui(args.keys, run_seed, failures)
    end = time.monotonic() + 60 * args.minutes
    print(f"fuzzing {', '.join(names)} for {args.minutes:g} minutes from seed {run_seed}", flush=True)
    while time.monotonic() < end:
        for name in names:
            left = end - time.monotonic()
            if left <= 0:
                break
            counts[name] += fuzz(name, min(args.round, left), run_seed, failures)
            run_seed += 1
        print("  " + ", ".join(f"{n}: {c:,}" for n, c in counts.items())
              + f"; {len(failures)} distinct failure(s)", flush=True)
    for (name, kind, filename, line), (value, text) in failures.items():
        print(f"\n=== {name}: {kind} at {filename}:{line}\ninput: {value!r}\n{text}")
    print(f"\ntried {sum(counts.values()):,} inputs ({', '.join(f'{n} {c:,}' for n, c in counts.items())}); "
          f"{len(failures)} distinct failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
