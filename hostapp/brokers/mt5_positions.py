"""The positions as hookspecs sees them: one identity for a position's whole life.

MetaTrader gives a position a new ticket when its server re-opens it (a swap charged by
re-opening, :mod:`.mt5_reopen`); its ``identifier`` stays. A plugin that took the old
ticket for the position's would see its trade vanish and a new one appear: closed as
``external`` with its floating profit, the new ticket defended by nobody. So the broker
presents the identifier as the position's ticket (:func:`.mt5_convert.identity`),
everywhere, and turns it back into the position's ticket of the moment only where a
request names the position (:meth:`PositionReads.ticket_now`), from the newest listing.
The history is asked by the identifier, which its deals carry (:mod:`.mt5_history`).

A re-opened position shows the server's ``price_open`` and ``time`` of the re-open; it is
presented with the entry and opening of its trade instead, from its deals, so a plugin's
R, breakeven and "same trade" test go on measuring from where the trade was entered. Its
``profit`` stays the terminal's: the open lots' since the re-open (what came before it was
booked into the balance by the server's close).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from hookspecs import BrokerError, CloseReason, Trade, WaitingOrder

from .mt5_convert import ServerClock, as_dict, identity, last_error, trade_from_position
from .mt5_history import DEAL_REASON_SO, closed_position, closing_parts
from .mt5_reopen import opening

log = logging.getLogger(__name__)

Raw = dict[str, Any]
#: what a re-opened position's entry was read for: its ticket, lots and price_open then
_Seen = tuple[int, float, float]


class PositionReads:
    """Reads of open and closed positions; the broker supplies the API and the clock."""

    api: Any

    @property
    def server_clock(self) -> ServerClock:
        raise NotImplementedError

    def __init__(self) -> None:
        #: the ticket of each position's identity, as the newest listing shows it
        self._tickets: dict[int, int] = {}
        #: the entry and opening of the re-opened positions listed, from their deals
        self._entries: dict[int, tuple[_Seen, tuple[float, datetime]]] = {}
        #: positions the broker closed at a margin stop-out (``DEAL_REASON_SO``)
        self._stopped_out: dict[int, str] = {}

    def _raw_positions(self) -> list[Raw]:
        raw = self.api.positions_get()
        if raw is None:  # an error, never "no positions"
            raise BrokerError(f"positions_get() failed: last_error={last_error(self.api)}")
        rows = [as_dict(p) for p in raw]
        self._tickets = {identity(p): int(p["ticket"]) for p in rows}
        return rows

    def _raw_position(self, ticket: int) -> Raw | None:
        """The row of the position whose identity is ``ticket``, read now."""
        return next((p for p in self._raw_positions() if identity(p) == ticket), None)

    def ticket_now(self, ticket: int) -> int:
        """The ticket a request names position ``ticket`` (its identity) by: its ticket in
        the newest listing (every request is built from a fresh one), else its identity,
        which is its ticket until the server re-opens it."""
        return self._tickets.get(ticket, ticket)

    def reticketed(self, ticket: int, sent: int) -> bool:
        """After a request for ``sent`` found no such position (10036): whether position
        ``ticket`` (its identity) is still open under another ticket (the server re-opened
        it meanwhile), so the request is to be built again, not taken as a closed
        position's. A listing that fails says no."""
        try:
            return self._raw_position(ticket) is not None and self.ticket_now(ticket) != sent
        except BrokerError:
            return False

    def positions(self) -> list[Trade]:
        rows = self._raw_positions()
        listed = {identity(p) for p in rows}
        for gone in [t for t in self._entries if t not in listed]:
            del self._entries[gone]
        return [self._trade(p) for p in rows]

    def position(self, ticket: int) -> Trade | None:
        raw = self._raw_position(ticket)
        return self._trade(raw) if raw is not None else None

    def waiting_orders(self, symbol: str) -> list[WaitingOrder]:
        """:class:`hookspecs.WaitingOrders`: the market orders (``ORDER_TYPE_BUY``/``_SELL``)
        of ``symbol`` the trade server holds (``orders_get``), an order whose answer was
        lost among them until it fills; the position one acts on by its identity (its
        ``position_id``), as every ticket here is (:func:`.mt5_convert.identity`)."""
        raw = self.api.orders_get(symbol=symbol)
        if raw is None:  # an error, never "no orders"
            raise BrokerError(f"orders_get() failed: last_error={last_error(self.api)}")
        return [
            WaitingOrder(
                int(o["ticket"]),
                str(o["symbol"]),
                "buy" if int(o["type"]) == 0 else "sell",
                float(o["volume_current"]),
                int(o["position_id"]) or None,
                int(o["magic"]),
                str(o["comment"]),
            )
            for o in map(as_dict, raw)
            if int(o["type"]) in (0, 1)  # a stop or limit order waits for its price
        ]

    def _trade(self, row: Raw) -> Trade:
        """The position as its trade: a re-opened one (its ticket no longer its identity)
        with its trade's entry and opening, read from its deals once per ticket, lots and
        price; as the terminal lists it while its history cannot say."""
        trade = trade_from_position(row, self.server_clock)
        if int(row["ticket"]) == trade.ticket:
            return trade
        seen = (int(row["ticket"]), float(row["volume"]), float(row["price_open"]))
        known = self._entries.get(trade.ticket)
        if known is None or known[0] != seen:
            try:
                found = opening(self.api, self.server_clock, trade.ticket, trade.volume)
            except (KeyError, TypeError, ValueError):  # a row unlike the API's
                found = None
            if found is None:
                return trade
            known = self._entries[trade.ticket] = (seen, found)
        entry, opened_at = known[1]
        return replace(trade, entry_price=entry, opened_at=opened_at)

    def closed_trade(self, ticket: int) -> Trade | None:
        """:class:`hookspecs.ClosedPositions`: the position as its deals say it closed
        (:mod:`.mt5_history`); ``None`` while the history lags or cannot be read."""
        closed = self.closed_with_reason(ticket)
        return None if closed is None else closed[0]

    def closing_parts(self, ticket: int) -> list[Trade] | None:
        """The run summary's view of a closed position: each closing deal as a part, as
        the paper broker books a partial close (:func:`.mt5_history.closing_parts`)."""
        try:
            return closing_parts(self.api, self.server_clock, ticket)
        except (KeyError, TypeError, ValueError, BrokerError):  # a row unlike the API's
            return None

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        """:class:`hookspecs.CloseReasons`: :meth:`closed_trade` and the last closing
        deal's reason, a stop or a target the server filled, from one history read."""
        try:
            closed = closed_position(self.api, self.server_clock, ticket)
        except (KeyError, TypeError, ValueError):  # a row unlike the API's
            return None
        if closed is None:
            return None
        trade, reason, deal_reason = closed
        if deal_reason == DEAL_REASON_SO and ticket not in self._stopped_out:
            said = (
                f"{ticket} {trade.direction} {trade.volume:g} {trade.symbol} ({trade.profit:+.2f})"
            )
            self._stopped_out[ticket] = said
            log.warning("the broker stopped out position %s (margin stop-out)", said)
        return trade, reason
