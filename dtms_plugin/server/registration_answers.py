"""What a registration answers: its body, and the 409 of a trade kept CLOSED (docs/client.md,
"Registering"); and the line the server logs it in. Split from :mod:`.registering`, which
decides the outcome."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hookspecs import DefensiveState, Trade
from hookspecs.events import log_event

from ..local_registering import risk_text
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


def closed_conflict(
    ticket: int, record: Mapping[str, Any], at_broker: datetime | None = None
) -> TradeClosed:
    """The 409 of a registration whose trade is kept CLOSED: when and why it closed, and
    its outcome, so a client can tell "closed" from "defended" (docs/client.md). With
    ``at_broker``: the registration named another entry or opening, and the broker lists
    no open position of the ticket, whose history shows it closed then
    (:mod:`.broker_ticket`): not a new trade either."""
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
    if at_broker is not None:
        details["broker_closed_at"] = at_broker.isoformat()
        return TradeClosed(
            "ticket",
            f"trade {ticket} closed at {when} ({why}), and the broker's position {ticket}"
            f" closed at {at_broker.isoformat()}: the broker lists no open position {ticket},"
            " so this is not a new trade; DTMS no longer manages it",
            details,
        )
    return TradeClosed(
        "ticket",
        f"trade {ticket} closed at {when} ({why}): DTMS no longer manages it; a new "
        "position under this ticket needs its own opened_at or entry",
        details,
    )


def say_registered(log: logging.Logger, trade: Trade, record: Any) -> None:
    """One line a registration, the ``registration`` event: what an operator reads it for,
    the ticket, side, symbol and volume, and the risk the engine measured, from its
    ``record`` when it gives one (the local engine's
    :class:`~dtms_plugin.engine.TradeRecord`). The engine said that in a line of its own:
    two lines a registration, 2,000 for a burst of 1,000."""
    r = getattr(record, "r", None)
    risk = "" if not isinstance(r, float) else f", {risk_text(r)}"
    log_event(
        log, "registration", "registered ticket %s (%s %s %s lots%s)",
        trade.ticket, trade.direction, trade.symbol, trade.volume, risk,
        ticket=trade.ticket, symbol=trade.symbol, direction=trade.direction,
        volume=trade.volume, r=r if isinstance(r, float) and r > 0.0 else None,
    )  # fmt: skip
