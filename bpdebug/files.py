"""Reading the user's files (programs, command files, data) with a size limit, so that
`bpdebug run /dev/zero` or `csv("/dev/zero")` is an error instead of memory growing without end."""
from __future__ import annotations

import sys
from pathlib import Path

from .lang import BpError

MiB = 2 ** 20
MAX_TEXT_BYTES = 64 * MiB      # a program or a command file (a 100,000-node program is 2.4 MB)
MAX_DATA_BYTES = 512 * MiB     # a csv or npy data file


def read_limited(path, limit: int, what: str) -> bytes:
    """The bytes of `path` ('-': standard input), at most `limit` of them: BpError when there are
    more, naming the file as `what` ("program x.bp"); OSError when it cannot be read."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with Path(path).open("rb") as f:
            data = f.read(limit + 1)
    if len(data) > limit:
        raise BpError(f"{what} is larger than {limit // MiB} MiB, more than bpdebug reads")
    return data
