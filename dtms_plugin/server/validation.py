"""Request parsing: turn what a client sent into typed values, or a 400 naming the field.

The original DTMS clients send tickets as numbers or as digit strings, directions in any
case and the entry price as ``entry``; all of those are accepted here so that existing
clients keep working, and normalised so that ``"7"`` and ``7`` are one trade.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookspecs import DataError, Direction, parse_direction


class FieldError(ValueError):
    """One field of a request is wrong; ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownSymbol(FieldError):
    """The broker does not trade the symbol: registering it would be a trade the client
    believes defended while the engine can only log "no symbol rules" forever."""

    def __init__(self, symbol: str) -> None:
        ValueError.__init__(self, f"symbol {symbol!r}: the broker does not trade it")
        self.field = "symbol"


@dataclass(frozen=True, slots=True)
class Registration:
    ticket: int
    symbol: str
    direction: Direction
    entry_price: float
    volume: float
    stop_loss: float | None
    take_profit: float | None
    opened_at: datetime | None  # None: the server's clock at registration
    magic: int = 0
    comment: str = ""


def parse_ticket(value: object, field: str = "ticket") -> int:
    """An int > 0, or a string of digits (``"7"``); bools and floats are refused."""
    if isinstance(value, bool):
        raise FieldError(field, f"expected a positive integer, got {value!r}")
    if isinstance(value, int):
        ticket = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        ticket = int(value.strip())
    else:
        raise FieldError(field, f"expected a positive integer, got {value!r}")
    if ticket <= 0:
        raise FieldError(field, f"must be > 0, got {value!r}")
    if ticket >= 2**63:
        raise FieldError(field, f"too large: {value!r}")
    return ticket


def parse_ticket_list(text: str | None, *, limit: int, field: str = "tickets") -> list[int]:
    """``"1,2,3"`` → ``[1, 2, 3]`` (order kept, duplicates dropped)."""
    if text is None or not text.strip():
        raise FieldError(field, "expected a comma-separated list of tickets, e.g. tickets=1,2,3")
    out: dict[int, None] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            out[parse_ticket(part, field)] = None
        except FieldError:
            raise FieldError(field, f"not a ticket: {part.strip()!r}") from None
    if not out:
        raise FieldError(field, "expected at least one ticket")
    if len(out) > limit:
        raise FieldError(field, f"at most {limit} tickets per request, got {len(out)}")
    return list(out)


def parse_limit(text: str | None, *, default: int, maximum: int, field: str = "limit") -> int:
    if text is None or text == "":
        return default
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit()) or int(stripped) < 1:
        raise FieldError(field, f"expected an integer >= 1, got {text!r}")
    return min(int(stripped), maximum)


def _positive_number(body: Mapping[str, Any], field: str) -> float:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise FieldError(field, f"expected a finite number, got {value!r}")
    if value <= 0:
        raise FieldError(field, f"must be > 0, got {value!r}")
    return float(value)


def _optional_price(body: Mapping[str, Any], field: str) -> float | None:
    """Absent, null and 0 all mean "no level" (MetaTrader reports an unset SL as 0.0)."""
    value = body.get(field)
    if value is None or (not isinstance(value, bool) and value == 0):
        return None
    return _positive_number(body, field)


def _opened_at(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError("opened_at", f"expected an ISO 8601 time, got {value!r}")
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("opened_at", f"expected an ISO 8601 time, got {value!r}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise FieldError("opened_at", f"needs a timezone (e.g. {value}Z or +00:00), got {value!r}")
    return at.astimezone(UTC)


def parse_registration(body: object) -> Registration:
    """Validate ``POST /dtms/trade/enable``. Fields in the order a client would fix them."""
    if not isinstance(body, Mapping):
        raise FieldError("body", f"expected a JSON object, got {type(body).__name__}")
    if "ticket" not in body:
        raise FieldError("ticket", "required")
    ticket = parse_ticket(body["ticket"])
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        raise FieldError("symbol", f"expected a non-empty string, got {symbol!r}")
    try:
        direction = parse_direction(body.get("direction"))
    except DataError as exc:
        raise FieldError("direction", str(exc).split(": ", 1)[-1]) from None
    entry_field = "entry" if "entry" in body else "entry_price"
    if entry_field not in body:
        raise FieldError("entry", "required (or its alias entry_price)")
    entry = _positive_number(body, entry_field)
    if "entry" in body and "entry_price" in body:
        other = _positive_number(body, "entry_price")
        if other != entry:
            raise FieldError("entry_price", f"differs from entry ({other!r} != {entry!r})")
    volume = _positive_number(body, "volume")
    stop_loss = _optional_price(body, "stop_loss")
    take_profit = _optional_price(body, "take_profit")
    magic = body.get("magic", 0)
    if isinstance(magic, bool) or not isinstance(magic, int):
        raise FieldError("magic", f"expected an integer, got {magic!r}")
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise FieldError("comment", f"expected a string, got {comment!r}")
    return Registration(
        ticket=ticket,
        symbol=symbol.strip(),
        direction=direction,
        entry_price=entry,
        volume=volume,
        stop_loss=stop_loss,
        take_profit=take_profit,
        opened_at=_opened_at(body.get("opened_at")),
        magic=magic,
        comment=comment,
    )
