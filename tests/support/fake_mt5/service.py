"""What the trade server does to positions on its own, between any two calls: a stop or a
target hit, a margin stop-out, and a swap charged by re-opening the position.

The re-open follows the MQL5 reference's POSITION_TICKET ("usually matches the ticket of
an order used to open the position except when the ticket is changed as a result of
service operations on the server, for example, when charging swaps with position
re-opening. To find an order used to open a position, apply the POSITION_IDENTIFIER
property"): the position is closed and opened again at the rollover price under a new
ticket, its identifier (which all its deals carry as ``position_id``) kept, and so are
its side, lots, stop, target, magic and comment. Two deals record it, both with reason
``DEAL_REASON_ROLLOVER`` (``DEAL_REASON_VMARGIN`` where the broker re-opens at an
exchange's clearing price): a close (``DEAL_ENTRY_OUT``) that books the position's result
so far and the swap, and an open (``DEAL_ENTRY_IN``) at the same price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import FakePosition, FakeSymbol
from .shapes import CONSTANTS

ROLLOVER = CONSTANTS["DEAL_REASON_ROLLOVER"]


class ServerOperations:
    """The server's own operations on :class:`~.terminal.FakeMT5`'s positions."""

    if TYPE_CHECKING:  # kept by the terminal and the trade server
        positions: dict[int, FakePosition]
        symbols: dict[str, FakeSymbol]

        def _next(self) -> int: ...

        def server_time(self, age: float = 0) -> int: ...

        def _booked(self, s: FakeSymbol, p: FakePosition, volume: float, price: float) -> float: ...

        def _record(
            self,
            r: dict[str, Any],
            order: int,
            position: int,
            entry: int,
            v: float,
            price: float,
            profit: float = 0.0,
            reason: int = CONSTANTS["DEAL_REASON_EXPERT"],
            swap: float = 0.0,
        ) -> int: ...

        def _reduce(self, p: FakePosition, volume: float) -> None: ...

    def hit_stop(self, ticket: int) -> None:
        """The server closes position ``ticket`` at its stop loss, as it does when the
        price reaches it: the position goes, a closing deal (reason ``DEAL_REASON_SL``)
        books its result."""
        self._server_close(ticket, self.positions[ticket].sl, CONSTANTS["DEAL_REASON_SL"])

    def stop_out(self, ticket: int) -> None:
        """The server closes position ``ticket`` at the market because the account's
        margin level fell to its stop-out level: a closing deal with reason
        ``DEAL_REASON_SO`` books its result."""
        p = self.positions[ticket]
        s = self.symbols[p.symbol]
        self._server_close(ticket, s.bid if p.type == 0 else s.ask, CONSTANTS["DEAL_REASON_SO"])

    def _server_close(self, ticket: int, price: float, reason: int) -> None:
        p = self.positions[ticket]
        s = self.symbols[p.symbol]
        closing = {"type": 1 - p.type, "magic": p.magic, "symbol": p.symbol, "comment": ""}
        profit = self._booked(s, p, p.volume, price)
        volume = p.volume
        self._reduce(p, volume)
        self._record(
            closing, self._next(), p.id, CONSTANTS["DEAL_ENTRY_OUT"], volume, price, profit,
            reason,
        )  # fmt: skip

    def accrue_swap(self, ticket: int, amount: float) -> None:
        """The rollover adds ``amount`` (negative: a charge) to position ``ticket``'s
        ``swap``, which its closing deals book (a server that charges it by re-opening the
        position: :meth:`reopen`)."""
        p = self.positions[ticket]
        p.swap = round(p.swap + amount, 2)

    def reopen(self, ticket: int, *, swap: float = 0.0, reason: int = ROLLOVER) -> int:
        """The rollover charges position ``ticket``'s swap by closing it at the market
        (the bid for a buy, the ask for a sell) and opening it again there: the new
        position's ticket, which differs from the old one while its identifier stays.
        The closing deal books the result so far and ``swap``; the new position's
        ``price_open`` and ``time`` are the rollover's."""
        p = self.positions.pop(ticket)
        s = self.symbols[p.symbol]
        price = s.bid if p.type == 0 else s.ask
        common = {"magic": p.magic, "symbol": p.symbol, "comment": ""}
        profit = self._booked(s, p, p.volume, price)
        out, into = CONSTANTS["DEAL_ENTRY_OUT"], CONSTANTS["DEAL_ENTRY_IN"]
        self._record(
            {**common, "type": 1 - p.type}, self._next(), p.id, out, p.volume, price, profit,
            reason, swap + p.swap,
        )  # fmt: skip
        self._record(
            {**common, "type": p.type}, self._next(), p.id, into, p.volume, price, 0.0, reason
        )
        new = self._next()
        self.positions[new] = FakePosition(
            new, p.symbol, p.type, p.volume, price, p.sl, p.tp, p.magic, p.comment,
            self.server_time(), p.id,
        )  # fmt: skip
        return new
