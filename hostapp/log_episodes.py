"""Log lines for events that come in floods: the first of an episode at once, the rest
counted and said as one line per window while the episode lasts.

Why: a client (or a flood of them) can make the host's web server fail the same way
thousands of times a second (a full file table: every accept fails; a malformed request
sent in a loop). One log line per event filled 23 MB of stderr in 20 s and hid every
other line; no line at all hides the attack. An episode of one kind (and one client,
where there is one) is said once when it starts, then once a minute as ``N more since
the last line about it`` until a minute passes without one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

#: Seconds an episode's later events are counted before their count is logged.
EPISODE_WINDOW = 60.0

#: Distinct (kind, client) pairs counted at once; beyond it, clients are counted together
#: as ``others`` (a flood from many addresses must not grow the table without end).
MAX_EPISODES = 256

#: ``call_later(delay, callback)``: the event loop's, or a test's.
Scheduler = Callable[[float, Callable[[], None]], Any]


class Episodes:
    """Counts events by (kind, client) and logs each episode's start and counts."""

    def __init__(
        self,
        logger: logging.Logger,
        call_later: Scheduler,
        *,
        level: int = logging.WARNING,
        window: float = EPISODE_WINDOW,
    ) -> None:
        self._log = logger
        self._call_later = call_later
        self._level = level
        self._window = window
        #: (kind, client) -> [events since the last line, the last detail]
        self._open: dict[tuple[str, str], list[Any]] = {}
        self._closed = False

    def note(self, kind: str, client: str, detail: str = "") -> None:
        """One event of ``kind`` from ``client`` (``""``: no client to name)."""
        key = (kind, client)
        if key not in self._open and len(self._open) >= MAX_EPISODES:
            key = (kind, "others")
        counted = self._open.get(key)
        if counted is not None:
            counted[0] += 1
            counted[1] = detail
            return
        self._open[key] = [0, detail]
        self._log.log(
            self._level,
            "%s%s%s (more of these are counted and logged every %g s)",
            kind,
            f" from {client}" if client else "",
            f": {detail}" if detail else "",
            self._window,
        )
        if not self._closed:
            self._call_later(self._window, lambda: self._flush(key))

    def _flush(self, key: tuple[str, str]) -> None:
        counted = self._open.get(key)
        if counted is None:
            return
        if counted[0] == 0:  # a quiet window: the episode is over
            del self._open[key]
            return
        self._say(key, counted)
        counted[0] = 0
        if not self._closed:
            self._call_later(self._window, lambda: self._flush(key))

    def _say(self, key: tuple[str, str], counted: list[Any]) -> None:
        kind, client = key
        self._log.log(
            self._level,
            "%s%s: %d more since the last line about it%s",
            kind,
            f" from {client}" if client else "",
            counted[0],
            f" (the last: {counted[1]})" if counted[1] else "",
        )

    def close(self) -> None:
        """Say what is counted and not yet said (the server stops)."""
        self._closed = True
        for key, counted in self._open.items():
            if counted[0]:
                self._say(key, counted)
        self._open.clear()
