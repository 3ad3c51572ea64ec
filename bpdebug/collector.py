"""Python's cycle collector, paused while a large program is loaded or compiled."""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Loading and compiling make several objects a node and no reference cycles; Python's
    cycle collector, woken every 700 allocations to walk them all again, took 40% of the time
    to load a 100,000-node program and two thirds of the time to compile its kernel."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
