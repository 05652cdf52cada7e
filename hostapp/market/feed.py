"""Replaying bar series as a clock moves forward: the host's :class:`MarketView` in a
paper run or a backtest.

Plugins call :meth:`ReplayFeed.bars` for every symbol on every cycle, over replays of
100,000 bars, so it must cost O(count), not O(history): base bars are served as a slice
of the stored list up to a per-symbol cursor, and each higher timeframe a plugin asks
for gets a :class:`~.resample.Resampler` that is fed, lazily, only the base bars closed
since the previous request. A bar is visible once it has *closed* (``time + period <=
now``); the forming base or higher-timeframe bar is never returned.

A stored series is kept as tuples: what :meth:`ReplayFeed.bars` serves of it is a slice
that no plugin can change, handed to every strategy of a cycle without a copy each (the
trading loop passes one ``bars`` to all of them), and :meth:`ReplayFeed.series` hands out
the feed's own tuples, so a plugin cannot edit the market the broker fills on either.

A series given as a plain iterable rather than a sequence (the streamed synthetic feed,
:class:`~.synthetic.SyntheticSeries`) is read as the clock reaches its bars, and only a
recent window of it is kept (``keep`` bars, or more when a plugin asks for more): a live
host or server that runs for months holds the same few thousand bars on day 1 and day
300. Its replay steps come from :meth:`ReplayFeed.steps`, found as the replay moves.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import cast

from hookspecs import Bar

from .resample import Resampler, check_timeframes, resample
from .timeframes import timeframe_seconds

#: Base bars a streamed series keeps at least (about a week of M5; a plugin that asks
#: for more gets the window widened to what it asks).
KEEP_BARS = 2000
_DAWN = datetime.min.replace(tzinfo=UTC)  # before any bar: read a streamed series' first


class _Series:
    __slots__ = ("bars", "closes", "cursor", "fed", "period", "resamplers", "source", "symbol")

    def __init__(
        self,
        symbol: str,
        bars: tuple[Bar, ...],
        period: timedelta,
        source: Iterator[Bar] | None = None,
    ) -> None:
        self.symbol = symbol
        #: stored: the tuple given; streamed: a list, read and dropped as the clock moves
        self.bars: Sequence[Bar] = bars if source is None else list(bars)
        self.period = period
        # close times, for bisect on big jumps
        closes = (b.time + period for b in bars)
        self.closes: Sequence[datetime] = tuple(closes) if source is None else list(closes)
        self.cursor = 0  # bars[:cursor] have closed
        self.resamplers: dict[str, Resampler] = {}
        self.fed: dict[str, int] = {}  # how many base bars each resampler has seen
        self.source = source  # streamed: the bars not read yet

    def read_until(self, now: datetime, keep: int) -> None:
        """Streamed: read bars until one closes after ``now`` (the next step's bar) or
        the source ends, dropping the oldest closed bars beyond ``keep``."""
        source, period = self.source, self.period
        bars, closes = cast(list[Bar], self.bars), cast(list[datetime], self.closes)
        while source is not None and (not closes or closes[-1] <= now):
            bar = next(source, None)
            if bar is None:
                self.source = source = None
                break
            if bars and bar.time <= bars[-1].time:
                raise ValueError(
                    f"{self.symbol}: bar at {bar.time.isoformat()} is not after the bar "
                    f"at {bars[-1].time.isoformat()}"
                )
            bars.append(bar)
            closes.append(bar.time + period)
            if len(bars) >= keep + keep // 4 + 2 and closes[-2] <= now:
                self._drop(len(bars) - keep - 1, keep)

    def _drop(self, n: int, keep: int) -> None:
        """Forget the oldest ``n`` (closed) bars, once every resampler has seen them, and
        each resampler's bars beyond the newest ``keep``."""
        for timeframe, r in self.resamplers.items():
            fed = self.fed[timeframe]
            for bar in self.bars[fed:n]:
                r.add(bar)
            self.fed[timeframe] = max(fed, n) - n
            if len(r.bars) > keep:
                del r.bars[: len(r.bars) - keep]
        del cast(list[Bar], self.bars)[:n]
        del cast(list[datetime], self.closes)[:n]
        self.cursor = max(0, self.cursor - n)


class ReplayFeed:
    """Serves closed bars of several symbols as of a replay time ``now``.

    Before the first :meth:`advance` nothing has closed and :meth:`bars` returns ``[]``.
    ``zone``: the clock the data was written on, which coarser bars are built on
    (:mod:`.resample`); ``None``: UTC.
    """

    def __init__(
        self,
        series: Mapping[str, Iterable[Bar]],
        *,
        base_timeframe: str = "M5",
        keep: int = KEEP_BARS,
        zone: tzinfo | None = None,
        base_sources: Sequence[str] = (),
    ) -> None:
        self._base = base_timeframe
        self._sources = tuple(base_sources)
        self._keep = keep
        self.zone = zone
        period = timedelta(seconds=timeframe_seconds(base_timeframe))
        self._series: dict[str, _Series] = {}
        for symbol, seq in series.items():
            if not isinstance(seq, Sequence):
                self._series[symbol] = _Series(symbol, (), period, iter(seq))
                continue
            bars = tuple(seq)
            for i in range(1, len(bars)):
                if bars[i].time <= bars[i - 1].time:
                    raise ValueError(
                        f"{symbol}: bar {i} at {bars[i].time.isoformat()} is not after "
                        f"bar {i - 1} at {bars[i - 1].time.isoformat()}"
                    )
            self._series[symbol] = _Series(symbol, bars, period)
        self._streamed = [s for s in self._series.values() if s.source is not None]
        spans = [(getattr(q, "start", None), getattr(q, "end", None)) for q in series.values()]
        starts = [a for a, _ in spans if isinstance(a, datetime)]
        ends = [b for _, b in spans if isinstance(b, datetime)]
        self._bound = int((max(ends) - min(starts)) / period) if starts and ends else 0
        self._now: datetime | None = None
        self._timeline: list[datetime] | None = None

    def base_sources(self) -> Sequence[str]:
        """:class:`hookspecs.BarSources`: the data files whose own bars are the base
        timeframe (a replay's, given by :func:`hostapp.replay_files.replay_timeframes`)."""
        return self._sources

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
        """Every distinct base-bar close time of every symbol, in order: the replay steps.
        Stored series only (a streamed one's steps are found as it is read: :meth:`steps`)."""
        if self._streamed:
            raise TypeError("a streamed feed has no timeline up front: use steps()")
        if self._timeline is None:  # worked out once: a run asks for it twice (count, steps)
            closes = [s.closes for s in self._series.values()]
            if len(closes) == 1:  # one symbol: its close times, in order (checked above)
                self._timeline = list(closes[0])
            else:
                self._timeline = sorted({t for c in closes for t in c})
        return list(self._timeline)

    def steps(self) -> Iterator[datetime]:
        """The replay steps, in order, each to be passed to :meth:`advance` before the next
        is asked for: the timeline of stored series, found bar by bar for streamed ones."""
        if not self._streamed:
            yield from self.timeline()
            return
        keep = self._keep
        while True:
            upcoming: list[datetime] = []
            for s in self._series.values():
                if s.source is not None and s.cursor >= len(s.closes):
                    s.read_until(self._now or _DAWN, keep)
                if s.cursor < len(s.closes):
                    upcoming.append(s.closes[s.cursor])
            if not upcoming:
                return
            yield min(upcoming)

    def step_count(self) -> int:
        """How many steps :meth:`steps` gives: exact for stored series; for streamed ones
        an upper bound (the base periods between the earliest ``start`` and the latest
        ``end`` of the sources that tell them, else 0), for a progress bar."""
        if not self._streamed:
            return len(self.timeline())
        return self._bound

    def advance(self, now: datetime) -> dict[str, Bar]:
        """Move the clock to ``now`` and return, per symbol, the base bar that closed at
        exactly ``now``. Bars passed over by a jump become visible but are not returned.
        Moving backwards is a ``ValueError``."""
        if self._now is not None and now < self._now:
            raise ValueError(f"replay time cannot go back from {self._now} to {now}")
        self._now = now
        new: dict[str, Bar] = {}
        for s in self._streamed:
            s.read_until(now, self._keep)
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

    def bars(self, symbol: str, timeframe: str, count: int) -> tuple[Bar, ...]:
        """The newest ``count`` closed ``timeframe`` bars of ``symbol``, oldest first, as a
        tuple: at the base timeframe of a stored series, a slice of the feed's own (no copy
        made twice on a replay's hot path)."""
        s = self._get(symbol)
        if count <= 0:
            return ()
        if count > self._keep and s.source is not None:
            self._keep = count  # a streamed series keeps what its readers ask for
        if timeframe == self._base:
            cursor = s.cursor
            # a stored series' slice is a tuple already: tuple() returns it as it is
            return tuple(s.bars[cursor - count if cursor > count else 0 : cursor])
        r = s.resamplers.get(timeframe)
        if r is None:
            check_timeframes(timeframe, self._base)
            r = s.resamplers[timeframe] = Resampler(timeframe, self._base, self.zone)
            s.fed[timeframe] = 0
        fed = s.fed[timeframe]
        if fed < s.cursor:
            for bar in s.bars[fed : s.cursor]:
                r.add(bar)
            s.fed[timeframe] = s.cursor
        if self._now is not None:
            r.close_until(self._now)
        out = r.bars
        return tuple(out[-count:] if len(out) > count else out)

    def series(
        self, symbol: str, timeframe: str
    ) -> tuple[Sequence[Bar], Sequence[datetime]] | None:
        """:class:`hookspecs.SeriesView`: every bar of the run and its close time (``None``
        for a streamed symbol: only a window of it is ever held), as tuples: at the base
        timeframe the feed's own, which no plugin can change. A higher timeframe is the
        batch :func:`~.resample.resample` of all the data, which is what :meth:`bars`
        shows bar by bar (the same :class:`Resampler` rules)."""
        s = self._get(symbol)
        if s.source is not None:
            return None
        if timeframe == self._base:
            return s.bars, s.closes
        tf, _ = check_timeframes(timeframe, self._base)
        bars = tuple(resample(s.bars, timeframe, base=self._base, zone=self.zone))
        return bars, tuple(tf.bucket_end(b.time, self.zone) for b in bars)

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
