"""Request parsing: turn what a client sent into typed values, or a 400 naming the field.

The original DTMS clients send tickets as numbers or as digit strings, directions in any
case and the entry price as ``entry``; all of those are accepted here so that existing
clients keep working, and normalised so that ``"7"`` and ``7`` are one trade.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hookspecs import DataError, Direction, parse_direction

from . import limits
from .errors import ClockConflict


class FieldError(ValueError):
    """One field of a request is wrong; ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


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


def show(value: object) -> str:
    """``repr(value)`` cut to a readable length: an error message echoes what was sent,
    never 60 KiB of it."""
    if isinstance(value, limits.LongNumber):
        return f"<a number of {len(value)} characters>"
    text = repr(value) if isinstance(value, str | int | float | bool | None) else None
    if text is None:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limits.SHOWN_CHARS else text[: limits.SHOWN_CHARS] + "…"


def parse_ticket(value: object, field: str = "ticket") -> int:
    """An int in 1 .. ``limits.MAX_TICKET``, or a string of ASCII digits (``"7"``, spaces
    around allowed); bools and floats are refused. The bounds and the string form are
    exactly those of the OpenAPI document (``limits.TICKET_PATTERN``)."""
    if isinstance(value, bool):
        raise FieldError(field, f"expected a positive integer, got {show(value)}")
    if isinstance(value, limits.LongNumber):
        raise FieldError(field, f"too large: {show(value)}")
    if isinstance(value, int):
        ticket = value
    elif isinstance(value, float) and value.is_integer():  # JSON Schema: 7.0 is an integer
        ticket = int(value)
    elif isinstance(value, str) and re.fullmatch(limits.TICKET_PATTERN, value):
        ticket = int(value.strip(limits.SPACES))
    elif (
        isinstance(value, str)
        and value.strip(limits.SPACES).isascii()
        and (value.strip(limits.SPACES).isdigit())
    ):
        digits = value.strip(limits.SPACES).lstrip("0")
        if not digits:
            raise FieldError(field, f"must be > 0, got {show(value)}")
        raise FieldError(field, f"too large: {show(value)}")
    else:
        raise FieldError(field, f"expected a positive integer, got {show(value)}")
    if ticket <= 0:
        raise FieldError(field, f"must be > 0, got {show(value)}")
    if ticket > limits.MAX_TICKET:
        raise FieldError(field, f"too large: {show(value)}")
    return ticket


def parse_ticket_text(text: str, field: str = "ticket") -> int:
    """A ticket in a path or a query string: ASCII digits only, nothing around them, as
    the document's ``integer`` says."""
    if not (text.isascii() and text.isdigit()):
        raise FieldError(field, f"expected a positive integer, got {show(text)}")
    return parse_ticket(text, field)


def parse_ticket_list(text: str | None, *, limit: int, field: str = "tickets") -> list[int]:
    """``"1,2,3"`` → ``[1, 2, 3]`` (order kept, duplicates dropped, empty parts skipped)."""
    if text is None or not text.strip(limits.SPACES):
        raise FieldError(field, "expected a comma-separated list of tickets, e.g. tickets=1,2,3")
    out: dict[int, None] = {}
    for part in text.split(","):
        if not part.strip(limits.SPACES):
            continue
        try:
            out[parse_ticket(part, field)] = None
        except FieldError:
            raise FieldError(field, f"not a ticket: {show(part.strip())}") from None
    if not out:
        raise FieldError(field, "expected at least one ticket")
    if len(out) > limit:
        raise FieldError(field, f"at most {limit} tickets per request, got {len(out)}")
    return list(out)


def parse_limit(text: str | None, *, default: int, maximum: int, field: str = "limit") -> int:
    """An integer >= 1 (absent: ``default``); more than ``maximum`` is read as
    ``maximum`` (the document says so), however many digits it has. An empty ``limit=``
    is no integer: a 400, as the document's ``integer`` says."""
    if text is None:
        return default
    stripped = text
    if not (stripped.isascii() and stripped.isdigit()) or not stripped.lstrip("0"):
        raise FieldError(field, f"expected an integer >= 1, got {show(text)}")
    if len(stripped.lstrip("0")) > len(str(maximum)):
        return maximum
    return min(int(stripped), maximum)


def parse_offset(text: str | None, *, field: str = "offset") -> int:
    """An integer >= 0 (absent: 0), however many digits: past the end is an empty page."""
    if text is None:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise FieldError(field, f"expected an integer >= 0, got {show(text)}")
    digits = text.lstrip("0")
    return limits.MAX_TICKET if len(digits) > len(str(limits.MAX_TICKET)) else int(digits or 0)


