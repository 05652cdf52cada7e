"""A new trade's entry, volume and opening as its broker's position has them: the broker
is the truth (docs/dtms.md §8).

Why: the server kept a registration's entry and volume as sent, whatever the broker's
open position under its ticket said. A buy of 0.10 lots filled at 1940.79 registered with
``entry`` 19.40 and ``volume`` 50 was kept so for the trade's life: its stop at 1930 read
as "past the entry", so R fell back to one ATR instead of the 10.79 the stop risked, and
its first cycle "adopted" a volume change (50 → 0.1) that never happened, leaving 50 as
the trade's initial volume. The position's own figures are taken now, and what the
client sent that they replaced is said once.

The rule (docs/client.md, "Registering"): when the broker lists an open position under
the ticket on the registration's symbol and side, the new record takes its entry price
and volume, and its opening time when the registration sent none or one in the server's
future (:func:`as_at_broker`). An entry within :data:`SLIPPAGE` of the fill (the price asked
against the price filled, or a rounded one, as the original's clients send), or an
opening within :data:`SAME_OPENING`, is taken at DEBUG; a larger difference, or another
volume, is a WARNING naming each field replaced. A ticket the broker lists no such
position of, or a broker that cannot say, leaves the registration as sent.

The opening too: a client on a paper account dated it by the wall clock (2026) while the
broker's position opened on the account's data clock (2024), and every close the host
then reported, at the account's time, was refused as "before the trade opened": a real
loss never reached the server's history or its daily-loss rail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hookspecs import Broker, Trade

from .broker_ticket import whole_close_at_broker
from .closing import ClosedReport, opening_time
from .position_volume import BrokerPositions
from .validation import Registration
from .views import trade_fields

#: the part of the fill's price within which a sent entry is the same fill (slippage
#: between the price asked and the price filled, or a rounded price): 0.1 %, about 2.0
#: on gold at 2,000, 11 pips on EURUSD at 1.10
SLIPPAGE = 1e-3

#: how far apart two volumes may be and still be one (float noise only: lots are steps)
_SAME_VOLUME = 1e-9

#: how far a sent opening may be from the position's and still be said at DEBUG only: a
#: client's clock a few seconds off, or a time sent to the second
SAME_OPENING = timedelta(minutes=1)


def broker_position(reg: Registration, positions: BrokerPositions) -> Trade | None:
    """The broker's open position under ``reg``'s ticket when it is ``reg``'s (its symbol,
    in the broker's spelling, and side), whose figures :func:`as_at_broker` takes; None
    when the broker lists none such or cannot say."""
    pos = positions.said(reg.ticket)  # the broker not saying: as sent, as before
    if pos is None or pos.symbol != reg.symbol or pos.direction != reg.direction:
        return None
    return pos


def as_at_broker(
    reg: Registration,
    positions: BrokerPositions,
    log: logging.Logger,
    now: datetime | None = None,
) -> Registration:
    """``reg`` with its broker position's entry and volume, when the broker lists an open
    position under its ticket on its symbol (the broker's spelling, which registration
    takes) and side (:func:`broker_position`); ``reg`` as sent otherwise. Its opening
    too when the registration sent none, or one after the server's clock ``now`` (more
    than :data:`SAME_OPENING`): no position opened in the server's future (a client's
    wall clock on a paper account dated in 2024). A sent opening that could be true is
    kept: it is how a ticket kept CLOSED and registered again tells a new position under
    the reused ticket from the closed one (docs/client.md)."""
    pos = broker_position(reg, positions)
    if pos is None:
        return reg
    if reg.opened_at is not None and (now is None or reg.opened_at <= now + SAME_OPENING):
        pos = replace(pos, opened_at=reg.opened_at)  # a possible opening: as sent
    said, quiet = _replaced(reg, pos)
    if said:
        log.warning(
            "ticket %s: %s, from the broker's position", reg.ticket, ", ".join(said + quiet)
        )
    elif quiet:
        log.debug("ticket %s: %s, from the broker's position", reg.ticket, ", ".join(quiet))
    return replace(
        reg,
        entry_price=pos.entry_price,
        volume=pos.volume,
        opened_at=pos.opened_at,
    )


def _replaced(reg: Registration, pos: Trade) -> tuple[list[str], list[str]]:
    """What ``pos`` replaces of what ``reg`` sent: the differences worth a WARNING, and
    those within slippage (a DEBUG line). A volume taken from the broker already (none
    sent) is no difference; nor is an opening the registration did not send. An opening
    more than :data:`SAME_OPENING` off is a WARNING, a nearer one that differs DEBUG."""
    said: list[str] = []
    quiet: list[str] = []
    if reg.entry_price != pos.entry_price:
        text = f"entry {reg.entry_price:.10g} → {pos.entry_price:.10g}"
        off = abs(reg.entry_price - pos.entry_price)
        (quiet if off <= SLIPPAGE * abs(pos.entry_price) else said).append(text)
    sent = reg.volume if reg.volume_sent else None
    if sent is not None and abs(sent - pos.volume) > _SAME_VOLUME * max(1.0, pos.volume):
        said.append(f"volume {sent:.10g} → {pos.volume:.10g}")
    if reg.opened_at is not None and reg.opened_at != pos.opened_at:
        text = f"opened_at {reg.opened_at.isoformat()} → {pos.opened_at.isoformat()}"
        (quiet if abs(reg.opened_at - pos.opened_at) <= SAME_OPENING else said).append(text)
    return said, quiet


def opening_at_broker(
    record: Mapping[str, Any], closed: ClosedReport, broker: Broker
) -> datetime | None:
    """The opening of the record's position as the broker dates it, when that is what
    makes a close reported "before the trade opened" a true one: the broker's history
    closes the ticket (or lists it open), on the record's symbol and side, opened no later
    than the reported close and earlier than the record says. None otherwise: the 409
    stands (:func:`.closing.check_close_time`). On the engine thread (the broker's).

    Why: a record kept with a client's wall-clock opening (2026) on a paper account whose
    data clock is in 2024 refused every close the host reported at the account's time,
    and the host's outbox drops a 4xx as undeliverable: the close's realised profit never
    reached the server's history or its daily-loss rail. The broker is the truth
    (docs/dtms.md §8), of when its position opened as of its entry and volume."""
    opened = opening_time(record)
    at = closed.closed_at
    if at is None or opened is None or at >= opened:
        return None
    at_broker = whole_close_at_broker(broker, closed.ticket)
    pos = at_broker[0] if at_broker is not None else BrokerPositions(broker).said(closed.ticket)
    fields = trade_fields(record)
    if (
        pos is None
        or pos.ticket != closed.ticket
        or pos.symbol != fields.get("symbol")
        or pos.direction != fields.get("direction")
        or not pos.opened_at <= at
        or not pos.opened_at < opened
    ):
        return None
    return pos.opened_at


def with_opening(record: Mapping[str, Any], opened_at: datetime) -> dict[str, Any]:
    """``record`` with ``opened_at`` where :func:`.closing.opening_time` reads it (its
    trade's fields, nested or not), in the engine record's own ISO form."""
    nested = record.get("trade")
    if isinstance(nested, Mapping):
        return {**record, "trade": {**nested, "opened_at": opened_at.isoformat()}}
    return {**record, "opened_at": opened_at.isoformat()}
