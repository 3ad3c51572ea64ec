"""Files a command writes (--save, --trace, graph's -o) never replace a file it reads: `train
--save examples/xor.bp` would have overwritten the program with an .npz archive."""
from __future__ import annotations

import os
from pathlib import Path

from ..lang import BpError

OUTPUTS = (("save", "--save"), ("trace", "--trace"), ("output", "-o"))
INPUTS = (("file", "the program"), ("load", "the params file given to --load"),
          ("commands", "the commands file"), ("inputs", "the inputs file"), ("ops", "the ops file"))


def refuse_overwriting_inputs(args, session) -> None:
    """A BpError if an output of the command is one of the files it reads: the program, the data
    files its data leaves were read from, or a file named by an option."""
    inputs = [(getattr(args, key, None), what) for key, what in INPUTS]
    inputs += [(path, f"the data file {path}") for path in session.graph.data_files]
    for key, flag in OUTPUTS:
        out = getattr(args, key, None)
        if not isinstance(out, str):
            continue
        for path, what in inputs:
            if isinstance(path, (str, Path)) and str(path) != "-" and _same_file(out, path):
                raise BpError(f"{flag} {out} would overwrite {what}, which this command reads; "
                              "write to another file")


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:                     # one of them does not exist (yet)
        return Path(a).resolve() == Path(b).resolve()
