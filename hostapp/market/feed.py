"""Replaying bar series as a clock moves forward: the host's :class:`MarketView` in a
paper run or a backtest.

Plugins call :meth:`ReplayFeed.bars` for every symbol on every cycle, over replays of
100,000 bars, so it must cost O(count), not O(history): base bars are served as a slice
of the stored list up to a per-symbol cursor, and each higher timeframe a plugin asks
for gets a :class:`~.resample.Resampler` that is fed, lazily, only the base bars closed
since the previous request. A bar is visible once it has *closed* (``time + period <=
now``); the forming base or higher-timeframe bar is never returned.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from hookspecs import Bar

from .resample import Resampler, check_timeframes
from .timeframes import timeframe_seconds


class _Series:
    __slots__ = ("bars", "closes", "cursor", "fed", "resamplers")

    def __init__(self, bars: list[Bar], closes: list[datetime]) -> None:
        self.bars = bars
        self.closes = closes  # close time of each bar, for bisect on big jumps
        self.cursor = 0  # bars[:cursor] have closed
        self.resamplers: dict[str, Resampler] = {}
        self.fed: dict[str, int] = {}  # how many base bars each resampler has seen


class ReplayFeed:
    """Serves closed bars of several symbols as of a replay time ``now``.

    Before the first :meth:`advance` nothing has closed and :meth:`bars` returns ``[]``.
    """

    def __init__(self, series: Mapping[str, Sequence[Bar]], *, base_timeframe: str = "M5") -> None:
        self._base = base_timeframe
        period = timedelta(seconds=timeframe_seconds(base_timeframe))
        self._series: dict[str, _Series] = {}
        for symbol, seq in series.items():
            bars = list(seq)
            for i in range(1, len(bars)):
                if bars[i].time <= bars[i - 1].time:
                    raise ValueError(
                        f"{symbol}: bar {i} at {bars[i].time.isoformat()} is not after "
                        f"bar {i - 1} at {bars[i - 1].time.isoformat()}"
                    )
            self._series[symbol] = _Series(bars, [b.time + period for b in bars])
        self._now: datetime | None = None

    @property
    def base_timeframe(self) -> str:
        return self._base

    @property
    def now(self) -> datetime | None:
        """The replay time of the last :meth:`advance`; ``None`` before the first."""
        return self._now

    def symbols(self) -> list[str]:
        return list(self._series)

    def timeline(self) -> list[datetime]:
        """Every distinct base-bar close time of every symbol, in order: the replay steps."""
        times: set[datetime] = set()
        for s in self._series.values():
            times.update(s.closes)
        return sorted(times)

    def advance(self, now: datetime) -> dict[str, Bar]:
        """Move the clock to ``now`` and return, per symbol, the base bar that closed at
        exactly ``now``. Bars passed over by a jump become visible but are not returned.
        Moving backwards is a ``ValueError``."""
        if self._now is not None and now < self._now:
            raise ValueError(f"replay time cannot go back from {self._now} to {now}")
        self._now = now
        new: dict[str, Bar] = {}
        for symbol, s in self._series.items():
            cursor = s.cursor
            closes = s.closes
            n = len(closes)
            if cursor < n and closes[cursor] <= now:
                if cursor + 1 < n and closes[cursor + 1] <= now:  # a jump: bisect
                    cursor = bisect_right(closes, now, cursor)
                else:
                    cursor += 1
                s.cursor = cursor
                if closes[cursor - 1] == now:
                    new[symbol] = s.bars[cursor - 1]
        return new

    def bars(self, symbol: str, timeframe: str, count: int) -> list[Bar]:
        """The newest ``count`` closed ``timeframe`` bars of ``symbol``, oldest first."""
        s = self._get(symbol)
        if count <= 0:
            return []
        if timeframe == self._base:
            cursor = s.cursor
            return s.bars[cursor - count if cursor > count else 0 : cursor]
        r = s.resamplers.get(timeframe)
        if r is None:
            check_timeframes(timeframe, self._base)
            r = s.resamplers[timeframe] = Resampler(timeframe, self._base)
            s.fed[timeframe] = 0
        fed = s.fed[timeframe]
        if fed < s.cursor:
            for bar in s.bars[fed : s.cursor]:
                r.add(bar)
            s.fed[timeframe] = s.cursor
        if self._now is not None:
            r.close_until(self._now)
        out = r.bars
        return out[-count:] if len(out) > count else list(out)

    def last_close(self, symbol: str) -> float | None:
        """Close of the newest closed base bar; ``None`` when none has closed yet."""
        s = self._get(symbol)
        return s.bars[s.cursor - 1].close if s.cursor else None

    def last_bar(self, symbol: str) -> Bar | None:
        s = self._get(symbol)
        return s.bars[s.cursor - 1] if s.cursor else None

    def _get(self, symbol: str) -> _Series:
        try:
            return self._series[symbol]
        except KeyError:
            known = ", ".join(self._series) or "none"
            raise ValueError(f"unknown symbol {symbol!r} (the feed has: {known})") from None
