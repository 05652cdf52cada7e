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
    ``speed`` times faster than the wall clock once the run has caught up on its history.

    The one notion of time of such a run. Until :meth:`go` it is a :class:`SimClock`
    that the loop sets to each history bar it catches up on (up to ``live_from``); from
    then on it runs by itself, and the loop releases each bar when the clock reaches its
    close time and waits between cycles through :meth:`wall_seconds`. The broker, the
    host, DTMS and the dashboard read :meth:`now`, so bars, cycles, bar-counted deadlines
    and DTMS's timestamps all run ``speed`` times faster."""

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        live_from: datetime | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0 or math.isinf(speed):  # NaN too
            raise ValueError(f"speed must be a number more than 0, got {speed}")
        self.speed = float(speed)
        self._now = _require_utc(start)
        #: The end of the history the loop catches up on before the clock runs.
        self.live_from = self._now if live_from is None else _require_utc(live_from)
        self._wall = wall
        self._t0: float | None = None  # the wall time it started running at
        self._limit: datetime | None = None  # :meth:`wait_at`

    def now(self) -> datetime:
        if self._t0 is None:
            return self._now
        t = self._now + timedelta(seconds=(self._wall() - self._t0) * self.speed)
        if self._limit is not None and t > self._limit:
            self._now, self._t0 = self._limit, self._wall()  # it waits there, then runs on
            return self._limit
        return t

    def wait_at(self, t: datetime | None) -> None:
        """The close of the next bar the loop has not played yet: the running clock does
        not pass it (``None``: no bar left, no limit). A loop slower than ``speed`` (a
        high ``--speed``, a loaded machine) then plays each bar at its own time and the
        run goes slower than ``speed``; before, the clock ran on alone, weeks past the
        bars at ``--speed 1000000``, and the broker and DTMS stamped those times on the
        trades (opened after their own first action, deadlines passed at once)."""
        self._limit = None if t is None else _require_utc(t)

    def set(self, t: datetime) -> None:
        """Move forward to ``t`` (a bar the loop catches up on); never back: a bar that
        the running clock has already passed leaves it where it is."""
        t = _require_utc(t)
        if t > self.now():
            self._now = t
            if self._t0 is not None:
                self._t0 = self._wall()

    def go(self) -> None:
        """Start running, from the end of the history caught up on (``live_from``, or the
        time it has if later). A gap in the data across ``live_from`` (a weekend between
        the last history bar and the first live one) is then not waited out in wall time:
        from the last history bar, the clock took 4 min 48 s at ``--speed 600`` to reach
        the Monday bar, without a word."""
        if self._t0 is None:
            self._now = max(self.now(), self.live_from)
            self._t0 = self._wall()

    def wall_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of this clock's time last on the wall clock."""
        return max(0.0, seconds) / self.speed
