"""The local strategy's commit bookkeeping: changed records and states into the pending
writes, the writes into the store (one transaction; a simulated run holds them for a few
hundred cycles), closed trades out of memory once written, and retention. Split from
:mod:`dtms_plugin.local` so each file reads on its own; :class:`Commits` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes
declared here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .book import TradeBook
from .engine import ScoreBreakdown, TradeRecord
from .local_writes import PendingWrites
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol

#: closed trades removed per quiet cycle by retention: small, so a cycle stays short
RETENTION_BATCH = 50
#: a simulated run commits its writes once per this many cycles (and at shutdown)
SIMULATED_COMMIT_CYCLES = 256


class Commits:
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    adopt: bool  # a host's own engine (dtms serve's adopts nothing)
    evaluated: set[int]
    _writes: PendingWrites
    _hold: int | None
    _next_retention: datetime | None

    if TYPE_CHECKING:  # the strategy's own properties

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        @property
        def store(self) -> StoreProtocol: ...

        def _note_ledger(self, *, last: bool = False) -> None: ...

    def _hold_writes(self) -> None:
        """From now on the writes go to the store together, once per
        :data:`SIMULATED_COMMIT_CYCLES` cycles (and at shutdown): a simulated run."""
        self._hold = SIMULATED_COMMIT_CYCLES

    def _retain(self, now: datetime) -> None:
        """docs/dtms.md §8 retention: closed trades older than ``retention_days`` leave the
        store and the book, a small batch per quiet cycle, checked again at once while
        there are more and otherwise once an hour of the host's clock (once a day of it
        in a simulated run: the check reads every stored record)."""
        if self._next_retention is not None and now < self._next_retention:
            return
        before = now - timedelta(days=self.settings.retention_days)
        try:
            gone = self.store.purge_closed(before, RETENTION_BATCH)
        except StoreError as exc:
            self.log.error("DTMS retention postponed: %s", exc)
            gone = []
        for ticket in gone:
            self.book.pop(ticket)
            self.evaluated.discard(ticket)
        if gone and self._hold is None:  # a live engine's store: say what left it
            shown = ", ".join(map(str, gone[:10])) + (" …" if len(gone) > 10 else "")
            self.log.info(
                "DTMS retention: %d closed trade%s removed (closed before %s): %s",
                len(gone),
                "" if len(gone) == 1 else "s",
                before.isoformat(timespec="seconds"),
                shown,
            )
        more = len(gone) == RETENTION_BATCH
        every = timedelta(hours=1) if self._hold is None else timedelta(days=1)
        self._next_retention = None if more else now + every

    def _persist(
        self, rec: TradeRecord, now: datetime, score: ScoreBreakdown | None = None
    ) -> None:
        """``rec`` is this trade now: into the book at once, to the store at the next
        :meth:`_flush` (serialised once, however often it changed meanwhile)."""
        self.book.put(rec)
        self._writes.record(rec, now, score)

    def _flush(self, *, force: bool = False) -> set[int]:
        """Everything changed since the last flush, in one store transaction; returns
        the tickets whose record could not be written (logged). A simulated run holds
        its writes for :meth:`_flush_and_forget` unless ``force``."""
        if not self._writes:
            return set()
        if self._hold is not None and not force:
            self._writes.seal()
            return set()
        failed = self._writes.flush(self.store)
        self._note_ledger()  # what was done to the open trades, beside the account too
        return failed

    def _commit_cycle(self, now: datetime) -> None:
        """The end of a cycle: its writes (:meth:`_flush_and_forget`), then retention
        when the cycle wrote no record (:meth:`_retain`), whether or not a trade was
        open: a flat book (a weekend, a bot stopped, a server whose clients went away)
        has nothing but quiet cycles, and its closed trades must leave it too."""
        quiet = self._writes.quiet
        if self._flush_and_forget(now) and (quiet or self._hold is not None):
            self._retain(now)

    def _flush_and_forget(self, now: datetime) -> bool:
        """:meth:`_flush`, then let closed trades the rails no longer read leave memory
        (they are in the store now; a failed write keeps its record here). ``False``
        when a simulated run holds its writes for a later cycle. A store that refused
        the writes as a whole raises its StoreError: the cycle failed, and says so."""
        if self._hold is not None:
            self._hold -= 1
            if self._hold > 0:
                self._writes.seal()
                return False
            self._hold = SIMULATED_COMMIT_CYCLES
        # nothing to write: the store's folder checked all the same (store/folder.py)
        failed = self._flush(force=True) if self._writes else self._writes.in_place(self.store)
        self._note_ledger(last=True)
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.book.prune(day_start, self.settings.rails.stop_streak, failed):
            held = self.records
            self.evaluated = {t for t in self.evaluated if t in held}
        self._write_vanished(now)
        refused = self._writes.refused()
        if refused is not None:  # kept for the next cycle; this one failed (docs/dtms.md §8)
            raise refused
        return True

    def _write_vanished(self, now: datetime) -> None:
        """The records a Redis store lost (restarted without persistence, flushed) written
        again from memory, by a host's own engine (docs/dtms.md §8). Each write of such a
        record was refused as stale, the store expecting the version it last saw, so none
        of the trade's actions could be journaled: the trade went undefended until a
        restart adopted it. This engine is the trades' only one (``dtms serve``'s replicas
        hold leases instead and adopt nothing, docs/scaling.md); a record another writer
        holds at a newer version is left alone."""
        refused: set[int] | None = getattr(self.store, "refused", None)
        if not self.adopt or not refused:
            return
        held = sorted(t for t in refused if t in self.records)
        try:  # "gone" only from a read that succeeded: a failed one is asked next cycle
            gone = getattr(self.store, "missing")(held)  # noqa: B009 - Redis's
        except StoreError as exc:
            self.log.debug("DTMS: records refused as stale not checked now: %s", exc)
            return
        refused.clear()
        if not gone:
            return
        getattr(self.store, "adopt")(gone)  # noqa: B009 - Redis's: its version, none now
        for ticket in gone:
            self._persist(self.records[ticket], now)
        self.log.warning(
            "DTMS: the records of %d trades this engine holds disappeared from the store "
            "(Redis flushed, or restarted without persistence): written again from memory "
            "(their action history before it is lost): %s",
            len(gone),
            ", ".join(map(str, gone)),
        )

    def _flush_last(self) -> None:
        """At shutdown: what a failed hook (or a simulated run) left unwritten, and what
        was kept for a store that refused it, asked of the store once more."""
        if not self._writes:
            return
        self._writes.try_again()
        lost = self._flush(force=True)
        self._note_ledger(last=True)
        if self._writes.refused() is not None:
            self.log.error(
                "DTMS: the store still refuses what this engine kept for it (the records of "
                "%d trades): not written; the next start settles their actions from the "
                "broker (docs/dtms.md §8)",
                len(lost),
            )

    def _refresh_states(self, now: datetime) -> None:
        """Re-stamp the state cache of every open trade (docs/dtms.md §9 freshness), with
        the cycle's other writes; a stamp this process wrote already is skipped
        (:meth:`PendingWrites.states`). A transition has already written its own state at
        once, before its actions were sent."""
        states = self.book.open_states()
        if states:
            self._writes.states(states, now)

    def _put_state(self, rec: TradeRecord, now: datetime) -> None:
        self._writes.state(rec.ticket, rec.state.value, now)
