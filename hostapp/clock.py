"""Clocks: the wall clock for live runs, a settable one for replays and tests, and a
scaled one for a paper live run played faster than real time (``--speed``).

Everything in the host asks a clock for the time instead of calling ``datetime.now``, so
a replay of last month runs in last month's time and tests never sleep.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
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


class ScaledClock:
    """The clock of a paper ``hostapp run --live --speed N``: the data's time, running
    ``speed`` times faster than the wall clock from ``start`` (the first bar's open).

    The one notion of time of such a run: the loop releases each bar when this clock
    reaches its close time and waits between cycles through :meth:`wall_seconds`, and the
    broker, the host and DTMS read :meth:`now`; so bars, cycles, bar-counted deadlines and
    DTMS's timestamps all run ``speed`` times faster. No ``set``: the loop must not move
    it (a :class:`SimClock` is moved bar by bar instead)."""

    def __init__(
        self, start: datetime, speed: float, *, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if not speed > 0 or math.isinf(speed):  # NaN too
            raise ValueError(f"speed must be a number more than 0, got {speed}")
        self.speed = float(speed)
        self._start = _require_utc(start)
        self._wall = wall
        self._t0 = wall()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._wall() - self._t0) * self.speed)

    def wall_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of this clock's time last on the wall clock."""
        return max(0.0, seconds) / self.speed