def _positive_number(body: Mapping[str, Any], field: str) -> float:
    """A number in (0, ``limits.MAX_NUMBER``]: an int of 400 digits or ``1e400`` is a
    400 naming the field, never an OverflowError."""
    if field not in body:
        raise FieldError(field, "required")
    value = body.get(field)
    if isinstance(value, limits.LongNumber):
        raise FieldError(field, f"too large: {show(value)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, f"expected a number, got {show(value)}")
    if isinstance(value, int) and abs(value) > limits.MAX_NUMBER:
        raise FieldError(field, f"must be <= {limits.MAX_NUMBER:g}, got {show(value)}")
    if not math.isfinite(value):
        raise FieldError(field, f"expected a finite number, got {show(value)}")
    if value <= 0:
        raise FieldError(field, f"must be > 0, got {show(value)}")
    if value > limits.MAX_NUMBER:
        raise FieldError(field, f"must be <= {limits.MAX_NUMBER:g}, got {show(value)}")
    return float(value)


def _optional_price(body: Mapping[str, Any], field: str) -> float | None:
    """Absent, null and 0 all mean "no level" (MetaTrader reports an unset SL as 0.0)."""
    value = body.get(field)
    if value is None or (not isinstance(value, bool) and value == 0):
        return None
    return _positive_number(body, field)


def parse_time(value: object, field: str = "opened_at") -> datetime | None:
    """An ISO 8601 time with a timezone, in years ``limits.OPENED_AT_YEARS`` once in UTC
    (``0001-01-01T00:00+14:00`` is before year 1 in UTC: a 400, not an OverflowError)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limits.MAX_TIME_CHARS:
        raise FieldError(field, f"expected an ISO 8601 time, got {show(value)}")
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(field, f"expected an ISO 8601 time, got {show(value)}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise FieldError(field, f"needs a timezone (e.g. {value}Z or +00:00), got {show(value)}")
    first, last = limits.OPENED_AT_YEARS
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not first <= utc.year <= last:
        raise FieldError(field, f"must be in the years {first}..{last} in UTC, got {show(value)}")
    return utc


#: how far ahead of the server's clock a reported time may be: a client's clock that runs
#: fast, or a paper host under ``--speed`` a little ahead of the server reading its file
MAX_AHEAD = timedelta(days=1)


def check_not_ahead(field: str, at: datetime | None, clock_now: datetime) -> None:
    """A :class:`~.errors.ClockConflict` when ``at`` is more than :data:`MAX_AHEAD` after both the
    server's clock (a paper account's data clock, which may run ahead of the wall's) and
    the wall clock (a replayed past, behind it). A trade opened or closed next year is a
    client's mistake: kept, it would never arm, or outlive its retention."""
    if at is None:
        return
    latest = max(clock_now, datetime.now(UTC))
    if at > latest + MAX_AHEAD:
        raise ClockConflict(
            field,
            f"{at.isoformat()} is more than a day ahead of the server's clock "
            f"({latest.isoformat(timespec='seconds')})",
        )


def _direction(value: object) -> Direction:
    """buy or sell in any case, ASCII spaces around allowed: exactly the document's
    pattern, then the contract's own parser."""
    if not isinstance(value, str) or not re.fullmatch(limits.DIRECTION_PATTERN, value):
        raise FieldError("direction", f"expected 'buy' or 'sell', got {show(value)}")
    try:
        return parse_direction(value)
    except DataError as exc:  # pragma: no cover - the pattern admits only buy and sell
        raise FieldError("direction", str(exc).split(": ", 1)[-1]) from None


def _symbol(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(limits.SYMBOL_PATTERN, value):
        raise FieldError(
            "symbol",
            f"expected a symbol name (1 to {limits.MAX_SYMBOL_CHARS} printable ASCII"
            f" characters, no spaces), got {show(value)}",
        )
    return value.strip(limits.SPACES)


def check_text(value: Any, where: str = "") -> None:
    """A 400 naming the field whose string is no Unicode text: JSON's ``\\ud800`` escape
    (half a surrogate pair, which Python's ``json`` sends for a lone surrogate) decodes
    to a string that no UTF-8 store or reply can hold, so one such comment would fail
    every later write of the trade's record."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise FieldError(
                    path or "body", "not Unicode text (a lone surrogate escape such as \\ud800)"
                ) from None
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{path}.{key}" if path else str(key)
                stack.append((path or "body", key))
                stack.append((name, sub))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", sub) for i, sub in enumerate(item))


def parse_registration(body: object) -> Registration:
    """Validate ``POST /dtms/trade/enable``. Fields in the order a client would fix them."""
    if not isinstance(body, Mapping):
        raise FieldError("body", f"expected a JSON object, got {type(body).__name__}")
    check_text(body)
    if "ticket" not in body:
        raise FieldError("ticket", "required")
    ticket = parse_ticket(body["ticket"])
    symbol = _symbol(body.get("symbol"))
    direction = _direction(body.get("direction"))
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
    if isinstance(magic, float) and magic.is_integer() and abs(magic) <= limits.MAX_MAGIC:
        magic = int(magic)  # JSON Schema: 7.0 is an integer
    if isinstance(magic, bool) or not isinstance(magic, int | limits.LongNumber):
        raise FieldError("magic", f"expected an integer, got {show(magic)}")
    if isinstance(magic, limits.LongNumber) or not limits.MIN_MAGIC <= magic <= limits.MAX_MAGIC:
        raise FieldError(
            "magic", f"must be in {limits.MIN_MAGIC}..{limits.MAX_MAGIC}, got {show(magic)}"
        )
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise FieldError("comment", f"expected a string, got {show(comment)}")
    return Registration(
        ticket=ticket,
        symbol=symbol,
        direction=direction,
        entry_price=entry,
        volume=volume,
        stop_loss=stop_loss,
        take_profit=take_profit,
        opened_at=parse_time(body.get("opened_at")),
        magic=magic,
        comment=comment,
    )
