"""The account's recent closes, shared by every ``dtms serve`` replica on one Redis
(docs/scaling.md, "The account rails").

Why: the account rails (docs/dtms.md §7: the daily loss, the stop streak) judge the
account's closed trades, whichever replica closed them. A replica's engine holds only the
trades it leases, and lets a closed one go with its lease, so its own book held neither
the others' closes nor, a cycle later, its own: the rails almost never fired. So the
Redis store keeps one small record of each close (:class:`Close`), written in the same
script call as the closed record itself, and every replica reads them for its rails.
Bounded: what the rails read, the closes of the reader's day (and the day before, for a
replica whose clock lags) and never fewer than the last ``stop_streak``; older ones go
as they are read. The diskcache store has no such record: one engine holds the whole
book there (:meth:`dtms_plugin.book.TradeBook.recent_closed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .shared import parse_iso


@dataclass(frozen=True, slots=True)
class Close:
    """One closed trade as the account rails read it (``ClosedTrade`` of the engine)."""

    ticket: int
    opened_at: datetime
    closed_at: datetime
    realised_profit: float
    close_reason: str

    @property
    def key(self) -> str:
        """One close per trade: a reused ticket's earlier trade keeps its own."""
        return f"{self.ticket}:{self.opened_at.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat(),
            "realised_profit": self.realised_profit,
            "close_reason": self.close_reason,
        }


def close_of(record: Mapping[str, Any]) -> Close | None:
    """The close a stored trade record holds: one with a close time and a realised
    result, as the book counts it; None for any other (open, or closed without its
    outcome yet, or a record of another shape)."""
    ticket = record.get("ticket")
    profit = record.get("realised_profit")
    opened = parse_iso(record.get("opened_at"))
    closed = parse_iso(record.get("closed_at"))
    if not isinstance(ticket, int) or isinstance(ticket, bool) or opened is None:
        return None
    if closed is None or not isinstance(profit, int | float) or isinstance(profit, bool):
        return None
    reason = record.get("close_reason")
    return Close(ticket, opened, closed, float(profit), reason if isinstance(reason, str) else "")


@runtime_checkable
class SharedCloses(Protocol):
    """A store that keeps the account's recent closes for every engine that shares it."""

    def recent_closes(self, since: datetime, at_least: int) -> list[Close]:
        """The closes at or after ``since`` and never fewer than the last ``at_least``,
        oldest first (ties by ticket, as the book orders them); older ones are let go."""
        ...
