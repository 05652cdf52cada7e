"""On which clock the host's coarser bars are built (``[host] bar_clock``,
``replay --bar-clock``), and the note that says when the data's clock makes stubs of them.

A market that opens or closes inside a bucket of the bars' clock leaves a bar built from
a few hours of it: FX opens on Sunday evening UTC, so D1 bars on UTC days are five
trading days and a two- or three-hour Sunday bar, about one bar in six (H4 has stubs at
each open and close too). Their ranges are a fraction of a day's, and they weigh on
everything measured in bars (an ATR, an average, a deadline of so many bars). A broker's
server builds its days on its own clock, most often New York's close (UTC+2/+3), where an
FX week is five whole days: ``bar_clock = "America/New_York+7"`` builds them so from UTC
bars (README, "Using it").
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import tzinfo

from hookspecs import Bar, Timeframe

from .market.timeframes import to_epoch
from .market.zones import parse_zone

#: a host bar built from less than this share of the base bars of a full one (the most
#: any bucket holds) is a stub
STUB_SHARE = 0.5
#: said when at least this share of the host's bars are stubs (one in twenty)
SAY_FROM = 0.05
#: the clock the note suggests: a broker's server on New York's close (UTC+2/+3)
SUGGESTED = "America/New_York+7"


def zone_arg(text: str) -> str:
    """``--bar-clock``: a zone :func:`~.market.zones.parse_zone` reads, kept as written."""
    try:
        parse_zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def stubs(bars: Sequence[Bar], timeframe: Timeframe, zone: tzinfo | None) -> tuple[int, int]:
    """How many ``timeframe`` bars of ``bars`` (finer) are stubs, and how many there are
    (the first and the last bucket, which the data may cut, left out of both). A stub is
    measured against the fullest bucket, not the median one: a share open six and a half
    hours a day makes most of its H4 bars short (two of three each day), and the median
    of them is short itself."""
    per = Counter(timeframe.bucket_epoch(to_epoch(b.time), zone) for b in bars)
    counts = [per[k] for k in sorted(per)][1:-1]
    if len(counts) < 3:
        return 0, len(counts)
    full = max(counts)
    return sum(1 for c in counts if c < STUB_SHARE * full), len(counts)


def stub_note(
    series: Mapping[str, Sequence[Bar]],
    base: str,
    timeframe: str,
    zone: tzinfo | None,
    *,
    by: str = "--bar-clock (or [host] bar_clock)",
    data_by: str = "--data-tz (or [host] data_tz)",
) -> str | None:
    """One sentence on the symbols whose ``timeframe`` bars, built from ``base`` bars on
    ``zone``'s clock, are stubs often enough to matter; None when none are (or the bars
    are not resampled). ``by``: how this command sets the clock (``hostapp run`` has
    only the configuration's key); ``data_by``: how it names the data's own clock.
    The note suggests New York's close (:data:`SUGGESTED`) only where that clock would
    mend them: when the bars are built on it already (``--bar-clock
    America/New_York+7`` was told to try it), or it leaves stubs as well, it says what
    else to check instead."""
    host, fine = Timeframe.parse(timeframe), Timeframe.parse(base)
    if host.seconds <= fine.seconds or host.seconds < Timeframe.H4.seconds:
        return None
    said, stubby = [], []
    for symbol, bars in sorted(series.items()):
        short, total = stubs(bars, host, zone)
        if total and short / total >= SAY_FROM:
            said.append(f"{symbol} {short:,} of {total:,}")
            stubby.append(bars)
    if not said:
        return None
    text = (
        f"{host.value} bars built from under half the {base} bars of a full one (a market "
        f"that opens or closes inside a {host.value} bar of the bars' clock, as FX's Sunday "
        f"evening on UTC days): {', '.join(said)}; their short ranges weigh on what is "
        "measured in bars. "
    )
    if str(zone) == SUGGESTED:
        head = f"They are built on {SUGGESTED} already"
    elif _mends(stubby, host, parse_zone(SUGGESTED)):
        return text + (
            f'A broker builds them on its server\'s clock: {by} "{SUGGESTED}" builds days '
            "that open at New York's close"
        )
    else:
        head = f'Building them on "{SUGGESTED}" with {by} leaves stubs too'
    return text + (
        f"{head}: if the file's times are not on the clock they are read on, {data_by} "
        "names the one they were written on; else they are the market's own short "
        "sessions (holidays, half days)"
    )


def _mends(series: Sequence[Sequence[Bar]], timeframe: Timeframe, zone: tzinfo) -> bool:
    """Whether building on ``zone`` leaves no symbol of ``series`` with stubs enough to
    say."""
    for bars in series:
        short, total = stubs(bars, timeframe, zone)
        if total and short / total >= SAY_FROM:
            return False
    return True
