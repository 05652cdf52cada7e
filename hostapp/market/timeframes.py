"""Epoch arithmetic on bar times, over :class:`hookspecs.Timeframe`.

The timeframes themselves (names, lengths, bucket alignment, what can be built from
what) are defined once, in :mod:`hookspecs.timeframes`; this module only adds the
shorthands the host's market code uses on its hot paths.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hookspecs import Timeframe
from hookspecs.timeframes import EPOCH, to_epoch

__all__ = [
    "EPOCH",
    "bucket_start",
    "from_epoch",
    "timeframe_delta",
    "timeframe_seconds",
    "to_epoch",
]


def timeframe_seconds(name: str) -> int:
    """Length of ``name`` in seconds; a ``ValueError`` naming the timeframe when unknown."""
    return Timeframe.parse(name, "").seconds


def timeframe_delta(name: str) -> timedelta:
    return timedelta(seconds=timeframe_seconds(name))


def from_epoch(seconds: int | float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def bucket_start(when: datetime, timeframe: str) -> datetime:
    """Open time of the ``timeframe`` bucket that contains ``when`` (UTC-aligned)."""
    return Timeframe.parse(timeframe).bucket_start(when)
