"""Writes a store refused as a whole, or refused for a full disk, said once per episode.

Why: a store out of reach (a directory store's database locked by another writer past the
timeout, a Redis that does not answer) refuses every write until it comes back, and a
live engine writes on every cycle. Each refusal was an ERROR line, on the terminal too,
several a cycle for as long as the outage lasted. Now the first refusal of an episode is
the ERROR, the next ones are counted at DEBUG, and the first write that goes through
says the episode is over with the count (a WARNING that reaches the terminal, where its
beginning was read: :data:`hookspecs.events.FOR_TERMINAL`).

A full disk (SQLite's "database or disk is full", ``ENOSPC`` from a file) is an episode
of its own, :data:`DISK_FULL`: it fails most writes of every cycle, and was 651 ERROR
lines in 100 cycles from the store alone. It ends only when a write goes through *and*
the store has room again (``room``, rows.py): a nearly full database still takes a row
rewritten in place, which would end it and begin it again every cycle. Its refusals are
raised as :class:`DiskFullError`, so a writer above (the local engine,
dtms_plugin/local_write_failures.py) knows the store said it and says only what it does
meanwhile, not the full disk a second time at ERROR (docs/dtms.md §8). A refusal of one
write only (a value the store cannot take, a Redis replica's stale write) is said every
time, as before: it is no episode.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hookspecs.events import FOR_TERMINAL

from .opening import StoreError

#: the episode of writes refused as a whole (a lock, a Redis out of reach)
REFUSED = "refused"
#: the episode of writes failed for a full disk
DISK_FULL = "disk full"


class DiskFullError(StoreError):
    """A write failed for a full disk, said by the store's :data:`DISK_FULL` episode."""


class WriteOutage:
    """The current episodes of a store refusing writes, one per kind (:data:`REFUSED`,
    :data:`DISK_FULL`): a lock then a full disk is two things said, not one counted
    silently into the other. Shared by the threads of one store (``dtms serve``'s engine
    and its server), hence the lock; a write that goes through outside an episode costs
    one attribute read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: kind -> (time.monotonic() of the episode's first refusal, refusals)
        self._open: dict[str, tuple[float, int]] = {}

    def refused(self, log: logging.Logger, message: str, kind: str = REFUSED) -> None:
        """A write was refused (``kind``): ``message`` says which and why."""
        with self._lock:
            since, count = self._open.get(kind, (time.monotonic(), 0))
            self._open[kind] = (since, count + 1)
        if count == 0:
            log.error("%s (said once until a write goes through)", message)
        else:
            log.debug("%s (still)", message)

    def disk_full(self) -> bool:
        """An episode of a full disk is open: the store has taken no write since with
        room to spare (what a writer above asks before it says its own writes go
        through again: a row rewritten in place goes through on a full disk)."""
        return DISK_FULL in self._open

    def went_through(
        self, log: logging.Logger, where: str, room: Callable[[], bool] | None = None
    ) -> None:
        """A write went through: the end of each episode open, if any, is said. A
        :data:`DISK_FULL` one ends only when ``room()`` says the store has room again
        (no ``room``: any write that goes through ends it)."""
        if not self._open:
            return
        keep_full = DISK_FULL in self._open and room is not None and not room()
        with self._lock:  # the other thread of dtms serve may open an episode meanwhile
            kinds = [k for k in self._open if not (keep_full and k == DISK_FULL)]
            ended = [(k, self._open.pop(k)) for k in kinds]
        for kind, (since, refused) in ended:  # another thread may have said them
            writes = "1 write" if refused == 1 else f"{refused:,} writes"
            log.warning(
                "store %s: %swrites go through again, after %s refused over %.0f s",
                where,
                "the disk has room again: " if kind == DISK_FULL else "",
                writes,
                time.monotonic() - since,
                extra={FOR_TERMINAL: True},
            )
