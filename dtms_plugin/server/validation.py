"""Request parsing: turn what a client sent into typed values, or a 400 naming the field.

The original DTMS clients send tickets as numbers or as digit strings, directions in any
case and the entry price as ``entry``; all of those are accepted here so that existing
clients keep working, and normalised so that ``"7"`` and ``7`` are one trade.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hookspecs import Clock, DataError, Direction, StandingClock, parse_direction

from . import coerce, limits
from .aliases import ALIASES, aliased
from .coerce import FieldError, not_an_object, show
from .comments import parse_comment
from .errors import ClockConflict
from .unknown_keys import Guarded, refuse_look_alikes

__all__ = [
    "REGISTRATION_KEYS",
    "FieldError",
    "Registration",
    "UnknownSymbol",
    "parse_registration",
    "show",
]


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
    volume: float | None  # None: the broker's position's (registering.py takes it)
    stop_loss: float | None
    take_profit: float | None
    opened_at: datetime | None  # None: the server's clock at registration
    magic: int = 0
    comment: str = ""
    #: False when ``volume`` was not sent and was taken at registration (the broker's
    #: position's, or the kept trade's): a repeat does not report it as not applied
    volume_sent: bool = True
    #: sent by a trading host on its own (``automatic: true``), not by a person or a
    #: program's decision: it does not undo an unregistration (unregistering.py)
    automatic: bool = False
    #: aliases sent beside their field with another value, which lost to it: named in
    #: the answer's ``ignored`` (:func:`known_keys`)
    overridden: tuple[str, ...] = ()


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
    if len(digits) > len(str(limits.MAX_TICKET)):
        return limits.MAX_TICKET
    return min(int(digits or 0), limits.MAX_TICKET)


def parse_after(text: str | None, *, field: str = "after") -> int | None:
    """``after`` of ``GET /dtms/trades``: a ticket (the last one of the page read), or
    ``0`` for the first page; None when absent. Digits only, as a ticket in a query."""
    if text is None:
        return None
    if text.isascii() and text.isdigit() and not text.lstrip("0"):
        return 0
    return parse_ticket_text(text, field)


def _positive_number(body: Mapping[str, Any], field: str) -> float:
    """A number in (0, ``limits.MAX_NUMBER``], or a plain decimal string of one: an int
    of 400 digits or ``1e400`` is a 400 naming the field, never an OverflowError."""
    if field not in body:
        raise FieldError(field, "required")
    value = coerce.number(body.get(field), field, positive=True)
    if value <= 0:
        raise FieldError(field, f"must be > 0, got {show(body.get(field))}")
    return value


def _volume(body: Mapping[str, Any]) -> float | None:
    """The volume in lots; absent, null or 0 (the original's default, which its example
    client sends): None, the broker's position's volume, taken at registration. A
    negative one is a 400, never a guess."""
    value = body.get("volume")
    if value is None or (not isinstance(value, bool) and value == 0):
        return None
    if isinstance(value, str) and coerce.number(value, "volume") == 0:
        return None
    return _positive_number(body, "volume")


def _optional_price(body: Mapping[str, Any], field: str) -> float | None:
    """Absent, null and 0 all mean "no level" (MetaTrader reports an unset SL as 0.0)."""
    value = body.get(field)
    if value is None or (not isinstance(value, bool) and value == 0):
        return None
    if isinstance(value, str) and coerce.number(value, field) == 0:
        return None
    return _positive_number(body, field)


def parse_time(value: object, field: str = "opened_at") -> datetime | None:
    """ISO 8601 with a timezone, or Unix time (:func:`.coerce.time`); None: absent."""
    return coerce.time(value, field)


#: how far ahead of the server's clock a reported time may be: a client's clock that runs
#: fast, or a paper host under ``--speed`` a little ahead of the server reading its file
MAX_AHEAD = timedelta(days=1)

#: the clock :func:`check_not_ahead` names when it is a paper account's: the newest quote
#: the trading host wrote to the account file, which may be years behind the wall's
ACCOUNT_CLOCK = "the account's clock (paper, its data's time)"


def check_not_ahead(field: str, at: datetime | None, clock: Clock | datetime) -> None:
    """A :class:`~.errors.ClockConflict` when ``at`` is more than :data:`MAX_AHEAD` ahead of
    the server's clock, naming the clock it was judged by.

    On a paper account (``clock`` a :class:`hookspecs.StandingClock`: ``dtms serve``'s
    clock is the account file's data clock) that clock alone: a time dated by the wall
    clock, years ahead of the account's data, put a loss on a day the daily-loss rail
    never reaches, or an opening after every close the host will report (docs/client.md,
    "Reporting a close"). :data:`MAX_AHEAD` covers a paper host under ``--speed`` a little
    ahead of the server reading its file. Otherwise (a live broker's server, whose clock
    is the wall's; or a clock given as its time) the later of that clock and the wall
    clock. A trade opened or closed next year is a client's mistake: kept, it would never
    arm, or outlive its retention."""
    if at is None:
        return
    if isinstance(clock, datetime):
        now, paper = clock, False
    else:
        now, paper = clock.now(), isinstance(clock, StandingClock)
    if paper:
        latest, named = now, ACCOUNT_CLOCK
    else:
        wall = datetime.now(UTC)
        latest = max(now, wall)
        named = "the server's wall clock" if latest == wall else "the server's clock"
    if at > latest + MAX_AHEAD:  # the way out said: a client dating by its wall clock
        by = "the account's clock" if paper else "its own clock"
        raise ClockConflict(
            field,
            f"{at.isoformat()} is more than a day ahead of {named} "
            f"({latest.isoformat(timespec='seconds')}); leave {field} out and the server"
            f" dates it by {by}",
        )


#: ``type`` as the original's clients send a MetaTrader position's: its number as text,
#: or the constant's name
TYPE_NAMES: dict[str, Direction] = {
    "0": "buy",
    "1": "sell",
    "POSITION_TYPE_BUY": "buy",
    "POSITION_TYPE_SELL": "sell",
}


def _direction(body: Mapping[str, Any], field: str) -> Direction:
    """buy or sell in any case, ASCII spaces around allowed: exactly the document's
    pattern, then the contract's own parser; under the alias ``type``, MetaTrader's
    0 (buy) and 1 (sell) too, as numbers or text, and by name (:data:`TYPE_NAMES`)."""
    value = body.get(field)
    if value is None:
        raise FieldError(field, "required (buy or sell)")
    if field == "type" and value.__class__ is int and value in (0, 1):
        return "buy" if value == 0 else "sell"  # a MetaTrader position's POSITION_TYPE_*
    if field == "type" and isinstance(value, str) and value in TYPE_NAMES:  # text, or by name
        return TYPE_NAMES[value]
    if not isinstance(value, str) or not re.fullmatch(limits.DIRECTION_PATTERN, value):
        raise FieldError(field, f"expected 'buy' or 'sell', got {show(value)}")
    try:
        return parse_direction(value)
    except DataError as exc:  # pragma: no cover - the pattern admits only buy and sell
        raise FieldError(field, str(exc).split(": ", 1)[-1]) from None


def _symbol(body: Mapping[str, Any]) -> str:
    if "symbol" not in body or body["symbol"] is None:
        raise FieldError("symbol", "required")
    value = body["symbol"]
    if not isinstance(value, str) or not re.fullmatch(limits.SYMBOL_PATTERN, value):
        raise FieldError(
            "symbol",
            f"expected a symbol name (1 to {limits.MAX_SYMBOL_CHARS} printable ASCII"
            f" characters, no spaces), got {show(value)}",
        )
    return value.strip(limits.SPACES)


def symbol_spellings(symbol: str) -> tuple[str, ...]:
    """The names ``symbol`` stands for: as sent, else in upper or in lower case. A
    registration is kept under the broker's one symbol among them (``xauusd`` is
    ``XAUUSD``: :meth:`.registering.Registering._symbol_info`), so ``GET /dtms/trades``'s
    ``symbol`` filter finds a trade by each of them too: the one definition of both."""
    return tuple(dict.fromkeys((symbol, symbol.upper(), symbol.lower())))


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


#: every key a registration is read from: the fields and their aliases. Any other key is
#: ignored (a newer client's, or one the original's clients send), unless it looks like
#: one of :data:`REGISTRATION_GUARDED` and the body has not that field (:mod:`.unknown_keys`).
REGISTRATION_KEYS: frozenset[str] = frozenset(
    (
        "ticket",
        "symbol",
        *ALIASES["direction"],
        *ALIASES["entry"],
        "volume",
        *ALIASES["stop_loss"],
        *ALIASES["take_profit"],
        *ALIASES["opened_at"],
        "magic",
        "comment",
        "automatic",
    )
)
#: the optional registration fields whose silent loss changes risk: a trade kept without
#: its stop or target, or dated now instead of when it opened
REGISTRATION_GUARDED = Guarded.of(
    ALIASES["stop_loss"], ALIASES["take_profit"], ALIASES["opened_at"]
)


def known_keys(reg: Registration) -> frozenset[str]:
    """The keys of ``reg``'s body that were read: all of :data:`REGISTRATION_KEYS` but
    the aliases that lost to their field (so the answer lists them as ignored)."""
    return REGISTRATION_KEYS - frozenset(reg.overridden) if reg.overridden else REGISTRATION_KEYS


def parse_registration(body: object, where: str = "body") -> Registration:
    """Validate ``POST /dtms/trade/enable``. Fields in the order a client would fix them.
    Keys it does not know are left alone (a newer client's extra fields), unless one
    looks like a guarded field the body lacks (``stoploss`` without ``stop_loss``: the
    trade would be kept without its stop); the
    aliases of :data:`ALIASES` are read as their field. ``where``: what a body that is
    no object is named by (a batch's item: ``trades[1]``)."""
    if not isinstance(body, Mapping):
        raise not_an_object(where, body)
    check_text(body)
    refuse_look_alikes(body, REGISTRATION_KEYS, REGISTRATION_GUARDED)
    if "ticket" not in body:
        raise FieldError("ticket", "required")
    ticket = parse_ticket(body["ticket"])
    symbol = _symbol(body)
    overridden: list[str] = []
    direction = aliased(body, "direction", lambda name: _direction(body, name), overridden)
    if direction is None:
        raise FieldError("direction", "required (buy or sell; or its alias type)")
    entry = aliased(body, "entry", lambda name: _positive_number(body, name), overridden)
    if entry is None:
        raise FieldError("entry", "required (or its alias entry_price or open_price)")
    volume = _volume(body)
    stop_loss = aliased(body, "stop_loss", lambda n: _optional_price(body, n), overridden)
    take_profit = aliased(body, "take_profit", lambda n: _optional_price(body, n), overridden)
    opened_at = aliased(body, "opened_at", lambda n: parse_time(body.get(n), n), overridden)
    magic = coerce.integer(body.get("magic", 0), "magic", limits.MIN_MAGIC, limits.MAX_MAGIC)
    comment = parse_comment(body)
    automatic = body.get("automatic", False)
    if not isinstance(automatic, bool):
        raise FieldError("automatic", f"expected true or false, got {show(automatic)}")
    return Registration(
        ticket=ticket,
        symbol=symbol,
        direction=direction,
        entry_price=entry,
        volume=volume,
        stop_loss=stop_loss,
        take_profit=take_profit,
        opened_at=opened_at,
        magic=magic,
        comment=comment,
        automatic=automatic,
        overridden=tuple(overridden),
    )
