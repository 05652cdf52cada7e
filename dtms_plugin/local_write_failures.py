"""The store failing the local engine's writes, one episode at a time (docs/dtms.md §8,
"A store that fails writes").

Why: a full disk fails every write of every cycle, each item on its own after its
transaction (a record, the state cache, the history, the account mode): 40,000 ERROR lines
in 90 s, and nothing in the run's report. Here the first failure of an episode is the
ERROR, the next ones are counted at DEBUG, and the first write that goes through again says
the episode is over with its count (a WARNING that reaches the terminal, where the ERROR
was read). The episodes are kept for the run's report (when the first began, how many
writes failed, whether the store took writes again), and while one lasts the engine vetoes
new orders: a trade it cannot record is a trade it cannot defend (docs/dtms.md §7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookspecs import Veto
from hookspecs.events import FOR_TERMINAL

from .store import StoreError
from .store.outage import DiskFullError

#: The kind of every veto of a new entry while the store fails writes (:class:`Veto`).
STORE_FAILING_VETO = "DTMS: the store fails its writes"
#: what the engine does while the store fails its writes, as its first line says
_MEANWHILE = (
    "no action of a trade whose record it cannot write is sent (journal first), what it "
    "could not write is written when it changes again, and new orders are vetoed meanwhile"
)


def said_by_store(exc: StoreError) -> bool:
    """Whether the store said this failure at ERROR already, in an episode of its own (a
    full disk, store/outage.py): the engine's episode then says only what it does."""
    return isinstance(exc, DiskFullError)


@dataclass(slots=True)
class Episode:
    """One run of failed writes: from ``since`` (the host's clock when known), ``failed``
    writes, ``ended`` when a write went through again (None while it lasts)."""

    since: datetime
    reason: str
    failed: int = 1
    ended: datetime | None = None
    #: said at ERROR by an episode of the store's (a lock, a full disk: store/outage.py),
    #: its end too (with its count, in the store's words)
    quiet: bool = False
    #: what the engine does meanwhile was said by the caller (a lock: local_writes.py),
    #: its end too; else this episode said it, and says its end at INFO
    told: bool = False


class WriteFailures:
    """The store's write failures this run, as episodes; the open one, if any, is last."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self.episodes: list[Episode] = []

    @property
    def failing(self) -> Episode | None:
        """The episode that lasts, or None when the last write went through."""
        last = self.episodes[-1] if self.episodes else None
        return last if last is not None and last.ended is None else None

    def count(self) -> int:
        """Writes failed this run, all episodes together."""
        return sum(e.failed for e in self.episodes)

    def failed(
        self,
        what: str,
        reason: str,
        at: datetime | None,
        *,
        said: bool = False,
        told: bool = False,
    ) -> None:
        """A write of ``what`` failed for ``reason`` (the store's words). ``said``: the
        failure was said already at ERROR by an episode of the store's (a lock, a full
        disk: store/outage.py): counted, not said again; what the engine does meanwhile
        is said once at WARNING, unless ``told`` says the caller said it
        (:meth:`dtms_plugin.local_writes.PendingWrites._kept`)."""
        episode = self.failing
        if episode is not None and (said or not episode.quiet):
            episode.failed += 1
            episode.reason = reason
            self._log.debug("DTMS: %s not written, the store still fails: %s", what, reason)
            return
        if episode is not None:  # refused as a whole until now, said so: this is new
            episode.failed += 1
            episode.reason = reason
            episode.quiet = False
        else:
            self.episodes.append(Episode(at or datetime.now(UTC), reason, quiet=said, told=told))
        if said:
            if not told and episode is None:  # the store said why, at ERROR: not twice
                self._log.warning(
                    "DTMS: the store fails this engine's writes (%s not written; the "
                    "store's ERROR says why): %s",
                    what,
                    _MEANWHILE,
                )
            return
        self._log.error(
            "DTMS: the store fails this engine's writes (%s not written: %s): %s (said "
            "again, with the count, when a write goes through)",
            what,
            reason,
            _MEANWHILE,
        )

    def went_through(self, at: datetime | None) -> None:
        """A write went through: the end of the episode, if one lasts, said with its count."""
        episode = self.failing
        if episode is None:
            return
        episode.ended = at or datetime.now(UTC)
        writes = "1 failed write" if episode.failed == 1 else f"{episode.failed:,} failed writes"
        if episode.quiet:  # the store says its end, with its count, at WARNING
            if not episode.told:
                self._log.info(
                    "DTMS: the store takes this engine's writes again, after %s since %s: "
                    "new orders are no longer vetoed",
                    writes,
                    episode.since.isoformat(timespec="seconds"),
                )
            return
        self._log.warning(
            "DTMS: the store takes this engine's writes again, after %s since %s",
            writes,
            episode.since.isoformat(timespec="seconds"),
            extra={FOR_TERMINAL: True},  # where its ERROR was read
        )

    def veto(self, disk_full: bool = False) -> Veto | None:
        """The veto of a new entry while the store fails writes, or while its disk is
        full (``disk_full``, the store's own episode: store/outage.py) though this
        engine's writes, rows rewritten in place, still go through: a new trade's record
        is a new row, which a full disk refuses. Else None."""
        episode = self.failing
        if episode is None:
            if not disk_full:
                return None
            return Veto(
                f"{STORE_FAILING_VETO}: its disk is full: a new trade could not be "
                "recorded nor defended",
                STORE_FAILING_VETO,
            )
        return Veto(
            f"{STORE_FAILING_VETO} since {episode.since.isoformat(timespec='seconds')} "
            f"({episode.reason}): a new trade could not be recorded nor defended",
            STORE_FAILING_VETO,
        )

    def report(self) -> tuple[dict[str, Any], str] | None:
        """The run report's part (its figures and its words), None when no write failed."""
        if not self.episodes:
            return None
        first, last = self.episodes[0], self.episodes[-1]
        failed = self.count()
        figures: dict[str, Any] = {
            "since": first.since.isoformat(timespec="seconds"),
            "failed_writes": failed,
            "episodes": len(self.episodes),
            "recovered": last.ended is not None,
            "last_error": last.reason,
        }
        times = "1 episode" if len(self.episodes) == 1 else f"{len(self.episodes)} episodes"
        writes = "1 write" if failed == 1 else f"{failed:,} writes"
        if last.ended is not None:
            end = f"it took writes again at {last.ended.isoformat(timespec='seconds')}"
        else:
            end = "it still failed them when the run ended (new orders were vetoed meanwhile)"
        words = (
            f"its store failed {writes} from {figures['since']} on ({times}; last: "
            f"{last.reason}); {end}"
        )
        return figures, words
