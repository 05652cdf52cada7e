"""What the broker says of a position outside the ladder, taken into its record: a hedge
of it closed, or its volume or levels changed by someone else (docs/dtms.md §8); and the
time a close the engine dates itself is given.

Pure, as the rest of the engine: record in, record out. The position's own close
(``close_record``) is a transition, so it stays with the state machine
(:mod:`.machine`).
"""

from __future__ import annotations

from datetime import datetime

from hookspecs import Trade

from .journal import unsettled
from .record import TradeRecord
from .tolerance import TOLERANCE


def hedge_closed(parent: TradeRecord, hedge: Trade) -> TradeRecord:
    """A hedge of ``parent`` closed: the hedge's profit is the trade's too, for the
    account rails (docs/dtms.md §7), kept until the trade closes or added to the result
    of a trade already closed, and dated by its own close for the daily loss; and the
    trade is no longer hedged by it (a hedge the engine closed itself, or replaced, is
    no longer the record's)."""
    changes: dict[str, object] = {"hedge_profit": parent.hedge_profit + hedge.profit}
    if hedge.closed_at is not None:  # its own day's money, not its trade's close's
        changes["realised_parts"] = (*parent.realised_parts, (hedge.closed_at, hedge.profit))
    if parent.hedge_ticket == hedge.ticket:
        changes["hedge_ticket"] = None
        changes["hedge_volume"] = 0.0
    if parent.realised_profit is not None:
        changes["realised_profit"] = parent.realised_profit + hedge.profit
    return parent.evolve(**changes)


def realised_part(record: TradeRecord, at: datetime, profit: float) -> TradeRecord:
    """``record`` with ``profit`` realised at ``at`` while it stays open (a partial
    close): the daily loss counts it on that UTC day, not on the day the trade closes
    (docs/dtms.md §7). ``realised_profit``, the whole result, still comes with the
    close, which the host reports with the profit of all the position's deals."""
    return record.evolve(realised_parts=(*record.realised_parts, (at, profit)))


def sync_position(record: TradeRecord, position: Trade) -> TradeRecord:
    """Adopt what changed at the broker outside DTMS (volume, SL, TP), unless one of our
    own actions is still unsettled (its effect would look like an outside change)."""
    if unsettled(record) or not record.is_open:
        return record
    changes: dict[str, object] = {}
    if abs(position.volume - record.volume) > TOLERANCE:
        changes["volume"] = position.volume
        changes["warnings"] = record.with_warning(
            f"volume {record.volume:g} → {position.volume:g} changed outside DTMS: adopted"
        )
    if position.stop_loss != record.stop_loss:
        changes["stop_loss"] = position.stop_loss
    if position.take_profit != record.take_profit:
        changes["take_profit"] = position.take_profit
    return record.evolve(**changes) if changes else record


def close_time(record: TradeRecord, now: datetime) -> datetime:
    """When a close the engine dates itself happened: ``now``, or the trade's opening when
    that is later. A paper account's clock is its data's (2024, say) while a program
    registers with the wall clock's opening (2026): a close dated before the opening
    would read as a trade that closed before it opened, and put it past its retention
    at once (docs/dtms.md §8)."""
    return max(now, record.opened_at)  # both UTC: records and trades refuse naive times
