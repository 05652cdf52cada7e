"""Reconciliation of the local strategy's records with the broker's positions (docs/dtms.md
§8): at start-up, which open positions DTMS must take on although it holds no live record
of them, and what a crash left pending; on every cycle, a netting position that turned
side under its ticket. Split from :mod:`dtms_plugin.local` so the rules read on their
own; :class:`Reconciling` is a mixin of :class:`dtms_plugin.local.LocalStrategy`, whose
``__init__`` sets the attributes declared there.

Why: a store that is missing, emptied or damaged (moved aside) must never leave open
positions undefended, and a broker that hands out a ticket again (a fresh paper account,
another server behind the same state folder) must not make a new position look like the
closed trade that once had its number.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import BrokerError, HostView, ProfitCalculator, Trade

from .book import TradeBook
from .engine import (
    HEDGE_COMMENT,
    ScoreBreakdown,
    TradeRecord,
    outcome_from_broker,
    settle,
    sync_position,
    unsettled,
)
from .local_writes import ENDED, PendingWrites
from .settings import DtmsSettings
from .store import StoreProtocol

_HEDGE_PREFIX = HEDGE_COMMENT.split("{", 1)[0]


def is_hedge(trade: Trade) -> bool:
    """One of DTMS's own hedges: never a defended trade of its own."""
    return trade.comment.startswith(_HEDGE_PREFIX)


def same_trade(rec: TradeRecord, trade: Trade) -> bool:
    """Whether ``trade`` is the position ``rec`` was made for: the same ticket, symbol,
    direction, opening time and entry price (a reused ticket differs in at least one of
    them; the server's registrations judge a closed record by the same fields)."""
    return (
        rec.ticket == trade.ticket
        and rec.symbol == trade.symbol
        and rec.direction == trade.direction
        and rec.opened_at == trade.opened_at
        and abs(rec.entry_price - trade.entry_price) <= 1e-9 * max(1.0, abs(rec.entry_price))
    )


def our_magics(configured: int | None, records: Mapping[int, TradeRecord]) -> set[int] | None:
    """The magic numbers of the positions DTMS defends: the configured one; unset, those
    of the trades it holds records of (the host's own entries carry the host's), so a
    position opened by hand or by another program's expert is never taken on after a
    restart. ``None`` (any) only when there is neither: a store lost or new, where
    leaving every open position undefended would be worse (docs/dtms.md §8)."""
    if configured is not None:
        return {configured}
    return {rec.magic for rec in records.values()} or None


def to_adopt(
    positions: Iterable[Trade], records: Mapping[int, TradeRecord], hedges: Iterable[int]
) -> list[Trade]:
    """Open positions with no live record of theirs, of any magic number: not a hedge,
    and with no record, or only the CLOSED record of another trade that had the same
    ticket. Which of them are ours to adopt, :func:`our_magics` says."""
    ours = set(hedges)
    out = []
    for pos in positions:
        if is_hedge(pos) or pos.ticket in ours:
            continue
        rec = records.get(pos.ticket)
        if rec is None or (not rec.active and not same_trade(rec, pos)):
            out.append(pos)
    return out


def reversed_at_broker(rec: TradeRecord, pos: Trade) -> bool:
    """A netting account's position that changed side under its ticket (sell 0.1, then
    buy 0.3: a buy of 0.2): the trade DTMS defended has ended, and scoring the new one as
    the old side would defend it the wrong way round."""
    return rec.is_open and pos.ticket == rec.ticket and pos.direction != rec.direction


def ended_by_reversal(rec: TradeRecord, pos: Trade, profit: float | None, now: datetime) -> Trade:
    """The defended trade as it ended: all its volume closed at the reversing deal's
    price (the new position's entry), ``profit`` as the broker values it (0 when it
    cannot say)."""
    return Trade(
        rec.ticket, rec.symbol, rec.direction, rec.volume, rec.entry_price, rec.stop_loss,
        rec.take_profit, rec.opened_at, profit=profit or 0.0, close_price=pos.entry_price,
        closed_at=now,
    )  # fmt: skip


def adoption_line(
    store: StoreProtocol, empty: bool, adopted: list[Trade], reused: list[int]
) -> str:
    """The WARNING that says what was adopted and why: the store was damaged (and where
    it was kept), missing, or empty while positions were open; or positions had no
    record; and which tickets were reused (their closed records archived). How it was
    opened only the diskcache store says (a Redis store: as found)."""
    opened_as = getattr(store, "opened_as", "existing")
    where = getattr(store, "directory", None) or getattr(store, "location", "")
    if opened_as == "damaged":
        kept = getattr(store, "kept_aside", None)
        why = f"the store was damaged (kept aside at {kept}) while positions were open"
    elif opened_as == "new":
        why = f"the store in {where} was missing while positions were open"
    elif empty:
        why = f"the store in {where} was empty while positions were open"
    else:
        why = "open positions with no record of theirs"
    tickets = ", ".join(str(p.ticket) for p in adopted)
    line = f"{why}: adopted {len(adopted)}, managed from now on: tickets {tickets}"
    if reused:
        line += f" (tickets {', '.join(map(str, reused))} reused: closed records archived)"
    return line


