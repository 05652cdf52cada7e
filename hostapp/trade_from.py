"""``hostapp replay --from TIME``: trade from a time on, the bars before it the plugins'
history (their indicators and averages warm, as a live run's are on its past), not
traded. ``--split``'s held-out runs start the same way at the split (README, "The A/B
replay"): judged cold, a plugin lacks its slow signals for the first part of the very
bars it is judged on, which no live run would."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from hookspecs import Bar, ConfigError


def utc_time(text: str) -> datetime:
    """``--from``: an ISO 8601 date, or date and time, in UTC unless it says its offset."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a time like 2024-03-01 or 2024-03-01T12:00 (UTC), got {text!r}"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def check_trade_from(series: Mapping[str, Sequence[Bar]], when: datetime) -> None:
    """A ConfigError naming ``--from`` when no bar opens at or after ``when`` (nothing
    left to trade), or none before it (no history: leave it out)."""
    times = [t for bars in series.values() for t in (bars[0].time, bars[-1].time) if bars]
    first, last = min(times), max(times)
    span = f"the bars open from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    if when > last:
        raise ConfigError(f"--from {when:%Y-%m-%d %H:%M} UTC is after the last bar: {span}")
    if when <= first:
        raise ConfigError(
            f"--from {when:%Y-%m-%d %H:%M} UTC is at or before the first bar, so there is "
            f"no history before it ({span}): leave --from out to trade every bar"
        )


def history_note(series: Mapping[str, Sequence[Bar]], when: datetime) -> str:
    """The run's note of where it began trading and how many bars were history."""
    before = sum(1 for bars in series.values() for bar in bars if bar.time < when)
    return (
        f"traded from {when:%Y-%m-%d %H:%M} UTC (--from): the {before:,} bars before it were "
        "the plugins' history, not traded"
    )
