"""Traces: record a live Session to a file as it steps, and replay a file as a Session.

Recording. `record(session, path, values)` attaches a Recorder (bpdebug.trace.record), which
the engine tells of each chunk of steps it takes; it writes each step the first time it is
taken, and flushes every fraction of a second, so a run that is killed leaves a readable prefix.

Replaying. `open_trace(path)` returns a ReplaySession (bpdebug.trace.replay): the engine's
Session answered from the file, recomputing nothing. The format is in bpdebug.trace.format,
comparing two traces in bpdebug.trace.diff.
"""
from .format import is_trace
from .record import Recorder, record, recording
from .replay import ReplaySession, open_trace

__all__ = ["Recorder", "ReplaySession", "is_trace", "open_trace", "record", "recording"]
