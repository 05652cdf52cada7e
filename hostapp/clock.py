"""Clocks: the wall clock for live runs, a settable one for replays and tests.

Everything in the host asks a clock for the time instead of calling ``datetime.now``, so
a replay of last month runs in last month's time and tests never sleep.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _require_utc(t: datetime) -> datetime:
    if not isinstance(t, datetime) or t.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {t!r}")
    return t.astimezone(UTC)


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimClock:
    """A clock that moves only when told to. Refuses naive datetimes (they are ambiguous)
    and moving backwards with ``advance`` (use ``set`` to jump deliberately)."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, t: datetime) -> None:
        self._now = _require_utc(t)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError(f"advance: seconds must be >= 0, got {seconds}")
        self._now += timedelta(seconds=seconds)
        return self._now
