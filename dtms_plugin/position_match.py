"""Which broker position a trade record is (docs/dtms.md §8): the same trade, or another
under a reused ticket; a hedge by its comment; a netting position that turned side under
its ticket. Pure functions of a record and a position, shared by the reconciliation,
adoption, registration and the account's ledger, so each judges a position alike."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hookspecs import Direction, Trade

from .book import HEDGE_PREFIX
from .engine import TradeRecord


def is_hedge(trade: Trade) -> bool:
    """A hedge by its comment alone (``DTMS_HEDGE_<ticket>``, which the broker gives the
    position a hedge action opens): what adoption goes by, when the records that name
    DTMS's hedges were lost, and a position restored at start-up is all there is (on
    MetaTrader, the comment is what survives). A trade the host announces is judged by
    the records instead (:meth:`TradeBook.opened_as_hedge`): any plugin may propose an
    order with that comment. A hedge whose comment the broker rewrote is known by its
    ticket, which its trade's record keeps (:meth:`TradeBook.hedge_tickets`); with that
    record lost, nothing tells it from a trade, and adoption takes it on as one
    (docs/dtms.md §8): defended on its own rather than left undefended."""
    return trade.comment.startswith(HEDGE_PREFIX)


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


class Held(Protocol):
    """What names a position: a record's, or a registration's (``dtms serve``)."""

    @property
    def ticket(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def direction(self) -> Direction: ...


def never_this_position(rec: Held, pos: Trade, *, hedging: bool) -> str | None:
    """The field (``symbol``, ``direction``) in which ``pos``, the broker's position (or
    closed position) under ``rec``'s ticket, shows that ``rec`` was never that position;
    None when it may be. A ticket registered before any broker held it (a made-up one,
    docs/client.md's examples) is later given to a real position of another symbol or
    side: the broker is the truth, and the record must neither steer nor be credited with
    it. No position changes symbol; one changes side only on a netting account, where
    that is a reversal (:func:`reversed_at_broker`), so a side differs only on hedging."""
    if pos.ticket != rec.ticket:
        return None
    if pos.symbol != rec.symbol:
        return "symbol"
    if hedging and pos.direction != rec.direction:
        return "direction"
    return None


def reversed_at_broker(rec: TradeRecord, pos: Trade) -> bool:
    """A netting account's position that changed side under its ticket (sell 0.1, then
    buy 0.3: a buy of 0.2): the trade DTMS defended has ended, and scoring the new one as
    the old side would defend it the wrong way round."""
    return rec.is_open and pos.ticket == rec.ticket and pos.direction != rec.direction


def its_close(rec: TradeRecord, closed: tuple[Trade, str] | None) -> tuple[Trade, str] | None:
    """``closed``, the broker's history's close of ``rec``'s ticket, when it may be
    ``rec``'s: not dated before ``rec`` opened. The history is read by ticket only, and a
    ticket registered again after its position closed (an original client's poller
    resending it, no ``opened_at``) got that old close: a trade closed before it opened,
    its loss exported twice (docs/dtms.md §8)."""
    if closed is None or closed[0].closed_at is None:
        return closed
    return None if closed[0].closed_at < rec.opened_at else closed


def ended_by_reversal(rec: TradeRecord, pos: Trade, profit: float | None, now: datetime) -> Trade:
    """The defended trade as it ended: all its volume closed at the reversing deal's
    price (the new position's entry), ``profit`` as the broker values it (0 when it
    cannot say)."""
    return Trade(
        rec.ticket, rec.symbol, rec.direction, rec.volume, rec.entry_price, rec.stop_loss,
        rec.take_profit, rec.opened_at, profit=profit or 0.0, close_price=pos.entry_price,
        closed_at=now,
    )  # fmt: skip