class Reconciling:
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    adopt: bool
    _writes: PendingWrites
    _recovered: bool
    #: per ticket, the outcomes settled "not applied" since the last one settled done
    _unknown_said: dict[int, int]

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        @property
        def store(self) -> StoreProtocol: ...

        def _refresh_account(self, host: HostView) -> None: ...

        def _persist(
            self, rec: TradeRecord, now: datetime, score: ScoreBreakdown | None = None
        ) -> None: ...

        def _flush(self, *, force: bool = False) -> set[int]: ...

        def _register(self, host: HostView, trade: Trade, now: datetime) -> TradeRecord: ...

        async def _closed(
            self, host: HostView, rec: TradeRecord, trade: Trade, reason: str, now: datetime
        ) -> None: ...

    async def recover(self, host: HostView, now: datetime) -> None:
        """docs/dtms.md §8: settle what a crash left pending, close what is gone, adopt what
        changed. A broker that cannot answer leaves every record as it is (retried on
        the next cycle)."""
        try:
            positions = host.broker.positions()
            self._refresh_account(host)
        except BrokerError as exc:
            self.log.error("DTMS recovery postponed, the broker cannot answer: %s", exc)
            return
        by_ticket = {p.ticket: p for p in positions}
        for loaded in self.book.live():
            rec = self._settle(loaded, by_ticket, positions, now)
            pos = by_ticket.get(rec.ticket)
            if pos is not None and reversed_at_broker(rec, pos):  # while the host was down
                await self._reversed(host, rec, pos, now)
                continue
            if pos is not None:
                rec = sync_position(rec, pos)
            if rec is not loaded:
                self._persist(rec, now)
        self._flush()
        if self.adopt:
            self._adopt(host, positions, now)
        self._recovered = True

    def _adopt(self, host: HostView, positions: list[Trade], now: datetime) -> None:
        """docs/dtms.md §8: open positions with our magic number and no record of theirs
        (a store missing, emptied or damaged; a ticket the broker handed out again) are
        registered fresh and managed, and said at WARNING with their tickets."""
        magics = our_magics(self.settings.magic, self.records)
        unrecorded = to_adopt(positions, self.records, self.book.hedge_tickets())
        found = [p for p in unrecorded if magics is None or p.magic in magics]
        left = sorted({p.magic for p in unrecorded} - (magics or set()))
        if left:  # said, so that an unset or wrong magic shows: a host's own position of
            # a magic the records have not seen (a new broker, a crash before its record)
            # would be left undefended
            learned = self.settings.magic is None
            self.log.log(
                logging.WARNING if learned else logging.INFO,
                "DTMS: %d open positions of other programs left alone (magic %s; ours: %s, "
                "from %s)%s", len(unrecorded) - len(found), ", ".join(map(str, left)),
                ", ".join(map(str, sorted(magics or ()))),
                "our records" if learned else "[plugin.dtms] magic",
                "; if one is this host's, set [plugin.dtms] magic to its magic number"
                if learned else "",
            )  # fmt: skip
        if not found:
            return
        empty = not self.records
        reused = [p.ticket for p in found if p.ticket in self.records]
        for pos in found:
            self._register(host, pos, now)
        self._flush()
        line = adoption_line(self.store, empty, found, reused)
        if magics is None and len({p.magic for p in found}) > 1:
            line += (
                "; with no [plugin.dtms] magic and no record to learn ours from, positions "
                "of every magic number were adopted (set magic to adopt only this host's)"
            )
        self.log.warning("DTMS: %s", line)

    async def _reversed(self, host: HostView, rec: TradeRecord, pos: Trade, now: datetime) -> None:
        """A netting position reversed under its ticket: the old trade closed at the
        reversing price, the new side is registered fresh (its own R, from HEALTHY)."""
        broker = host.broker
        profit = None
        if isinstance(broker, ProfitCalculator):
            args = (rec.symbol, rec.direction, rec.volume, rec.entry_price, pos.entry_price)
            profit = broker.calc_profit(*args)
        await self._closed(host, rec, ended_by_reversal(rec, pos, profit, now), "reversed", now)
        self._register(host, pos, now)
        self._flush()
        self.log.warning(
            "DTMS %s: the position turned %s %g → %s %g at the broker (netting): the %s "
            "trade closed, the %s registered fresh", rec.ticket, rec.direction, rec.volume,
            pos.direction, pos.volume, rec.direction, pos.direction,
        )  # fmt: skip

    def _said_settled(self, ticket: int, key: str, done: bool) -> None:
        """One WARNING per trade and episode: the first outcome settled "not applied",
        then the count when one is settled done (a broker that times out every order
        would say it on every bar otherwise)."""
        what = key.rsplit(":", 1)[1]
        count = self._unknown_said.get(ticket, 0)
        if done:
            more = f" ({count} before it settled as not applied)" if count else ""
            self.log.warning("DTMS %s: %s of unknown outcome settled as done%s", ticket, what, more)
            self._unknown_said.pop(ticket, None)
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
        self._unknown_said[ticket] = count + 1

    def _settle(
        self,
        rec: TradeRecord,
        by_ticket: Mapping[int, Trade],
        positions: list[Trade],
        now: datetime,
    ) -> TradeRecord:
        """Settle the journal's pending and unknown entries from the broker's positions
        (docs/dtms.md §8): done as soon as the broker shows it; "not applied" only once
        ``actions.unknown_wait_seconds`` have passed since its answer, since the trade
        server may still fill it (an order sent again meanwhile doubled a hedge). Until
        then the trade waits, as the engine does while an outcome is unknown."""
        for entry in unsettled(rec):
            known = {*self.records, *self.book.hedge_tickets()}  # another trade's, not this one's
            position = by_ticket.get(rec.ticket)
            done, new_ticket = outcome_from_broker(
                rec, entry, position, positions, known=known, magic=self.settings.magic
            )
            wait = self.settings.actions.unknown_wait_seconds
            if not done and (now - entry.at).total_seconds() < wait:
                continue
            self._said_settled(rec.ticket, entry.key, done)
            rec = settle(rec, entry, done, new_ticket, now, self.settings)
            ended = rec.entry(entry.key)
            if ended is not None and ended.status in ENDED:  # docs/dtms.md §8: history
                self._writes.settled(rec.ticket, ended, now)
        return rec
