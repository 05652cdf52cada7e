"""``POST /dtms/trade/{ticket}/closed``: a client reports that its position closed.

Why a report instead of ``DELETE``: an erased trade leaves no trace on the dashboard and
no count in anyone's summary; a closed one keeps its states, actions, reason and profit
(docs/dtms.md §9). The engine hears of the close as it would from its own broker
(``on_trade_closed``), so a hedge it holds is closed too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hookspecs import CloseReason, DataError, DefensiveState, Trade, parse_direction

from . import coerce, limits
from .coerce import not_an_object
from .errors import CloseConflict
from .unknown_keys import Guarded, refuse_look_alikes
from .validation import FieldError, check_text, parse_time, show
from .views import record_state, trade_fields

MAX_REASON_CHARS = 64
#: the reason a close the engine made itself is kept with: what the local strategy
#: records for its own (the host's loop reports a close its ``on_cycle`` made so)
ENGINE_CLOSE_REASON = "action"


@dataclass(frozen=True, slots=True)
class ClosedReport:
    ticket: int
    reason: str
    profit: float
    closed_at: datetime | None = None
    close_price: float | None = None
    #: the fields the client sent (``reason``, ``profit``, ``closed_at``,
    #: ``close_price``): a second report lists those it did not apply
    #: (:func:`close_not_applied`), not the defaults of those it left out
    sent: frozenset[str] = frozenset()


def _number(
    body: Mapping[str, Any], field: str, *, default: float | None, positive: bool = False
) -> float | None:
    """A number or a plain decimal string of one (:func:`.coerce.number`); absent or
    null: ``default``."""
    value = body.get(field, default)
    if value is None:
        return default
    return coerce.number(value, field, positive=positive)


#: every key a close is read from; ``realised_profit`` is the name of the profit in the
#: server's own trade_info, so a client that sends back what it read is understood. Any
#: other key is ignored, unless it looks like one of :data:`CLOSE_GUARDED` and the body
#: has not that field (:mod:`.unknown_keys`): a ``proft`` ignored stored the close with a
#: profit of 0.
CLOSE_KEYS = frozenset(("reason", "profit", "realised_profit", "closed_at", "close_price"))
#: the optional close fields whose silent loss changes money or risk: the profit; the
#: time, which dates the loss of a day (the account's daily loss rail); the close price.
#: Not ``reason``: lost, the close is labelled ``closed``, nothing more.
CLOSE_GUARDED = Guarded.of(("profit", "realised_profit"), ("closed_at",), ("close_price",))


def _profit(body: Mapping[str, Any]) -> float:
    """``profit``, or its alias ``realised_profit``: both given and different is a 400
    naming both (which one the trade closed with would be a guess). Default 0."""
    profit = _number(body, "profit", default=None)
    realised = _number(body, "realised_profit", default=None)
    if profit is not None and realised is not None and profit != realised:
        raise FieldError("realised_profit", f"differs from profit ({realised!r} != {profit!r})")
    return (profit if profit is not None else realised) or 0.0


def parse_closed(ticket: int, body: object) -> ClosedReport:
    """``{reason, profit, closed_at?, close_price?}``; a 400 names the bad field."""
    if not isinstance(body, Mapping):
        raise not_an_object("body", body)
    check_text(body)
    refuse_look_alikes(body, CLOSE_KEYS, CLOSE_GUARDED)
    reason = body.get("reason", "closed")
    if (
        not isinstance(reason, str)
        or not re.search(limits.PRINTED_CHAR, reason)
        or len(reason) > MAX_REASON_CHARS
    ):
        raise FieldError(
            "reason",
            f"expected a string of 1..{MAX_REASON_CHARS} characters, not all spaces or"
            f" control characters, got {show(reason)}",
        )
    profit = _profit(body)
    price = _number(body, "close_price", default=None, positive=True)
    if price is not None and price <= 0:
        raise FieldError("close_price", f"must be > 0, got {show(price)}")
    return ClosedReport(
        ticket=ticket,
        reason=reason.strip(),
        profit=profit,
        closed_at=parse_time(body.get("closed_at"), "closed_at"),
        close_price=price,
        sent=frozenset(_sent(body)),
    )


def _sent(body: Mapping[str, Any]) -> list[str]:
    """The close fields ``body`` carries (not null); ``realised_profit`` is ``profit``."""
    names = [n for n in ("reason", "closed_at", "close_price") if body.get(n) is not None]
    if body.get("profit") is not None or body.get("realised_profit") is not None:
        names.append("profit")
    return names


def opening_time(record: Mapping[str, Any]) -> datetime | None:
    """When the record says its trade opened (a time without an offset is read as UTC,
    as the engine writes them); None when it has no readable one."""
    nested = record.get("trade")
    fields = nested if isinstance(nested, Mapping) else record
    opened = fields.get("opened_at")
    try:
        opened_at = datetime.fromisoformat(opened) if isinstance(opened, str) else None
    except ValueError:
        return None
    if opened_at is not None and opened_at.tzinfo is None:
        opened_at = opened_at.replace(tzinfo=UTC)
    return opened_at


def check_close_time(record: Mapping[str, Any], closed: ClosedReport) -> None:
    """:class:`CloseConflict` when the close is reported as before the trade opened."""
    opened_at = opening_time(record)
    if closed.closed_at is not None and opened_at is not None and closed.closed_at < opened_at:
        raise CloseConflict(
            "closed_at",
            f"{closed.closed_at.isoformat()} is before the trade opened ({opened_at.isoformat()})",
        )


def not_before_opening(record: Mapping[str, Any], now: datetime) -> datetime:
    """A close time the server picks (the client gave none): ``now``, or the trade's
    opening when that is later (a paper account's data clock can be years behind the
    wall clock a client dated the opening by)."""
    opened_at = opening_time(record)
    return max(now, opened_at) if opened_at is not None else now


def has_outcome(record: Mapping[str, Any] | None) -> bool:
    """The record is CLOSED with its outcome (a report's, or its engine's): a close
    reported now changes nothing."""
    return (
        record is not None
        and record_state(record) == DefensiveState.CLOSED.value
        and record.get("realised_profit") is not None
    )


def closed_trade(record: Mapping[str, Any], closed: ClosedReport, at: datetime) -> Trade | None:
    """The position as it closed, from the record, for ``on_trade_closed``; None when the
    record lacks what a Trade needs (another writer's record)."""
    nested = record.get("trade")
    fields = nested if isinstance(nested, Mapping) else record
    try:
        opened = fields.get("opened_at")
        return Trade(
            ticket=closed.ticket,
            symbol=str(fields["symbol"]),
            direction=parse_direction(str(fields["direction"])),
            volume=float(fields["volume"]),
            entry_price=float(fields["entry_price"]),
            stop_loss=fields.get("stop_loss") or None,
            take_profit=fields.get("take_profit") or None,
            opened_at=datetime.fromisoformat(opened) if isinstance(opened, str) else at,
            profit=closed.profit,
            close_price=closed.close_price,
            closed_at=at,
        )
    except (KeyError, TypeError, ValueError, DataError):
        return None


def mark_closed(record: Mapping[str, Any], closed: ClosedReport, at: datetime) -> dict[str, Any]:
    """The record, CLOSED with the outcome, in the engine record's own key names."""
    return {
        **record,
        "state": DefensiveState.CLOSED.value,
        "state_entered_at": at.isoformat(),
        "closed_at": at.isoformat(),
        "close_reason": closed.reason,
        "realised_profit": closed.profit,
        "close_price": closed.close_price,
    }


def recorded_close_time(record: Mapping[str, Any]) -> datetime | None:
    """When the record says its position closed (the engine's own close, when it saw
    the position gone); None when it has no readable close time."""
    text = record.get("closed_at")
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def closed_by_engine(record: Mapping[str, Any]) -> bool:
    """Whether the server's engine closed the position itself: the record's journal has
    a ``close`` done."""
    journal = record.get("journal")
    return isinstance(journal, list) and any(
        isinstance(e, Mapping) and e.get("kind") == "close" and e.get("status") == "done"
        for e in journal
    )


def as_reported(record: Mapping[str, Any], closed: ClosedReport) -> ClosedReport:
    """The report as the record keeps it. A close the server's engine made keeps its own
    reason (:data:`ENGINE_CLOSE_REASON`): the client names it after the phase of its loop
    that found the position gone (``external``: none of its plugins acted), which says
    nothing of who closed it. Its profit, time and price still fill in what the record
    lacks (the engine's own close has no profit until a report brings it)."""
    if closed.reason == ENGINE_CLOSE_REASON or not closed_by_engine(record):
        return closed
    return replace(closed, reason=ENGINE_CLOSE_REASON)


def as_the_broker_closed(
    record: Mapping[str, Any],
    closed: ClosedReport,
    at_broker: tuple[Trade, CloseReason | None] | None,
) -> ClosedReport:
    """The report with what the broker's history says of the close (``at_broker``), when
    it is this trade's (not dated before it opened): its time, price and profit, and its
    reason when it names one. The broker is the truth (docs/dtms.md §8): a report sent
    the moment a position closed (a bot watching the account) came before the engine had
    read the close, and its empty body made a stop-out's loss a profit of 0, for the
    account's rails and ``dtms export``. The report as it is when the broker has no such
    close (it cannot say, or it lists the position open)."""
    if at_broker is None:
        return closed
    trade, why = at_broker
    opened = opening_time(record)
    if trade.closed_at is None or (opened is not None and trade.closed_at < opened):
        return closed
    return replace(
        closed,
        reason=why or closed.reason,
        profit=trade.profit,
        closed_at=trade.closed_at,
        close_price=trade.close_price if trade.close_price is not None else closed.close_price,
    )


def close_not_applied(record: Mapping[str, Any], closed: ClosedReport) -> dict[str, dict[str, Any]]:
    """The fields a report of a close already kept sent otherwise than the record keeps
    them (``{"profit": {"sent": -99.0, "kept": 25.0}}``), as a repeated registration
    lists its own (:func:`.views.not_applied`): the first outcome stands, and a client
    that sent another profit is told so instead of believing it recorded. Only the fields
    it sent; a reason the record keeps by rule (a close the engine made:
    :func:`as_reported`) is no difference."""
    fields = trade_fields(record)

    def kept(key: str) -> Any:
        return record.get(key, fields.get(key))

    out: dict[str, dict[str, Any]] = {}
    if "reason" in closed.sent and as_reported(record, closed).reason != kept("close_reason"):
        out["reason"] = {"sent": closed.reason, "kept": kept("close_reason")}
    if "profit" in closed.sent and _differs(closed.profit, kept("realised_profit")):
        out["profit"] = {"sent": closed.profit, "kept": kept("realised_profit")}
    at = recorded_close_time(record)
    at = at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
    if closed.closed_at is not None and closed.closed_at != at:
        out["closed_at"] = {"sent": closed.closed_at.isoformat(), "kept": kept("closed_at")}
    if closed.close_price is not None and _differs(closed.close_price, kept("close_price")):
        out["close_price"] = {"sent": closed.close_price, "kept": kept("close_price")}
    return out


def _differs(sent: float, kept: object) -> bool:
    """``sent`` is not the number kept (within a float's rounding), or none is kept."""
    if isinstance(kept, bool) or not isinstance(kept, int | float):
        return True
    return abs(sent - kept) > 1e-9 * max(1.0, abs(kept))
