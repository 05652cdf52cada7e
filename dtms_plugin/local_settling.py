"""Settling the actions of unknown outcome a trade's journal holds, from the broker's
positions (docs/dtms.md §8): at start-up for what a crash left pending
(:mod:`dtms_plugin.local_reconcile`), and on every cycle. :class:`Settling` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
here.

Why apart: the reconciliation decides what became of each trade; this decides what became
of each action sent for it, which has its own waiting rule (an order the trade server
still holds is not settled "not applied": :mod:`dtms_plugin.local_waiting`) and its own
words in the log, said once per action and episode.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import ActionKind, HostView, Trade

from .book import TradeBook
from .engine import JournalEntry, TradeRecord, outcome_from_broker, settle, unsettled
from .local_adoption import broker_magic
from .local_waiting import Seen
from .local_writes import ENDED, PendingWrites
from .settings import DtmsSettings


class Settling:
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    _writes: PendingWrites
    #: per ticket and action, the outcomes settled "not applied" since one settled done
    _unknown_said: dict[tuple[int, str], int]

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        def _waits_at_broker(
            self, host: HostView, rec: TradeRecord, entry: JournalEntry, now: datetime, seen: Seen
        ) -> bool: ...

        def _waited_settled(self, key: str) -> None: ...

    def _own_magic(self, host: HostView) -> int | None:
        """The magic of the host's own orders: ``[plugin.dtms] magic``, else the broker's
        (:class:`hookspecs.OwnMagic`): a hedge or re-add the host's broker opened for a
        trade of magic 0 (registered without one, or read from an older record) carries
        it, and a lost one must be found by it (:func:`.engine.journal.find_opened`)."""
        if self.settings.magic is not None:
            return self.settings.magic
        return broker_magic(host)

    def _said_settled(
        self, ticket: int, key: str, done: bool, late: str = "", hedge_closed: int | None = None
    ) -> None:
        """One WARNING per trade, action and episode: the first outcome of that action
        settled "not applied", then the count when one is settled done (a broker that
        times out every order would say it on every bar otherwise). Per action, not per
        trade: a partial close settled "not applied" after a stop's change was said at
        DEBUG only, as if it were the stop's again. ``late``: what became of a hedge
        found open after its trade closed (docs/dtms.md §6). ``hedge_closed``: the hedge
        gone while the trade stayed open, said as such ("not applied: no trace of it"
        was untrue when the close's hedge leg had gone through)."""
        what = key.rsplit(":", 1)[1]
        count = self._unknown_said.get((ticket, what), 0)
        if not done and hedge_closed is not None:  # once per episode, as below
            self.log.log(
                logging.DEBUG if count else logging.WARNING,
                "DTMS %s: %s of unknown outcome settled with the trade still open and its "
                "hedge %s gone, %g s after its answer; the trade's close is sent again when "
                "the ladder still wants it",
                ticket, what, hedge_closed, self.settings.actions.unknown_wait_seconds,
            )  # fmt: skip
            self._unknown_said[ticket, what] = count + 1
            return
        if done:
            more = f" ({count} before it settled as not applied)" if count else ""
            self.log.warning(
                "DTMS %s: %s of unknown outcome settled as done%s%s", ticket, what, more, late
            )
            self._unknown_said.pop((ticket, what), None)
            return
        if not count:
            self.log.warning(
                "DTMS %s: %s of unknown outcome settled as not applied: the broker shows no "
                "trace of it %g s after its answer; sent again when the ladder still wants "
                "it (said again when one is settled done)",
                ticket, what, self.settings.actions.unknown_wait_seconds,
            )  # fmt: skip
        else:
            self.log.debug("DTMS %s: %s of unknown outcome settled as not applied", ticket, what)
        self._unknown_said[ticket, what] = count + 1

    def _outcome(
        self,
        host: HostView,
        rec: TradeRecord,
        entry: JournalEntry,
        by_ticket: Mapping[int, Trade],
        positions: list[Trade],
    ) -> tuple[bool, int | None]:
        """Whether ``entry`` took effect, from these positions (and its new ticket)."""
        known = {*self.records, *self.book.hedge_tickets()}  # another trade's, not this one's
        position = by_ticket.get(rec.ticket)
        wait = self.settings.actions.unknown_wait_seconds
        return outcome_from_broker(
            rec, entry, position, positions, known=known, magic=self._own_magic(host), wait=wait
        )

    def _settle(
        self,
        host: HostView,
        rec: TradeRecord,
        by_ticket: dict[int, Trade],
        positions: list[Trade],
        now: datetime,
    ) -> TradeRecord:
        """Settle the journal's pending and unknown entries from the broker's positions
        (docs/dtms.md §8): done as soon as the broker shows it; "not applied" only once
        ``actions.unknown_wait_seconds`` have passed since its answer, since the trade
        server may still fill it (an order sent again meanwhile doubled a hedge). Until
        then the trade waits, as the engine does while an outcome is unknown. The cycle's
        positions may be read again here, in place: the rest of the cycle sees them."""
        for entry in unsettled(rec):
            done, new_ticket = self._outcome(host, rec, entry, by_ticket, positions)
            wait = self.settings.actions.unknown_wait_seconds
            if not done and (now - entry.at).total_seconds() < wait:
                continue
            if not done:  # its order may still be on the trade server (local_waiting)
                if self._waits_at_broker(host, rec, entry, now, (positions, by_ticket)):
                    continue
                done, new_ticket = self._outcome(host, rec, entry, by_ticket, positions)
            late = done and not rec.is_open and entry.kind is ActionKind.HEDGE
            said = f": hedge {new_ticket} opened after the trade closed: its close is owed" * late
            part = None if done else hedge_leg_closed(entry, positions)
            self._said_settled(rec.ticket, entry.key, done, said, part)
            self._waited_settled(entry.key)
            rec = settle(rec, entry, done, new_ticket, now, self.settings, hedge_closed=part)
            ended = rec.entry(entry.key)
            if ended is not None and ended.status in ENDED:  # docs/dtms.md §8: history
                self._writes.settled(rec.ticket, ended, now)
        return rec


def hedge_leg_closed(entry: JournalEntry, positions: list[Trade]) -> int | None:
    """The hedge a close of a hedged trade did close, when the trade is still open: the
    hedge leg goes first (:func:`hookspecs.apply_action`), so a lost answer can leave the
    close whose hedge leg went through, which "not applied" would misstate (or a hedge
    that went another way meanwhile: the words say only what is). ``None`` otherwise."""
    hedge = entry.params.get("hedge_ticket") if entry.kind is ActionKind.CLOSE else None
    if hedge and all(pos.ticket != int(hedge) for pos in positions):
        return int(hedge)
    return None
