"""Timeframes: the one definition the host, the market views and every plugin share.

A :class:`Timeframe` is a ``str`` enum, so ``Timeframe.M5 == "M5"`` and a plain name can
be passed wherever a timeframe is expected; :meth:`Timeframe.parse` turns a name from a
file or a request into a member, or a :class:`~hookspecs.DataError` naming the field.

The members are MetaTrader 5's timeframes, M1 to MN1. Bars are bucketed in UTC the way
MetaTrader buckets them for a broker on UTC server time: intraday and D1 buckets are
aligned to the Unix epoch (D1 at 00:00, H4 at 00:00, 04:00, …), weeks open on Sunday
00:00, months on the first day of the month at 00:00. MetaTrader builds them on its
server's clock, so data written on another clock (``--data-tz``) gives the bucket methods
its zone: buckets longer than an hour then open on that clock's hours and midnights (an
FX week is five D1 bars on a server two hours east of UTC, not five and a two-hour Sunday
stub), and a day a clock change shortens or lengthens is 23 or 25 hours long; an hour or
less is the same bucket on every clock a whole number of hours from UTC, and follows the
clock of one that is not (India's +05:30), so that its bars nest in the longer ones. A month has no
fixed length: :attr:`Timeframe.seconds` of MN1 is a nominal 30 days, good for sizes and
rates; bucket arithmetic uses the calendar.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from .types import DataError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86_400
_HOUR = 3600
_WEEK_OFFSET = 3 * _DAY  # 1970-01-04 was the first Sunday after the epoch
_NAIVE_EPOCH = EPOCH.replace(tzinfo=None)


class Timeframe(StrEnum):
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4 = "M4"
    M5 = "M5"
    M6 = "M6"
    M10 = "M10"
    M12 = "M12"
    M15 = "M15"
    M20 = "M20"
    M30 = "M30"
    H1 = "H1"
    H2 = "H2"
    H3 = "H3"
    H4 = "H4"
    H6 = "H6"
    H8 = "H8"
    H12 = "H12"
    D1 = "D1"
    W1 = "W1"
    MN1 = "MN1"

    @classmethod
    def parse(cls, value: object, field_name: str = "timeframe") -> Timeframe:
        """``"h1"``, ``" H1 "`` or ``Timeframe.H1`` → ``Timeframe.H1``; anything else is
        a ``DataError`` naming ``field_name`` (when given) and the known names."""
        if isinstance(value, str):
            try:
                return cls(value.strip().upper())
            except ValueError:
                pass
        known = ", ".join(cls)
        prefix = f"{field_name}: " if field_name else ""
        raise DataError(f"{prefix}unknown timeframe {value!r} (known: {known})")

    @property
    def seconds(self) -> int:
        """Length in seconds (MN1: a nominal 30 days)."""
        return _SECONDS[self]

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=_SECONDS[self])

    @property
    def fixed(self) -> bool:
        """Whether every bucket has the same length (all but MN1)."""
        return self is not Timeframe.MN1

    def finer_than(self, other: Timeframe | str) -> bool:
        return _SECONDS[self] < _SECONDS[Timeframe.parse(other)]

    def can_build_from(self, base: Timeframe | str) -> bool:
        """Whether bars of this timeframe can be made of ``base`` bars: the same
        timeframe, or a coarser one whose every bucket boundary is a ``base`` boundary."""
        base = Timeframe.parse(base, "base timeframe")
        if base is self:
            return True
        if not base.finer_than(self) or not base.fixed:
            return False
        if self in (Timeframe.W1, Timeframe.MN1):
            return _DAY % base.seconds == 0  # weeks and months open at midnight
        return self.seconds % base.seconds == 0

    @property
    def signal(self) -> Timeframe | None:
        """The coarser timeframe DTMS reads its signals from, a whole multiple of this one:
        M1→M5, M5→M15, M15→H1, M30→H1, H1→H4, H4→D1, D1→W1, and for MetaTrader's other
        periods M2→M10, M3→M15, M4→M20, M6→M30, M10→H1, M12→H1, M20→H1, H2→H8, H3→H12,
        H6→D1, H8→D1, H12→D1; ``None`` above D1."""
        return _SIGNAL.get(self)

    def bucket_epoch(self, t: int, zone: tzinfo | None = None) -> int:
        """Open time, in epoch seconds, of the bucket holding epoch second ``t``; on the
        clock of ``zone`` when given (the data's: the module's docstring)."""
        if not self.on_clock(zone):
            return self._bucket_of(t)
        assert zone is not None
        return _instant(self._bucket_of(_wall(t, zone)), zone)

    def next_epoch(self, bucket: int, zone: tzinfo | None = None) -> int:
        """Open time of the bucket after the one that opens at ``bucket``."""
        if not self.on_clock(zone):
            return self._next_of(bucket)
        assert zone is not None
        # bucketed again: a bucket whose opening hour a clock change skips opens later
        return _instant(self._next_of(self._bucket_of(_wall(bucket, zone))), zone)

    def bucket_start(self, when: datetime, zone: tzinfo | None = None) -> datetime:
        """Open time of the bucket that holds ``when``."""
        return EPOCH + timedelta(seconds=self.bucket_epoch(to_epoch(when), zone))

    def bucket_end(self, when: datetime, zone: tzinfo | None = None) -> datetime:
        """Close time of the bucket that holds ``when`` (the next bucket's open)."""
        start = self.bucket_epoch(to_epoch(when), zone)
        return EPOCH + timedelta(seconds=self.next_epoch(start, zone))

    def on_clock(self, zone: tzinfo | None) -> bool:
        """Whether buckets follow ``zone``'s clock rather than UTC's: a zone other than
        UTC, and buckets longer than an hour, or any whose length does not divide the
        zone's offsets (H1 on India's +05:30, M30 on Nepal's +05:45: on UTC's clock their
        bars would straddle the zone's H4 and D1 bars)."""
        if zone is None or zone is UTC:
            return False
        seconds = _SECONDS[self]
        if seconds > _HOUR:
            return True
        try:
            return not _divides(seconds, zone)
        except TypeError:  # a zone that cannot be hashed (dateutil's): worked out anew
            return not _divides.__wrapped__(seconds, zone)

    def _bucket_of(self, t: int) -> int:
        if self is Timeframe.MN1:
            d = EPOCH + timedelta(seconds=t)
            return int((datetime(d.year, d.month, 1, tzinfo=UTC) - EPOCH).total_seconds())
        p = _SECONDS[self]
        offset = _WEEK_OFFSET if self is Timeframe.W1 else 0
        return t - (t - offset) % p

    def _next_of(self, bucket: int) -> int:
        if self is Timeframe.MN1:
            d = EPOCH + timedelta(seconds=bucket)
            year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
            return int((datetime(year, month, 1, tzinfo=UTC) - EPOCH).total_seconds())
        return bucket + _SECONDS[self]


@functools.lru_cache(maxsize=256)
def _divides(seconds: int, zone: tzinfo) -> bool:
    """Does ``seconds`` divide every offset ``zone`` has had from UTC, read at the start
    and middle of each year from 1970 to 2040 (summer time included)? Then buckets of that
    length open at the same instants on its clock as on UTC's."""
    for year in range(1970, 2041):
        for month in (1, 7):
            offset = datetime(year, month, 1, tzinfo=UTC).astimezone(zone).utcoffset()
            if offset is not None and int(offset.total_seconds()) % seconds:
                return False
    return True


def _wall(t: int, zone: tzinfo) -> int:
    """The time ``zone``'s clock shows at epoch second ``t``, as epoch seconds of that
    reading taken as UTC."""
    local = (EPOCH + timedelta(seconds=t)).astimezone(zone)
    offset = local.utcoffset()
    return t + (int(offset.total_seconds()) if offset is not None else 0)


def _instant(wall: int, zone: tzinfo) -> int:
    """The epoch second at which ``zone``'s clock first shows ``wall`` (a reading a clock
    change repeats: its first time; one it skips: the moment the clock jumps past it)."""
    local = (_NAIVE_EPOCH + timedelta(seconds=wall)).replace(tzinfo=zone)
    return to_epoch(local)


def to_epoch(when: datetime) -> int:
    """Whole seconds since the epoch; bar times never carry fractions of a second."""
    return int((when - EPOCH).total_seconds())


#: An epoch number from here on is milliseconds (JavaScript's ``Date.now()``, Binance's
#: klines, many exchanges): in seconds it would be the year 5138, in milliseconds it is
#: March 1973.
EPOCH_MS_FROM = 100_000_000_000
#: and from here on microseconds (Binance's spot klines from 2025): the year 5138 again
#: in milliseconds, March 1973 in microseconds.
EPOCH_US_FROM = 100_000_000_000_000


def epoch_seconds(number: float) -> float:
    """Seconds since the epoch of a Unix time written in seconds, milliseconds or
    microseconds, told by its size: the one reading of such numbers for the host's CSV
    files and the DTMS server's requests alike."""
    if number >= EPOCH_US_FROM:
        return number / 1_000_000
    return number / 1000 if number >= EPOCH_MS_FROM else number


_SECONDS: dict[Timeframe, int] = {
    Timeframe.M1: 60,
    Timeframe.M2: 120,
    Timeframe.M3: 180,
    Timeframe.M4: 240,
    Timeframe.M5: 300,
    Timeframe.M6: 360,
    Timeframe.M10: 600,
    Timeframe.M12: 720,
    Timeframe.M15: 900,
    Timeframe.M20: 1200,
    Timeframe.M30: 1800,
    Timeframe.H1: _HOUR,
    Timeframe.H2: 2 * _HOUR,
    Timeframe.H3: 3 * _HOUR,
    Timeframe.H4: 4 * _HOUR,
    Timeframe.H6: 6 * _HOUR,
    Timeframe.H8: 8 * _HOUR,
    Timeframe.H12: 12 * _HOUR,
    Timeframe.D1: _DAY,
    Timeframe.W1: 7 * _DAY,
    Timeframe.MN1: 30 * _DAY,
}

_SIGNAL: dict[Timeframe, Timeframe] = {
    Timeframe.M1: Timeframe.M5,
    Timeframe.M2: Timeframe.M10,
    Timeframe.M3: Timeframe.M15,
    Timeframe.M4: Timeframe.M20,
    Timeframe.M5: Timeframe.M15,
    Timeframe.M6: Timeframe.M30,
    Timeframe.M10: Timeframe.H1,
    Timeframe.M12: Timeframe.H1,
    Timeframe.M15: Timeframe.H1,
    Timeframe.M20: Timeframe.H1,
    Timeframe.M30: Timeframe.H1,
    Timeframe.H1: Timeframe.H4,
    Timeframe.H2: Timeframe.H8,
    Timeframe.H3: Timeframe.H12,
    Timeframe.H4: Timeframe.D1,
    Timeframe.H6: Timeframe.D1,
    Timeframe.H8: Timeframe.D1,
    Timeframe.H12: Timeframe.D1,
    Timeframe.D1: Timeframe.W1,
}
