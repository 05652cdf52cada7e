"""The signals that stop a command cleanly (the run finishes its cycle, the plugins shut
down, the report is written): Ctrl-C (SIGINT); ``kill``, ``systemctl stop`` and ``docker
stop`` (SIGTERM); and on Windows Ctrl-Break (SIGBREAK), which closing the console window
sends too. Without SIGBREAK handled there, a closed console ended a live run with no
plugin shutdown and no report."""

from __future__ import annotations

import signal

_BREAK = getattr(signal, "SIGBREAK", None)  # Windows only

STOP_SIGNALS: tuple[signal.Signals, ...] = (
    signal.SIGINT,
    signal.SIGTERM,
    *([_BREAK] if _BREAK is not None else []),
)


class Aborted(KeyboardInterrupt):
    """The second Ctrl-C of a command that took the first as a request to stop: abort at
    once. Its own class so that the plugin host tells it from a ``KeyboardInterrupt`` a
    plugin raised itself, which asks for the stop in order (docs/architecture.md §4,
    "A plugin that raises something else than an Exception"): the user's abort goes on
    up from wherever it lands, plugin code included."""
