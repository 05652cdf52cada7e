"""A bar file's spacing: the timeframe its bar gaps say (:func:`infer_timeframe`), and
the refusal of a file whose bars come a finer timeframe's length apart somewhere
(:func:`check_no_finer`), which would otherwise be traded as the coarser bars."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from hookspecs import Bar, ConfigError, Timeframe


def infer_timeframe(bars: Sequence[Bar], where: str = "data") -> str:
    """The timeframe whose length is the most common gap between consecutive bars.

    The most common gap, not the smallest: daily data skips weekends (gaps of 1 and 3
    days) and intraday data has nights and weekends, and both must still read as their
    spacing. A month has no fixed length, so gaps of 28 to 31 days all count for MN1.
    Bars closer together than that spacing anywhere in the file are refused
    (:func:`check_no_finer`).
    """
    gaps = Counter(
        int((b.time - a.time).total_seconds()) for a, b in itertools.pairwise(bars[:2001])
    )
    votes: Counter[Timeframe] = Counter()
    for gap, n in gaps.items():
        tf = _timeframe_of_gap(gap)
        if tf is not None:
            votes[tf] += n
    if votes:
        spacing = votes.most_common(1)[0][0]
        check_no_finer(bars, spacing, where)
        return spacing.value
    if len(bars) < 2:
        raise ConfigError(
            f"{where}: cannot tell the timeframe from {len(bars)} bar; use --timeframe"
        )
    raise ConfigError(
        f"{where}: cannot tell the timeframe (bar gaps in seconds {sorted(gaps)[:5]}); "
        "use --timeframe"
    )


def check_no_finer(bars: Sequence[Bar], spacing: Timeframe, where: str) -> None:
    """A ConfigError when bars of ``spacing`` (told from the file's first gaps) come a
    finer timeframe's length apart somewhere: a file of H1 bars and then M5 bars (two
    exports joined) was traded as H1 bars throughout, each M5 bar an hour. A gap of no
    timeframe's length (M1 bars a few seconds off, one bar stamped at :30) is a bar's
    own quirk, left to the reader. Above H1 an hour less is slack: daily and H4 bars that
    open at a broker's midnight move by an hour in UTC when its clocks change. W1 and
    MN1 bars are not checked."""
    if spacing.seconds > _DAY:
        return
    slack = 3600 if spacing.seconds > 3600 else 0
    shortest = timedelta(seconds=spacing.seconds - slack)
    times = [b.time for b in bars]
    closer = [
        i for i in range(1, len(times))
        if times[i] - times[i - 1] < shortest
        and int((times[i] - times[i - 1]).total_seconds()) in _BY_SECONDS
    ]  # fmt: skip
    if not closer:
        return
    first, then = times[closer[0] - 1], times[closer[0]]
    finer = _BY_SECONDS[int((then - first).total_seconds())].value
    raise ConfigError(
        f"{where}: {len(closer)} bar(s) closer together than its {spacing.value} bars, the "
        f"first at {then.isoformat()} after {first.isoformat()}: give each file bars of one "
        f"timeframe (two exports joined?), or, if they are all {finer} bars, replay them "
        f"with --timeframe {finer}"
    )


_DAY = 86_400
#: Fixed timeframes by length; MN1's nominal 30 days would only catch some months.
_BY_SECONDS: dict[int, Timeframe] = {tf.seconds: tf for tf in Timeframe if tf.fixed}
#: A calendar month is 28 to 31 days; an hour either side absorbs a daylight saving
#: change in data whose times were local (midnight at -05:00, then at -04:00).
_MONTH_GAPS = range(28 * _DAY - 3600, 31 * _DAY + 3601)


def _timeframe_of_gap(gap: int) -> Timeframe | None:
    """The timeframe one bar-to-bar gap (seconds) is the length of, if any."""
    tf = _BY_SECONDS.get(gap)
    if tf is None and gap in _MONTH_GAPS:
        return Timeframe.MN1
    return tf
