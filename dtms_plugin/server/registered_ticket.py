"""How a registration stands to the stored record of its ticket, and to the broker's
position under it: the same trade (already registered), a new one under a reused ticket
(the CLOSED record archived first), or a conflict with a live trade (a 409 naming the
field). Pure functions of a record, a registration and a position, for
:mod:`.registering`.

Why the broker's position is asked too: the broker is the truth (docs/dtms.md §8). A
record registered for a ticket no broker held yet (a made-up one) used to win over the
real position that later got the ticket: the host's registration of it was a 409, and
the real trade was never defended. A registration that matches the broker's position,
against a record that does not, is the real trade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hookspecs import DefensiveState, Trade

from .broker_entry import SLIPPAGE
from .errors import RegistrationConflict
from .validation import Registration

#: the broker's open position under a registration's ticket, asked when needed (None:
#: none listed, or the broker cannot say); or None, no broker asked
Held = Callable[[], Trade | None] | None


def live(record: Mapping[str, Any]) -> bool:
    """Open, or closed by DTMS with actions still owed (its close or its hedge's)."""
    return record.get("state") != DefensiveState.CLOSED.value or bool(record.get("owed"))


def reused(record: Mapping[str, Any], reg: Registration, held: Held = None) -> bool:
    """A CLOSED record, and the registration names another position: another direction,
    symbol or entry (farther than :data:`SLIPPAGE`: the record keeps the fill, a client
    resending its trade sends the price it asked), or another opening time when it gives
    one. The entry is that of the
    broker's open position under the ticket (``held``, asked only here) when it is the
    registration's (:func:`is_position`): a new trade is kept with it
    (:mod:`.broker_entry`), so the client's own figure (the price it asked) is no other
    position."""
    if live(record):
        return False
    if record.get("direction") != reg.direction or record.get("symbol") != reg.symbol:
        return True
    pos = None if held is None else held()
    sent = pos.entry_price if pos is not None and is_position(reg, pos) else reg.entry_price
    entry = record.get("entry_price")
    if not isinstance(entry, int | float) or abs(entry - sent) > SLIPPAGE * abs(entry):
        return True
    if reg.opened_at is None:
        return False
    opened = record.get("opened_at")
    try:
        return datetime.fromisoformat(str(opened)) != reg.opened_at
    except ValueError:
        return True


def check_conflict(record: Mapping[str, Any], reg: Registration) -> None:
    """A live trade registered again with another direction or symbol is not the same
    trade, and not a new one either: refuse it, naming the field."""
    if not live(record):
        return
    for field, sent in (("direction", reg.direction), ("symbol", reg.symbol)):
        held = record.get(field)
        if held is not None and held != sent:
            raise RegistrationConflict(
                field,
                f"ticket {reg.ticket} is a live {record.get('direction')} trade on "
                f"{record.get('symbol')}: {field} {sent!r} conflicts with {held!r}",
            )


def is_position(reg: Registration, pos: Trade | None) -> bool:
    """Whether ``pos``, the broker's position under ``reg``'s ticket, is the trade
    ``reg`` registers: its symbol (the broker's spelling, which registration takes) and
    side."""
    return (
        pos is not None
        and pos.ticket == reg.ticket
        and pos.symbol == reg.symbol
        and pos.direction == reg.direction
    )
