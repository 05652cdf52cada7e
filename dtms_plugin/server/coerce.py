"""Numbers and times as clients send them: JSON numbers, or the same as plain text.

Why text too: clients written for the original DTMS (and anything that builds its body
from a form, a spreadsheet or a terminal's string fields) send ``"2000.5"`` as readily as
``2000.5``. A ticket was already taken either way; every other number is read the same
way, so no field refuses what its neighbour accepts (docs/client.md, "Registering").
A decimal may carry an exponent (``"5.551115123125783e-17"``: Python's ``str`` of a
small float, which such clients send as they got it). What is no decimal (``"abc"``,
``""``, ``NaN``, ``inf``) is a 400 naming the field, never a guess.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from hookspecs.timeframes import epoch_seconds

from . import limits


class FieldError(ValueError):
    """One field of a request is wrong; ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def show(value: object) -> str:
    """``repr(value)`` cut to a readable length: an error message echoes what was sent,
    never 60 KiB of it."""
    if isinstance(value, limits.LongNumber):
        return f"<a number of {len(value)} characters>"
    text = repr(value) if isinstance(value, str | int | float | bool | None) else None
    if text is None:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limits.SHOWN_CHARS else text[: limits.SHOWN_CHARS] + "…"


def not_an_object(field: str, value: object) -> FieldError:
    """The 400 of a body, or a batch's item, that is not a JSON object: what it is, in
    JSON's words (``got an array``), the one wording of every route."""
    return FieldError(field, f"expected a JSON object, got {json_kind(value)}")


def json_kind(value: object) -> str:
    """What JSON calls ``value``'s kind: an array, a string, a number, a boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | limits.LongNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def key_name(key: str) -> str:
    """A key of the body as an answer names it (its ``field``): cut to a readable length,
    as :func:`show` cuts a value."""
    return key if len(key) <= limits.SHOWN_CHARS else key[: limits.SHOWN_CHARS] + "…"


_WS = "[ \\t\\r\\n]*"
#: A decimal as text: a sign, at most 40 digits, an optional fraction and exponent.
DECIMAL_PATTERN = f"^{_WS}[+-]?[0-9]{{1,40}}(?:\\.[0-9]{{1,40}})?(?:[eE][+-]?[0-9]{{1,3}})?{_WS}$"
INTEGER_PATTERN = f"^{_WS}[+-]?[0-9]{{1,40}}{_WS}$"
_DECIMAL = re.compile(DECIMAL_PATTERN)
_INTEGER = re.compile(INTEGER_PATTERN)


def number(value: object, field: str, *, positive: bool = False) -> float:
    """A finite JSON number, or a plain decimal string, within ±``limits.MAX_NUMBER``.
    ``positive``: the field's rule is (0, ``limits.MAX_NUMBER``] (a price, a volume), as
    a refusal for size says; the caller refuses 0 and below."""
    if isinstance(value, limits.LongNumber):
        raise FieldError(field, f"too large: {show(value)}")
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        value = float(value.strip(limits.SPACES))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, f"expected a number (or a string of one), got {show(value)}")
    if isinstance(value, int) and abs(value) > limits.MAX_NUMBER:
        raise FieldError(field, f"{_within(positive)}, got {show(value)}")
    if not math.isfinite(value):
        raise FieldError(field, f"expected a finite number, got {show(value)}")
    if abs(value) > limits.MAX_NUMBER:
        raise FieldError(field, f"{_within(positive)}, got {show(value)}")
    return float(value)


def _within(positive: bool) -> str:
    """The rule a number out of range broke, both of its bounds: "must be <= 1e+12" said
    of a profit of -1e15 named a bound it was under."""
    if positive:
        return f"must be > 0 and <= {limits.MAX_NUMBER:g}"
    return f"must be between {-limits.MAX_NUMBER:g} and {limits.MAX_NUMBER:g}"


def integer(value: object, field: str, low: int, high: int) -> int:
    """An integer in ``low .. high``: a JSON integer, a float with no fraction (JSON
    Schema's 7.0 is an integer), or a string of digits."""
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value.strip(limits.SPACES))
    if isinstance(value, float) and value.is_integer() and abs(value) <= max(-low, high):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | limits.LongNumber):
        raise FieldError(field, f"expected an integer, got {show(value)}")
    if isinstance(value, limits.LongNumber) or not low <= value <= high:
        raise FieldError(field, f"must be in {low}..{high}, got {show(value)}")
    return value


def _epoch(value: float, field: str, shown: object) -> datetime:
    """Unix time in seconds, milliseconds (what JavaScript's ``Date.now()`` and many
    exchanges send) or microseconds, told by its size (``epoch_seconds``)."""
    seconds = epoch_seconds(value)
    first, last = limits.OPENED_AT_YEARS
    if seconds < 0:
        raise FieldError(field, f"must not be before 1970-01-01 (Unix time 0), got {show(shown)}")
    try:
        at = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        at = None
    if at is None or at.year > last:
        raise FieldError(field, f"must be in the years {first}..{last} in UTC, got {show(shown)}")
    return at


def time(value: object, field: str) -> datetime | None:
    """ISO 8601 (``Z`` or ``z`` for UTC; without an offset, UTC: the API's times are all
    UTC, docs/client.md), or Unix time as a number or a string of one (seconds,
    milliseconds or microseconds, told by its size); None: absent.
    Years ``limits.OPENED_AT_YEARS`` once in UTC (``0001-01-01T00:00+14:00`` is before
    year 1 in UTC: a 400, not an OverflowError)."""
    if value is None:
        return None
    if isinstance(value, limits.LongNumber):
        raise FieldError(field, f"too large: {show(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise FieldError(field, f"expected a finite Unix time, got {show(value)}")
        return _epoch(float(value), field, value)
    if not isinstance(value, str) or len(value) > limits.MAX_TIME_CHARS:
        raise FieldError(field, f"expected an ISO 8601 time or Unix seconds, got {show(value)}")
    text = value.strip(limits.SPACES)
    if _DECIMAL.fullmatch(text):
        return _epoch(float(text), field, value)
    if text.endswith("z"):
        text = text[:-1] + "Z"
    if _date_only(text):  # the time of day would be a guess: midnight UTC is not "when"
        raise FieldError(
            field,
            f"a date without a time of day ({show(value)}); send a time, as 2024-01-04T09:30Z",
        )
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field, f"expected an ISO 8601 time, got {show(value)}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        at = at.replace(tzinfo=UTC)  # the original's clients send datetime.isoformat()
    first, last = limits.OPENED_AT_YEARS
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is not None and utc.year < first:
        raise FieldError(field, f"must not be before 1970-01-01, got {show(value)}")
    if utc is None or not first <= utc.year <= last:
        raise FieldError(field, f"must be in the years {first}..{last} in UTC, got {show(value)}")
    return utc


def _date_only(text: str) -> bool:
    """A date and no time (``2024-01-04``, ``20240104``): refused, as the public client
    refuses a ``datetime.date`` (docs/client.md): an opening read as midnight UTC arms
    the trade and dates its close hours off, and the document's ``date-time`` wants a
    time."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
