"""Reconciliation of the local strategy's records with the broker's positions (docs/dtms.md
§8): at start-up, what a crash left pending and what closed while the host was not
running (with the broker's reason and result, which the account rails count); on every
cycle, a netting position that turned side under its ticket, a CLOSED trade the broker
lists open again, and a position gone, closed with the broker's word. Which positions
are adopted is :mod:`dtms_plugin.local_adoption`; how an action of unknown outcome is
settled, :mod:`dtms_plugin.local_settling`. Split from :mod:`dtms_plugin.local` so
the rules read on their own; :class:`Reconciling` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
there.

Why: a stop hit while the host was down is a loss like any other, which the account rails
must see; a terminal that once answered "no positions" must not leave a trade undefended
for good; and a broker that hands out a ticket again (a fresh paper account, another
server behind the same state folder) must not make a new position look like the closed
trade that once had its number.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hookspecs import (
    UNCONFIRMED_CLOSE_SECONDS,
    BrokerError,
    ClosedPositions,
    CloseReasons,
    HostView,
    ProfitCalculator,
    Trade,
)

from .book import TradeBook
from .engine import (
    ScoreBreakdown,
    TradeRecord,
    hedge_closed,
    sync_position,
)
from .position_match import ended_by_reversal, its_close, reversed_at_broker
from .store import StoreProtocol

#: the closes a broker names as its own (:class:`hookspecs.CloseReasons`): its stop or its
#: target hit, which ``dtms serve`` records itself (:meth:`Reconciling._records_close`)
BROKER_CLOSES = frozenset({"stop_loss", "take_profit"})


def reopened(rec: TradeRecord) -> bool:
    """Whether ``rec`` was reopened after a close the broker's listing proved false
    (:meth:`.local_closes.Closes._reopen`; kept on the record, so after a restart too)."""
    return rec.reopened_at is not None


#: what a start-up recovery reads, and what waits while it cannot (its episode's words)
RECOVERY_READS = "positions and account for the start-up recovery"
RECOVERY_WAITS = "the recovery, and every trade, waits for the next cycle: none is defended"
#: When a close the recovery finds happened: DTMS knows only that it did not run then;
#: the host may have run without it (``[plugins] disabled``, HOSTAPP_DISABLE_PLUGINS),
#: which it does not tell its plugins, or not at all
WHILE_AWAY = "while DTMS was not running (the host ran without it, or was stopped)"
#: When such a close happened, for a ``dtms serve`` replica that took the trade over
#: (docs/scaling.md "The flow" 4): DTMS ran, on another replica or none
TAKEN_OVER = (
    "before this replica took it over (while no replica held it, or while its previous"
    " replica held it and had not seen the close)"
)


class Reconciling:
    #: what a close found by the recovery is said to have happened during: its log
    #: line's words and its state change's (a replica's are :data:`TAKEN_OVER`'s)
    while_away: tuple[str, str] = (WHILE_AWAY, " while DTMS was not running")
    log: logging.Logger
    book: TradeBook
    adopt: bool
    _recovered: bool
    _account_unread: bool  # the account's lock and identity wait for the broker
    _comeback: dict[int, datetime]
    #: ticket -> when the broker's list first lacked it while its history showed no close
    _unconfirmed: dict[int, datetime]
    _fast: timedelta

    if TYPE_CHECKING:  # the strategy's own properties and methods

        def _claim_account(self, host: HostView) -> None: ...

        def _read_failed(
            self, what: str, exc: BrokerError, meanwhile: str, *, level: int = logging.WARNING
        ) -> None: ...

        def _read_back(self, what: str, unit: str = "cycle") -> None: ...

        @property
        def store(self) -> StoreProtocol: ...

        def _refresh_account(self, host: HostView) -> None: ...

        def _rails_due_now(self) -> None: ...

        def settle_rails(self, host: HostView) -> None: ...

        def _persist(
            self, rec: TradeRecord, now: datetime, score: ScoreBreakdown | None = None
        ) -> None: ...

        def _flush(self, *, force: bool = False) -> set[int]: ...

        def _put_state(self, rec: TradeRecord, now: datetime) -> None: ...

        def _adopt(
            self, host: HostView, positions: list[Trade], now: datetime, why: str | None = None
        ) -> None: ...

        def _take_up(self, positions: list[Trade], now: datetime) -> None: ...

        def _settle(
            self,
            host: HostView,
            rec: TradeRecord,
            by_ticket: dict[int, Trade],
            positions: list[Trade],
            now: datetime,
        ) -> TradeRecord: ...

        def _register(self, host: HostView, trade: Trade, now: datetime) -> TradeRecord: ...

        async def _never_matched(
            self, host: HostView, rec: TradeRecord, position: Trade, now: datetime
        ) -> bool: ...

        async def _reopen_listed(
            self, host: HostView, positions: list[Trade], now: datetime
        ) -> None: ...

        async def _isolated(
            self, ticket: int, step: Awaitable[None], what: str = "cycle"
        ) -> bool: ...

        async def _closed(
            self,
            host: HostView,
            rec: TradeRecord,
            trade: Trade,
            reason: str,
            now: datetime,
            when: str = "",
            *,
            result: bool = True,
        ) -> None: ...

    async def recover(self, host: HostView, now: datetime) -> None:
        """docs/dtms.md §8: settle what a crash left pending, close what is gone, adopt what
        changed. A broker that cannot answer leaves every record as it is (retried on
        the next cycle)."""
        try:
            positions = host.broker.positions()
            if self._account_unread:  # not known at start-up: before anything is done
                self._claim_account(host)
            self._refresh_account(host)
        except BrokerError as exc:  # said once, with its count when it ends (every cycle
            # retries it; DTMS defends nothing meanwhile, so the first line is an ERROR)
            self._read_failed(RECOVERY_READS, exc, RECOVERY_WAITS, level=logging.ERROR)
            return
        self._read_back(RECOVERY_READS)
        self._take_up(positions, now)  # the account's ledger: before anything is acted on
        by_ticket = {p.ticket: p for p in positions}
        hedges = set(self.book.hedge_tickets())
        for loaded in self.book.live():  # one trade's failure is its own (local_isolation)
            step = self._recover_one(host, loaded, by_ticket, positions, now)
            await self._isolated(loaded.ticket, step, "start-up recovery")
        self._flush()
        await self._reopen_listed(host, positions, now)
        if self.adopt:
            # the list was read before the recovery closed the hedges it owed (a closed
            # trade's): a hedge the records named and no longer name is closed, not open
            gone = hedges - set(self.book.hedge_tickets())
            self._adopt(host, [p for p in positions if p.ticket not in gone], now)
        self._recovered = True
        self._rails_due_now()  # a lock a crash kept from the store is judged again
        self.settle_rails(host)

    async def _recover_one(
        self,
        host: HostView,
        loaded: TradeRecord,
        by_ticket: dict[int, Trade],
        positions: list[Trade],
        now: datetime,
    ) -> None:
        """:meth:`recover` of one trade, as loaded from the store."""
        rec = self._settle(host, loaded, by_ticket, positions, now)
        pos = by_ticket.get(rec.ticket)
        if pos is not None and await self._never_matched(host, rec, pos, now):
            return  # registered before the broker gave its ticket to another position
        if pos is not None and reversed_at_broker(rec, pos):  # while the host was down
            await self._reversed(host, rec, pos, now)
            return
        if rec.hedge_ticket is not None and rec.hedge_ticket not in by_ticket:
            rec = self._hedge_gone(host, rec)
        if pos is None and rec.is_open and await self._closed_while_down(host, rec, now):
            return
        if pos is not None:
            rec = sync_position(rec, pos)
        if rec is not loaded:
            self._persist(rec, now)

    def _closed_at_broker(self, host: HostView, rec: TradeRecord) -> tuple[Trade, str] | None:
        """The broker's record of position ``ticket``'s close, and why, when this engine
        records it (:meth:`_close_in_history`, :meth:`_records_close`)."""
        closed = its_close(rec, self._close_in_history(host, rec.ticket))
        return closed if closed is not None and self._records_close(closed[1], rec) else None

    def _records_close(self, reason: str, rec: TradeRecord) -> bool:
        """Whether this engine records a close its broker gives with ``reason`` for
        ``rec``. A host's engine (``adopt`` on) records every one. ``dtms serve``
        (``adopt`` off) records the broker's own stop or target hit
        (:data:`BROKER_CLOSES`): no client's exit, and one no client may report (the host
        was down), which the account rails must count all the same. A close its broker
        cannot name (``external``: an order) is a client's exit: it waits for that
        client's report, which brings its outcome and why, and the first outcome a trade
        gets stands (docs/client.md); but not for a trade reopened after a close its
        broker proved false (:func:`reopened`): that report was spent, and the broker's
        word is the result (docs/dtms.md §8)."""
        return self.adopt or reason in BROKER_CLOSES or reopened(rec)

    def _close_in_history(self, host: HostView, ticket: int) -> tuple[Trade, str] | None:
        """The broker's record of position ``ticket``'s close, and why: its stop or its
        target (:class:`hookspecs.CloseReasons`), else ``external`` (closed outside this
        host: by hand, another program, while it was not running); ``None`` from a broker
        that keeps no closed positions, or cannot tell yet. A broker that cannot answer is
        said once per episode; the close is then dated by the engine ("position gone")."""
        broker = host.broker
        try:
            if isinstance(broker, CloseReasons):
                found = broker.closed_with_reason(ticket)
                closed = None if found is None else (found[0], found[1] or "external")
            elif isinstance(broker, ClosedPositions):
                trade = broker.closed_trade(ticket)
                closed = None if trade is None else (trade, "external")
            else:
                return None
        except BrokerError as exc:
            self._read_failed(
                "closed positions",
                exc,
                f"how position {ticket} (and any other gone) closed is not known meanwhile",
            )
            return None
        self._read_back("closed positions", "read")
        return closed

    def _held_unconfirmed(self, host: HostView, ticket: int, now: datetime, shown: bool) -> bool:
        """Whether a position the broker's list lacks is held back from being taken as
        gone: its broker keeps a history and the history shows no close of it yet
        (``shown``: it does), for up to :data:`hookspecs.UNCONFIRMED_CLOSE_SECONDS`.
        MetaTrader's history trails a close by a moment, and a terminal not yet
        synchronised answers with no positions while they are open: a trade taken as gone
        on one such answer was CLOSED and its hedge closed at once (a hedge left open and
        no longer tracked, when the terminal also said the hedge was not found). The
        host's loop waits as long before it reports a close (docs/architecture.md, the
        trading loop). A broker without a history: gone is gone, at once, as before."""
        if not isinstance(host.broker, CloseReasons | ClosedPositions):
            return False
        since = self._unconfirmed.setdefault(ticket, now)
        if shown or (now - since).total_seconds() >= UNCONFIRMED_CLOSE_SECONDS:
            del self._unconfirmed[ticket]
            return False
        return True

    async def _closed_while_down(self, host: HostView, rec: TradeRecord, now: datetime) -> bool:
        """A position that closed while DTMS was not running (its stop hit, say), or,
        on a replica, before it took the trade over (:attr:`while_away`):
        the record CLOSED with the broker's reason, time and profit, which the account
        rails count (docs/dtms.md §7). Whether the broker could tell; if not, the first
        cycle closes it as "position gone" (asking again). The host's loop never knew the
        position, so no ``on_trade_closed`` reports it: the state change (to CLOSED, with
        the reason) is what the other plugins hear."""
        closed = self._closed_at_broker(host, rec)
        if closed is None:
            return False
        trade, reason = closed
        if await self._never_matched(host, rec, trade, now):
            return True  # another position's close: not this record's
        self.log.info(
            "DTMS %s: closed %s (%s at %s, profit %+.2f)",
            rec.ticket, self.while_away[0], reason, trade.close_price, trade.profit,
        )  # fmt: skip
        await self._closed(host, rec, trade, reason, now, self.while_away[1])
        return True

    def _hedge_gone(self, host: HostView, rec: TradeRecord) -> TradeRecord:
        """The hedge of ``rec`` closed while this host was not running: its result is the
        trade's too (docs/dtms.md §7), from the broker's record of it when it keeps one."""
        assert rec.hedge_ticket is not None  # dtms serve hears of no hedge's close (§7)
        closed = self._close_in_history(host, rec.hedge_ticket) if self.adopt else None
        return rec if closed is None else hedge_closed(rec, closed[0])

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
