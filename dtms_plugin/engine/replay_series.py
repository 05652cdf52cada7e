"""The series a replay reads, before any feature is computed: its bars' fields as arrays,
each fast bar's VWAP session, and which bars count as fed at each cycle (:class:`FedBars`).

They are worked out once per series (the arrays) or once per cycle (the fed bars) and
hold no feature: :class:`.replay.ReplayIndicators` computes the features over them. Kept
apart from it so the rule for which bars count as fed, the live path's warm-up and
quiet-spell rule (docs/dtms.md), reads on its own, away from the feature bookkeeping.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta

import numpy as np

from hookspecs import Bar, Timeframe

from ..settings import DtmsSettings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bar_columns(bars: list[Bar], *, epoch: bool = False) -> dict[str, np.ndarray]:
    """The bars' fields as arrays, once per series (each chunk then only indexes them)."""
    cols = {
        "high": np.array([b.high for b in bars]),
        "low": np.array([b.low for b in bars]),
        "close": np.array([b.close for b in bars]),
        "volume": np.array([b.volume for b in bars]),
        "spread": np.array([b.spread for b in bars]),
    }
    if epoch:
        cols["epoch"] = np.array(
            [int((b.time - _EPOCH).total_seconds()) for b in bars], dtype=np.int64
        )
    return cols


def vwap_anchors(secs: np.ndarray, settings: DtmsSettings) -> np.ndarray:
    """Each fast bar's VWAP session (the bucket of ``vwap_anchor`` its open time is in),
    once per series."""
    anchor_tf = settings.vwap_anchor()
    if anchor_tf is Timeframe.D1:
        return secs // 86_400
    return np.array([anchor_tf.bucket_epoch(int(t)) for t in secs], dtype=np.int64)


class FedBars:
    """Which bars of one timeframe count as fed: ``planned`` (indices into the series)
    is the fed bars followed by every later bar; the first ``count`` are fed."""

    __slots__ = ("closes", "count", "period", "planned", "times")

    def __init__(self, closes: list[datetime], times: list[datetime], period: timedelta) -> None:
        self.closes = closes
        self.times = times
        self.period = period
        self.planned: np.ndarray | None = None
        self.count = 0

    def advance(self, now: datetime, warmup: int) -> bool:
        """Feed what the live path would feed at ``now``; ``True`` when the planned
        sequence changed (first sight, or bars skipped after a quiet spell)."""
        closed = bisect_right(self.closes, now)
        planned = self.planned
        n = len(self.closes)
        if planned is None or self.count == 0:  # the live path's first sight: warm up
            start = max(0, closed - warmup)
            changed = planned is None or not len(planned) or int(planned[0]) != start
            self.planned = np.arange(start, n)
            self.count = max(0, closed - start)
            return changed
        last_idx = int(planned[self.count - 1])
        ahead = closed - last_idx - 1
        if ahead <= min(warmup, 2):  # the live path feeds at least that many: none skipped
            self.count += max(0, ahead)
            return False
        want = min(warmup, int((now - self.times[last_idx]) / self.period) + 2)
        start = max(closed - want, last_idx + 1)
        if start > last_idx + 1:  # a quiet spell longer than the warm-up: bars skipped
            self.planned = np.concatenate((planned[: self.count], np.arange(start, n)))
            self.count += closed - start
            return True
        self.count += max(0, closed - (last_idx + 1))
        return False
