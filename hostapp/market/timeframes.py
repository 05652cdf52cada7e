"""Timeframe names and their lengths.

One table, so that the feed, the resampler and the CSV loader agree on what ``"H4"`` means.
Buckets are aligned to the Unix epoch in UTC, which puts D1 at midnight UTC and H4 at
00:00, 04:00, … UTC, as MetaTrader does for a broker on UTC server time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TIMEFRAMES: dict[str, int] = {
    "M1": 60,
    "M5": 300,
    "M15": 900,
    "M30": 1800,
    "H1": 3600,
    "H4": 14400,
    "D1": 86400,
}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timeframe_seconds(name: str) -> int:
    """Length of ``name`` in seconds; a ``ValueError`` naming the timeframe when unknown."""
    try:
        return TIMEFRAMES[name]
    except (KeyError, TypeError):
        known = ", ".join(TIMEFRAMES)
        raise ValueError(f"unknown timeframe {name!r} (known: {known})") from None


def timeframe_delta(name: str) -> timedelta:
    return timedelta(seconds=timeframe_seconds(name))


def to_epoch(when: datetime) -> int:
    """Whole seconds since the epoch; bar times never carry fractions of a second."""
    return int((when - EPOCH).total_seconds())


def from_epoch(seconds: int | float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def bucket_start(when: datetime, timeframe: str) -> datetime:
    """Open time of the ``timeframe`` bucket that contains ``when`` (UTC-aligned)."""
    period = timeframe_seconds(timeframe)
    secs = to_epoch(when)
    return from_epoch(secs - secs % period)
