"""Trade records as the account rails read them (docs/dtms.md §7): opened, and closed
with a result, a reason, a comment and the parts realised before the close."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dtms_plugin.engine import TradeRecord, register
from hookspecs import DefensiveState
from support.dtms_kit import T0, trade


def opened(ticket: int, at: datetime = T0, comment: str = "") -> TradeRecord:
    """The record of ``ticket``, a buy of the kit's :func:`trade`, registered at ``at``."""
    return replace(register(trade(ticket, opened_at=at), None, at), comment=comment)


def closed(
    ticket: int,
    profit: float | None,
    at: datetime,
    reason: str = "exit",
    *,
    opened_at: datetime = T0,
    comment: str = "",
    parts: tuple[tuple[datetime, float], ...] = (),
) -> TradeRecord:
    """:func:`opened`'s record, CLOSED at ``at`` for ``profit`` (``parts``: what partial
    and hedge closes realised before, each with its time)."""
    return replace(
        opened(ticket, opened_at, comment),
        state=DefensiveState.CLOSED,
        closed_at=at,
        close_reason=reason,
        realised_profit=profit,
        realised_parts=parts,
    )
