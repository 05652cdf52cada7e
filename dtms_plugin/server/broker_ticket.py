"""What the broker says of a registration's ticket, before the registration makes a new
trade of it (:mod:`.registering`): the broker is the truth (docs/dtms.md §8).

Why: a registration was checked against the stored record alone. A buy registered for
the broker's open sell (after a ``DELETE``, with no record left to conflict with) was
accepted and steered as a buy for a cycle; a CLOSED ticket registered again with an entry
a little off (an original client's poller sends the requested price, or a rounded one)
and no ``opened_at`` was taken for a reused ticket, and the new record got the old
position's close from the broker's history: a trade closed before it opened, its loss
exported twice. Now the broker's open position under the ticket, when it lists one, must
be the registration's (its symbol, and its side on a hedging account); and a CLOSED
ticket the broker lists no open position of, and whose close its history shows, is
closed still, not a new trade. A broker that cannot say leaves the registration as it
was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hookspecs import Broker, ClosedPositions, CloseReason, CloseReasons, Trade

from .errors import PositionConflict
from .position_volume import BrokerPositions
from .registration_answers import closed_conflict
from .validation import Registration

#: the field in which the broker's position is not the registration's trade, or None
#: (the engine's ``LocalStrategy.not_the_position``, which knows the account's mode)
NotThePosition = Callable[[Registration, Trade], str | None]


def check_at_broker(
    reg: Registration,
    record: Mapping[str, Any] | None,
    positions: BrokerPositions,
    broker: Broker,
    now: datetime,
    not_the_position: NotThePosition | None,
) -> None:
    """Raise the 409 of a new trade the broker contradicts: its open position under
    ``reg``'s ticket is another symbol or side (:class:`PositionConflict` naming the
    field); or, for a ticket whose ``record`` is CLOSED (a reused one by the record
    alone), it lists no open position of it and its history shows it closed before
    ``now`` (the ``trade closed`` answer). Nothing raised when the broker cannot say."""
    try:
        pos = positions.of_ticket(reg.ticket)
    except Exception:  # the broker cannot say: as before
        return
    if pos is not None:
        field = None if not_the_position is None else not_the_position(reg, pos)
        if field is not None:
            sent = reg.symbol if field == "symbol" else reg.direction
            raise PositionConflict(
                field,
                f"the broker's position {reg.ticket} is a {pos.direction} on {pos.symbol}:"
                f" {field} {sent!r} is not its own",
                {"ticket": reg.ticket},
            )
        return
    if record is None:
        return
    closed = closed_at_broker(broker, reg.ticket)
    if closed is not None and closed.closed_at is not None and closed.closed_at <= now:
        raise closed_conflict(reg.ticket, record, closed.closed_at)


def closed_at_broker(broker: Broker, ticket: int) -> Trade | None:
    """The broker's history's close of position ``ticket``; None when it keeps none, has
    none, or cannot say."""
    found = close_at_broker(broker, ticket)
    return None if found is None else found[0]


def whole_close_at_broker(broker: Broker, ticket: int) -> tuple[Trade, CloseReason | None] | None:
    """:func:`close_at_broker`, when the broker lists no open position ``ticket``: while
    it lists one, the history's newest closing deal of it is a partial close's, not the
    trade's end. None too when the broker cannot say."""
    try:
        if BrokerPositions(broker).of_ticket(ticket) is not None:
            return None
    except Exception:  # the broker cannot say: the report as it is
        return None
    return close_at_broker(broker, ticket)


def close_at_broker(broker: Broker, ticket: int) -> tuple[Trade, CloseReason | None] | None:
    """The broker's history's close of position ``ticket`` and why, when its history
    says (``stop_loss``, ``take_profit``; None: an order closed it, or the broker does
    not say why); None when it keeps none, has none, or cannot say."""
    try:
        if isinstance(broker, CloseReasons):
            return broker.closed_with_reason(ticket)
        if isinstance(broker, ClosedPositions):
            trade = broker.closed_trade(ticket)
            return None if trade is None else (trade, None)
    except Exception:  # the broker cannot say: as before
        return None
    return None
