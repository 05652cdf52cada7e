"""What a registration answers: its body, and the 409 of a trade kept CLOSED (docs/client.md,
"Registering"). Split from :mod:`.registering`, which decides the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookspecs import DefensiveState

from .errors import TradeClosed
from .validation import Registration
from .views import not_applied, record_state, trade_fields


def answer(
    ticket: int, created: bool, record: Mapping[str, Any], reg: Registration | None = None
) -> dict[str, Any]:
    """A registration's body: whether it was new, and the trade's state; for a repeat
    (``reg`` given), the values it sent that differ from those the trade was registered
    with, which it did not change (:func:`not_applied`)."""
    body = {
        "ticket": ticket,
        "registered": True,
        "already_registered": not created,
        "state": record_state(record),
    }
    differ = not_applied(reg, record) if reg is not None and not created else {}
    if differ:
        body["not_applied"] = differ
    return body


def closed_conflict(ticket: int, record: Mapping[str, Any]) -> TradeClosed:
    """The 409 of a registration whose trade is kept CLOSED: when and why it closed, and
    its outcome, so a client can tell "closed" from "defended" (docs/client.md)."""
    fields = trade_fields(record)

    def kept(key: str) -> Any:
        return record.get(key, fields.get(key))

    when = kept("closed_at") or "an unknown time"
    why = kept("close_reason") or "no reason kept"
    details = {
        "ticket": ticket,
        "state": DefensiveState.CLOSED.value,
        "closed_at": kept("closed_at"),
        "close_reason": kept("close_reason"),
        "realised_profit": kept("realised_profit"),
        "close_price": kept("close_price"),
    }
    return TradeClosed(
        "ticket",
        f"trade {ticket} closed at {when} ({why}): DTMS no longer manages it; a new "
        "position under this ticket needs its own opened_at or entry",
        details,
    )
