"""Writes a store refused as a whole, said once per episode.

Why: a store out of reach (a directory store's database locked by another writer past the
timeout, a Redis that does not answer) refuses every write until it comes back, and a
live engine writes on every cycle. Each refusal was an ERROR line, on the terminal too,
several a cycle for as long as the outage lasted. Now the first refusal of an episode is
the ERROR, the next ones are counted at DEBUG, and the first write that goes through
says the episode is over with the count (a WARNING that reaches the terminal, where its
beginning was read: :data:`hookspecs.events.FOR_TERMINAL`). A refusal of one write only
(a full disk that lets small writes through, a value the store cannot take, a Redis
replica's stale write) is said every time, as before: it is no episode.
"""

from __future__ import annotations

import logging
import threading
import time

from hookspecs.events import FOR_TERMINAL


class WriteOutage:
    """The current episode of a store refusing writes as a whole, if any. Shared by the
    threads of one store (``dtms serve``'s engine and its server), hence the lock; a
    write that goes through outside an episode costs one attribute read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None  # time.monotonic() of the episode's first refusal
        self._refused = 0

    def refused(self, log: logging.Logger, message: str) -> None:
        """A write was refused as a whole: ``message`` says which and why."""
        with self._lock:
            first = self._since is None
            if first:
                self._since = time.monotonic()
            self._refused += 1
        if first:
            log.error("%s (said once until a write goes through)", message)
        else:
            log.debug("%s (still)", message)

    def went_through(self, log: logging.Logger, where: str) -> None:
        """A write went through: the end of the episode, if one was open, is said."""
        if self._since is None:
            return
        with self._lock:
            since, refused = self._since, self._refused
            self._since, self._refused = None, 0
        if since is None:
            return  # another thread said it
        writes = "1 write" if refused == 1 else f"{refused} writes"
        log.warning(
            "store %s: writes go through again, after %s refused over %.0f s",
            where,
            writes,
            time.monotonic() - since,
            extra={FOR_TERMINAL: True},
        )
