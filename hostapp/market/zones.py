"""The clocks a bar file's times may be written on (``--data-tz``, ``[host] data_tz``).

``UTC``, a fixed offset (``+02:00``), an IANA zone (``Europe/Athens``: daylight saving
included), or an IANA zone shifted by whole hours (:class:`ShiftedZone`): the "New York
close" server time many MetaTrader brokers run, ``America/New_York+7``, is UTC+2 in
winter and UTC+3 in summer, switching on the US's dates, so that every trading day opens
at 00:00 when New York's closes at 17:00. Europe/Athens has the same offsets but switches
on the EU's dates: the hour its clocks skip in spring is a real bar of such a file.

A time a clock skips (a change to summer time) was not written on that clock:
:func:`in_zone` refuses it (:class:`SkippedTimeError`), naming the New York close clock,
rather than read it as the next hour's instant, which made a real bar a "duplicate".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: the clock of a MetaTrader server on New York close time, as ``--data-tz`` takes it
NEW_YORK_CLOSE = "America/New_York+7"

_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?")
_SHIFTED = re.compile(r"(?P<zone>[A-Za-z][\w/+-]*?)(?P<sign>[+-])(?P<hours>\d{1,2})")


class SkippedTimeError(Exception):
    """A time written without an offset that the zone's clock never shows. Not a
    ``ValueError``: the parsers' fallbacks take those for a time written another way;
    the loaders turn this one into a :class:`~.csvrows.CsvError` naming its line."""


class ShiftedZone(tzinfo):
    """``base``'s clock, ``hours`` ahead, its daylight saving included: the clock reads
    ``base``'s time plus ``hours``, and changes when ``base``'s does."""

    def __init__(self, base: ZoneInfo, hours: int, name: str) -> None:
        self._base = base
        self._shift = timedelta(hours=hours)
        self._name = name

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        offset = self._base.utcoffset(self._on_base(dt))
        return None if offset is None else offset + self._shift

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None else self._base.dst(self._on_base(dt))

    def tzname(self, dt: datetime | None) -> str:
        return self._name

    def fromutc(self, dt: datetime) -> datetime:
        base = self._base.fromutc(dt.replace(tzinfo=self._base))
        shifted = base.replace(tzinfo=None) + self._shift
        return shifted.replace(tzinfo=self, fold=base.fold)

    def _on_base(self, dt: datetime) -> datetime:
        """The reading of ``base``'s clock when this one reads ``dt`` (its fold kept: the
        first or second time a clock change back shows it)."""
        return (dt.replace(tzinfo=None) - self._shift).replace(fold=dt.fold)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return parse_zone, (self._name,)

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"ShiftedZone({self._name!r})"


def parse_zone(text: str) -> tzinfo:
    """``UTC``, a fixed offset (``+02:00``, ``-5``, ``GMT+3``), an IANA name
    (``Europe/Athens``: daylight saving included) or one shifted by whole hours
    (``America/New_York+7``); ``ValueError`` naming what is accepted otherwise."""
    t = text.strip()
    if t.upper() in ("UTC", "GMT", "Z"):
        return UTC
    m = _OFFSET.fullmatch(t.upper())
    if m:
        hours, minutes = int(m[2]), int(m[3] or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"offset {text!r} is out of range")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if m[1] == "-" else delta)
    try:
        return ZoneInfo(t)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    shifted = _SHIFTED.fullmatch(t)
    if shifted:
        hours = int(shifted["hours"]) * (-1 if shifted["sign"] == "-" else 1)
        try:
            base = ZoneInfo(shifted["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            if abs(hours) > 23:
                raise ValueError(f"shift {text!r} is out of range (at most 23 hours)")
            return ShiftedZone(base, hours, t)
    raise ValueError(
        f"unknown time zone {text!r} (an IANA name like Europe/Athens, one shifted by whole "
        f"hours like {NEW_YORK_CLOSE} for New York close server time, or an offset like "
        "+02:00)"
    )


def in_zone(naive: datetime, zone: tzinfo) -> datetime:
    """A time read without an offset, written in ``zone``, as aware UTC; a
    :class:`SkippedTimeError` when ``zone``'s clock never shows it."""
    if zone is UTC:
        return naive.replace(tzinfo=UTC)
    local = naive.replace(tzinfo=zone)
    before, after = local.utcoffset(), local.replace(fold=1).utcoffset()
    if before is not None and after is not None and before < after:  # the clock jumps past it
        raise SkippedTimeError(skipped_message(naive, zone))
    return local.astimezone(UTC)


def skipped_message(naive: datetime, zone: tzinfo) -> str:
    """Why ``naive`` cannot be a time of ``zone`` and which clock it may be of."""
    said = f"time {naive:%Y-%m-%d %H:%M} does not exist in {zone}: its clocks skip it (a "
    said += "change to summer time), so the file was written on another clock"
    if str(zone) == NEW_YORK_CLOSE:
        return said
    return (
        f"{said}; a MetaTrader server on New York close time (UTC+2 in winter, UTC+3 from "
        f"the US's summer-time dates) is --data-tz {NEW_YORK_CLOSE} "
        f'([host] data_tz = "{NEW_YORK_CLOSE}")'
    )
