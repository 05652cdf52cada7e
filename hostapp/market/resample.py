"""Building higher-timeframe bars from base bars.

One incremental :class:`Resampler` serves both the batch :func:`resample` and the replay
feed, which feeds it base bars as they close; so a bar the feed shows on H1 is always the
bar ``resample`` would give for the same data.

Buckets are aligned to UTC as :class:`hookspecs.Timeframe` defines them (weeks open on
Sunday, months on the 1st), or to the data's clock when it has one (``zone``: the
``--data-tz`` or ``[host] data_tz`` its times were written in), as MetaTrader builds them
on its server's clock: a D1 bar of a server two hours east of UTC opens at 22:00 UTC, so
an FX week is five of them, not five and a two-hour Sunday stub. Which buckets count as
complete:

* interior buckets always, even with base bars missing inside (a data gap or a market
  close), as MetaTrader builds them;
* the first bucket only when the data starts exactly at its open time: a bucket whose
  beginning is missing would have a wrong open and too narrow a range;
* the last bucket only once time has reached its end: when the last base bar closes at
  the bucket's end, or, in the feed, when the replay clock has passed it.

Aggregation: open of the first bar, max high, min low, close of the last bar, summed
volume, and the spread of the last bar (the spread at the bucket's close, so a quote
derived from the resampled bar matches the one derived from its last base bar).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from hookspecs import Bar, Timeframe

from .timeframes import from_epoch, to_epoch


def check_timeframes(timeframe: str, base: str) -> tuple[Timeframe, Timeframe]:
    """``(target, base)`` as timeframes; ``ValueError`` when the target cannot be built
    from the base (finer, or its buckets do not start on base buckets)."""
    target_tf = Timeframe.parse(timeframe)
    base_tf = Timeframe.parse(base, "base timeframe")
    if not target_tf.can_build_from(base_tf):
        raise ValueError(f"cannot build {target_tf} bars from {base_tf} bars")
    return target_tf, base_tf


class Resampler:
    """Accumulates base bars (in time order) into complete ``timeframe`` bars."""

    __slots__ = (
        "_bucket",
        "_close",
        "_epoch_aligned",
        "_high",
        "_low",
        "_next",
        "_open",
        "_partial",
        "_period",
        "_seen_any",
        "_spread",
        "_tf",
        "_volume",
        "_zone",
        "bars",
    )

    def __init__(self, timeframe: str, base: str = "M5", zone: tzinfo | None = None) -> None:
        self._tf, _ = check_timeframes(timeframe, base)
        self._period = self._tf.seconds
        self._zone = zone
        # buckets that start on whole multiples of their length since the epoch: all but
        # weeks (from Sunday), months (calendar) and those on the data's clock, which ask
        # the timeframe
        on_clock = self._tf.on_clock(zone)
        self._epoch_aligned = self._tf.fixed and self._tf is not Timeframe.W1 and not on_clock
        self.bars: list[Bar] = []
        self._bucket: int | None = None  # epoch seconds of the forming bucket's open
        self._next = 0  # epoch seconds of the next bucket's open
        self._partial = False
        self._seen_any = False
        self._open = self._high = self._low = self._close = 0.0
        self._volume = self._spread = 0.0

    def add(self, bar: Bar) -> None:
        """Take the next base bar. Bars must come in strictly increasing time order."""
        t = to_epoch(bar.time)
        if self._epoch_aligned:
            bucket = t - t % self._period
        elif self._bucket is not None and self._bucket <= t < self._next:
            bucket = self._bucket  # the forming one: the clock is asked once a bucket
        else:
            bucket = self._tf.bucket_epoch(t, self._zone)
        if bucket != self._bucket:
            if self._bucket is not None and bucket < self._bucket:
                raise ValueError(f"bar at {bar.time.isoformat()} is older than the last one")
            self._emit()
            self._bucket = bucket
            self._next = self._tf.next_epoch(bucket, self._zone)
            self._partial = not self._seen_any and t != bucket
            self._open, self._high, self._low = bar.open, bar.high, bar.low
            self._volume = 0.0
        else:
            self._high = max(self._high, bar.high)
            self._low = min(self._low, bar.low)
        self._seen_any = True
        self._close = bar.close
        self._volume += bar.volume
        self._spread = bar.spread

    def close_until(self, now: datetime) -> None:
        """Finish the forming bucket if ``now`` is at or past its end."""
        if self._bucket is not None and to_epoch(now) >= self._next:
            self._emit()

    def _emit(self) -> None:
        if self._bucket is not None and not self._partial:
            self.bars.append(
                Bar(
                    from_epoch(self._bucket),
                    self._open,
                    self._high,
                    self._low,
                    self._close,
                    self._volume,
                    self._spread,
                )
            )
        self._bucket = None


def resample(
    bars: Sequence[Bar],
    timeframe: str,
    *,
    base: str = "M5",
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> list[Bar]:
    """The complete ``timeframe`` bars made of ``bars`` (``base`` bars, oldest first),
    bucketed on ``zone``'s clock when given (the data's: the module's docstring).

    ``now`` says how far time has got (a replay clock); by default, the close of the last
    bar, so a trailing bucket is complete only when its last base bar is present.
    """
    _, base_tf = check_timeframes(timeframe, base)
    if timeframe == base:
        return list(bars)
    r = Resampler(timeframe, base, zone)
    for bar in bars:
        r.add(bar)
    if bars:
        end = now if now is not None else base_tf.bucket_end(bars[-1].time, zone)
        r.close_until(end)
    return r.bars
