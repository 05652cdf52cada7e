"""The local strategy's trades, indexed the ways its hot paths ask for them.

A replay of months closes thousands of trades, so walking all records on every cycle
made a run quadratic. The book keeps three views in step with the records themselves: the
tickets that still need the engine, and the closed trades ordered by close time. Every
write goes through :meth:`TradeBook.put` so the views can never drift from the records.

A closed trade stays in memory only while something here reads it: the account rails
read the trades closed today and the last few (:meth:`recent_closed`); once it is
written to the store and older than that, :meth:`prune` lets it go (the store keeps it,
and ``is_defensive`` answers from the store's state for a ticket the book no longer
holds), so a process that runs for months holds a day of closed trades, not all of them.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Collection, Iterator
from datetime import datetime

from hookspecs import ActionKind, DefensiveState, Trade

from .engine import HEDGE_COMMENT, TradeRecord, unsettled
from .engine.rails import re_added_to
from .ticket_text import ticket_in

#: the comment the broker gives a hedge (``DTMS_HEDGE_<ticket>``), up to the ticket
HEDGE_PREFIX = HEDGE_COMMENT.split("{", 1)[0]

#: closed hedges kept for their close's report: the newest this many (a host reports each
#: a cycle after the engine closed it; ``dtms serve`` reports none)
FORMER_HEDGES = 1_000


class TradeBook:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Hold nothing, as a new book does: the records loaded were another account's
        (docs/dtms.md §8). Emptied in place, as the pending writes read this very book:
        a new book in its place had every later record left unwritten."""
        #: every record this process holds, open or closed, by ticket
        self.records: dict[int, TradeRecord] = {}
        self._live: dict[int, None] = {}  # active tickets, in registration order
        # (closed_at, ticket, 0) for a record of ``records``, sorted; (closed_at, ticket, n)
        # for the n-th record archived: a reused ticket's closed trade, gone from
        # ``records`` (a new trade holds the ticket) but still read by the account rails
        self._closed: list[tuple[datetime, int, int]] = []
        self._archived: dict[tuple[datetime, int, int], TradeRecord] = {}
        self._archive_serial = 0
        self._hedges: dict[int, int] = {}  # hedge ticket -> the ticket it defends
        # hedges the engine closed itself, until the host reports their close (its
        # profit is the defended trade's too: docs/dtms.md §7)
        self._former_hedges: dict[int, int] = {}

    def put(self, rec: TradeRecord) -> None:
        old = self.records.get(rec.ticket)
        self.records[rec.ticket] = rec
        if old is not None and old.hedge_ticket not in (None, rec.hedge_ticket):
            self._forget_hedge(old.hedge_ticket, rec.ticket)
        if rec.hedge_ticket is not None:
            self._hedges[rec.hedge_ticket] = rec.ticket
        if rec.active:
            self._live[rec.ticket] = None
        else:
            self._live.pop(rec.ticket, None)
        closed_at = rec.closed_at if rec.realised_profit is not None else None
        was = old.closed_at if old is not None and old.realised_profit is not None else None
        if was != closed_at:
            if was is not None:
                self._closed.pop(bisect_left(self._closed, (was, rec.ticket, 0)))
            if closed_at is not None:
                insort(self._closed, (closed_at, rec.ticket, 0))

    def pop(self, ticket: int) -> None:
        rec = self.records.pop(ticket, None)
        self._live.pop(ticket, None)
        if rec is not None and rec.hedge_ticket is not None:
            self._forget_hedge(rec.hedge_ticket, ticket)
        if rec is not None and rec.closed_at is not None and rec.realised_profit is not None:
            i = bisect_left(self._closed, (rec.closed_at, ticket, 0))
            if i < len(self._closed) and self._closed[i] == (rec.closed_at, ticket, 0):
                self._closed.pop(i)

    def archive(self, ticket: int) -> None:
        """The ticket's record makes way for a new trade with the same ticket (a broker
        that reuses tickets, docs/dtms.md §8): it leaves :attr:`records`, but its close
        still counts for the account rails (today's loss, the stop streak) for as long as
        they read it, as it would had the broker given the new trade another ticket."""
        rec = self.records.get(ticket)
        self.pop(ticket)
        if rec is not None and rec.closed_at is not None and rec.realised_profit is not None:
            self._archive_serial += 1
            entry = (rec.closed_at, ticket, self._archive_serial)
            insort(self._closed, entry)
            self._archived[entry] = rec

    def _forget_hedge(self, hedge_ticket: int, parent: int) -> None:
        if self._hedges.get(hedge_ticket) == parent:
            del self._hedges[hedge_ticket]
            former = self._former_hedges
            former[hedge_ticket] = parent
            if len(former) > FORMER_HEDGES:  # never reported closed (a server's own hedges)
                del former[next(iter(former))]

    def opened_as_hedge(self, trade: Trade) -> bool:
        """Whether ``trade`` is a hedge of this book's trades, by their records: a ticket a
        record names as its hedge (a closed one too, until its close is reported), or the
        position a hedge still in flight opened (a pending or unknown hedge of the trade
        its comment ``DTMS_HEDGE_<ticket>`` names, on the other side). The comment alone
        never says so: any plugin may propose an order that carries it, and such a trade is
        registered and defended like any other, its losses counted by the account rails
        (docs/dtms.md §8). Only adoption, after the records were lost, has nothing but the
        comment to go by."""
        if trade.ticket in self._hedges or trade.ticket in self._former_hedges:
            return True
        if not trade.comment.startswith(HEDGE_PREFIX):
            return False
        number = ticket_in(trade.comment[len(HEDGE_PREFIX) :])
        parent = self.records.get(number) if number is not None else None
        if parent is None or (parent.symbol, parent.direction) == (trade.symbol, trade.direction):
            return False
        return any(e.kind is ActionKind.HEDGE for e in unsettled(parent))

    def hedge_tickets(self) -> list[int]:
        """The tickets of the hedges the records name."""
        return list(self._hedges)

    def live(self) -> list[TradeRecord]:
        """Records that still need the engine: open, or closed with actions owed."""
        return [self.records[t] for t in self._live]

    def has_live(self) -> bool:
        """Whether :meth:`live` has any, without building the list."""
        return bool(self._live)

    def open_states(self) -> dict[int, str | None]:
        out: dict[int, str | None] = {}
        for t in self._live:
            rec = self.records[t]
            if rec.is_open:
                out[t] = rec.state.value
        return out

    def hedged_on(self, symbol: str) -> TradeRecord | None:
        for t in self._live:
            rec = self.records[t]
            if rec.symbol == symbol and rec.is_open and rec.state is DefensiveState.HEDGED:
                return rec
        return None

    def parent_of_hedge(self, hedge_ticket: int) -> TradeRecord | None:
        parent = self._hedges.get(hedge_ticket)
        return self.records.get(parent) if parent is not None else None

    def parent_of_closed_hedge(self, hedge_ticket: int) -> TradeRecord | None:
        """The trade the closed hedge ``hedge_ticket`` defends or defended: a hedge the
        engine closed itself is reported closed by the host a cycle later (asked once,
        then forgotten)."""
        parent = self._former_hedges.pop(hedge_ticket, None)
        if parent is None:
            return self.parent_of_hedge(hedge_ticket)
        return self.records.get(parent)

    def recent_closed(self, since: datetime, at_least: int) -> Iterator[TradeRecord]:
        """Closed trades (with a realised result) closed at or after ``since``, and never
        fewer than the last ``at_least`` trades, a re-add counted with the trade it
        re-adds to (the stop streak's count, docs/dtms.md §7): exactly what the account
        rails read."""
        start = min(bisect_left(self._closed, (since, 0)), self._last_trades(at_least))
        for entry in self._closed[start:]:
            yield self._closed_record(entry)

    def _closed_record(self, entry: tuple[datetime, int, int]) -> TradeRecord:
        return self._archived[entry] if entry[2] else self.records[entry[1]]

    def _last_trades(self, n: int) -> int:
        """Where the closes of the last ``n`` trades begin in the close order: a re-add
        (``DTMS_READD_<ticket>``) is one trade with the trade it re-adds to, so a trade
        and its re-add stopped out together are one close of the streak, not two; the
        closes right before that belong to those trades are kept with them."""
        seen: set[int] = set()
        i = len(self._closed)
        while i > 0:
            rec = self._closed_record(self._closed[i - 1])
            parent = re_added_to(rec)
            key = rec.ticket if parent is None else parent
            if key not in seen and len(seen) >= n:
                break
            seen.add(key)
            i -= 1
        return i

    def prune(self, since: datetime, keep_last: int, keep: Collection[int] = ()) -> int:
        """Forget closed trades closed before ``since`` beyond the last ``keep_last``
        trades (what :meth:`recent_closed` would still give), except the tickets in ``keep``
        (not written yet) and any the engine still needs; returns how many went."""
        end = min(bisect_left(self._closed, (since, 0)), self._last_trades(keep_last))
        if end <= 0:
            return 0
        kept: list[tuple[datetime, int, int]] = []
        for entry in self._closed[:end]:
            if entry[2]:  # an archived record (written when it was archived)
                del self._archived[entry]
                continue
            ticket = entry[1]
            if ticket in keep or ticket in self._live:
                kept.append(entry)
                continue
            rec = self.records.pop(ticket, None)
            if rec is not None and rec.hedge_ticket is not None:
                self._forget_hedge(rec.hedge_ticket, ticket)
        self._closed[:end] = kept
        return end - len(kept)
