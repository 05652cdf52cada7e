"""Registering trades with the local strategy (a host's own, a server's round, one
brought back by its broker), apart from the cycles that manage them
(:mod:`dtms_plugin.local`). :class:`Registering` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
here.

Why a module of its own: registration has rules the cycles do not (idempotent by ticket,
a CLOSED record of a reused ticket archived first, DTMS's own hedges never registered, a
trade whose hedge is open taken back HEDGED with it, a new record the store refused
forgotten so its client sends it again), and ``local.py`` outgrew one file with them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import HostView, Trade

from .book import TradeBook
from .engine import ScoreBreakdown, TradeRecord, register
from .local_adoption import hedge_of
from .local_writes import PendingWrites
from .position_match import reversed_at_broker, same_trade
from .store import StoreError, StoreProtocol

if TYPE_CHECKING:  # numpy's, imported only by a replay (dtms_plugin.engine says why)
    from .engine import Indicators


class Registering:
    log: logging.Logger
    book: TradeBook
    registered: int
    _writes: PendingWrites

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        @property
        def store(self) -> StoreProtocol: ...

        def _flush(self, *, force: bool = False) -> set[int]: ...

        def _persist(
            self, rec: TradeRecord, now: datetime, score: ScoreBreakdown | None = None
        ) -> None: ...

        def _put_state(self, rec: TradeRecord, now: datetime) -> None: ...

        def _bars(self, host: HostView, symbol: str, now: datetime) -> Indicators | None: ...

        def let_go_failing(self, ticket: int) -> None: ...

        async def _reversed(
            self, host: HostView, rec: TradeRecord, pos: Trade, now: datetime
        ) -> None: ...

        def _hedged_again(self, rec: TradeRecord, hedge: Trade, now: datetime) -> TradeRecord: ...

        def unlinked_hedges(
            self,
            host: HostView,
            registering: Collection[int],
            read: Callable[[], Iterable[Trade]] | None = None,
        ) -> dict[int, list[Trade]]: ...

    def _register(self, host: HostView, trade: Trade, now: datetime) -> TradeRecord:
        """A new record for ``trade``; the CLOSED record of another trade that had its
        ticket is archived first (docs/dtms.md §8)."""
        old = self.records.get(trade.ticket)
        if old is not None:
            self._flush(force=True)  # its last version first, then out of the way
            try:
                self.store.archive_record(trade.ticket)
            except StoreError as exc:
                self.log.error("DTMS %s: closed record not archived: %s", trade.ticket, exc)
            self.book.archive(trade.ticket)
        ind = self._bars(host, trade.symbol, now)
        rec = register(trade, ind.signal_atr if ind else None, now)
        self._persist(rec, now)
        self._put_state(rec, now)
        self.registered += 1
        return rec

    def unregister(self, host: HostView, ticket: int) -> None:
        """Forget ``ticket`` (the server's DELETE); the position is left alone."""
        self.book.pop(ticket)
        self.let_go_failing(ticket)

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        # the host's own trade: one the store cannot keep is still defended, from memory
        # (the failure is logged), as the position is open at its broker whatever it says
        await self._register_all(host, [trade])

    async def register_many(
        self,
        host: HostView,
        trades: Sequence[Trade],
        positions: Callable[[], Sequence[Trade]] | None = None,
    ) -> dict[int, TradeRecord]:
        """:meth:`on_trade_executed` for each of ``trades``, their writes in one store
        transaction (a server's round of registrations), the broker's positions read
        through ``positions`` when given (the server's round reads them once for all it
        registers); the new records, by ticket. The server says each registration in one
        line with its risk (dtms_plugin/server/registering.py), so this says none at INFO
        (it said each again: two lines a registration); one taken back HEDGED is a WARNING
        still. A new trade whose record the
        store could not write is not registered: forgotten here, and the StoreError (the
        store and why, a full disk say) raised, so the server answers 503 and its client
        sends it again, rather than a trade defended from memory until the next restart
        while its client was told "not registered" for good (docs/client.md)."""
        hedges = self.unlinked_hedges(host, {t.ticket for t in trades}, positions)
        kept: dict[int, TradeRecord] = {}
        lost = await self._register_all(host, trades, hedges, kept=kept)
        if lost:
            self._writes.forget(lost)  # kept for a store that refused them: not now
            for ticket in lost:
                self.book.pop(ticket)
            self.registered -= len(lost)
            raise StoreError(next(iter(lost.values())))
        return kept

    async def _register_all(
        self,
        host: HostView,
        trades: Sequence[Trade],
        hedges: Mapping[int, list[Trade]] | None = None,
        *,
        kept: dict[int, TradeRecord] | None = None,
    ) -> dict[int, str]:
        """Register ``trades``, a new one whose open hedge is among ``hedges`` HEDGED with
        it (a server's store lost: its hosts register their trades again); the new ones
        whose record the store refused, and why. Given ``kept``, the new records kept go
        there, said by the caller (only one taken back HEDGED is said here, a WARNING)."""
        now = host.clock.now()
        self._writes.try_again()
        added = []
        for trade in trades:
            old = self.records.get(trade.ticket)
            if old is not None and reversed_at_broker(old, trade):  # an order turned it
                await self._reversed(host, old, trade, now)
                continue
            if (old is not None and (old.active or same_trade(old, trade))) or (
                self.book.opened_as_hedge(trade)  # by the records, not by its comment
            ):
                continue  # idempotent by ticket; our own hedges are not defended trades
            rec = self._register(host, trade, now)
            hedge = hedge_of(trade, hedges) if hedges else None
            added.append(rec if hedge is None else self._hedged_again(rec, hedge, now))
        self._writes.store_failures = {}  # this flush's alone (a held one writes nothing)
        self._flush()
        refused = self._writes.store_failures
        lost = {rec.ticket: refused[rec.ticket] for rec in added if rec.ticket in refused}
        for rec in added:
            if rec.ticket in lost:
                continue
            if kept is not None:
                kept[rec.ticket] = rec
                if rec.hedge_ticket is None:
                    continue  # the caller says it
            self.log.log(
                logging.INFO if rec.hedge_ticket is None else logging.WARNING,
                "DTMS registered %s %s %s (%s)%s", rec.ticket, rec.direction, rec.symbol,
                risk_text(rec.r), "" if rec.hedge_ticket is None else f", {rec.warnings[-1]}",
            )  # fmt: skip
        return lost


def risk_text(r: float) -> str:
    """A new trade's risk as a registration's line says it (``R 10``); R is 0.0 while
    unknown: a trade without a stop before an ATR exists."""
    return f"R {r:.5g}" if r > 0.0 else "R unknown until its stop or an ATR"
