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
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo

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
    else to check instead. Where the clock cannot build its own bars from the data (bars
    of a day or longer already, or a boundary of its inside the base bars:
    :func:`clock_cut_note`), that is said first, in the same note: a clock that was asked
    for and did nothing, or built other days than its own, was silent."""
    host, fine = Timeframe.parse(timeframe), Timeframe.parse(base)
    cut = clock_cut_note(series, fine, host, zone, by=by)
    stub = _stub_sentence(series, base, host, fine, zone, by=by, data_by=data_by)
    return ". ".join(filter(None, [cut, stub])) or None


def _stub_sentence(
    series: Mapping[str, Sequence[Bar]],
    base: str,
    host: Timeframe,
    fine: Timeframe,
    zone: tzinfo | None,
    *,
    by: str,
    data_by: str,
) -> str | None:
    """:func:`stub_note`'s count of the stubs and the way out of them."""
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


def clock_cut_note(
    series: Mapping[str, Sequence[Bar]],
    base: Timeframe,
    host: Timeframe,
    zone: tzinfo | None,
    *,
    by: str = "--bar-clock (or [host] bar_clock)",
) -> str | None:
    """One sentence when ``zone``'s clock cannot build its own ``host`` bars from the
    ``base`` bars, else ``None``. Bars of a day or longer are traded as the file has
    them (nothing finer to build them from): a file of D1 bars opening at another hour
    than the clock's midnight keeps its own days, and ``--bar-clock`` changed nothing,
    byte for byte, without a word. A base bar holds its whole span, so a boundary of the
    clock's inside it (H4 bars from 00:00 UTC, a day that ends at 21:00 UTC on New
    York's close) goes to the bucket the bar opens in: the days built are the base bars'
    own (UTC days, labelled 21:00 the day before)."""
    if zone is None:
        return None  # the files' own clock: their bars are its bars
    if base.seconds >= Timeframe.D1.seconds:
        return _coarse_sentence(series, base, zone, by)
    if host.seconds <= base.seconds:
        return None
    return _cut_sentence(series, base, host, zone, by)


def _on_grid(bars: Sequence[Bar], base: Timeframe, zone: tzinfo) -> bool:
    """Whether no boundary of ``zone``'s clock can fall inside a ``base`` bar: a base
    that divides an hour and offsets of whole base bars at a sample of the bars' times
    (every zone but a few half-hour ones), checked so that a file of millions of M1 bars
    is not read bar by bar for a cut it cannot have."""
    if 3600 % base.seconds:
        return False
    step = max(1, len(bars) // 200)
    for bar in bars[::step]:
        offset = zone.utcoffset(bar.time.astimezone(zone))
        if offset is None or int(offset.total_seconds()) % base.seconds:
            return False
    return True


def _hhmm(epoch: int) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%H:%M}"


def _coarse_sentence(
    series: Mapping[str, Sequence[Bar]], base: Timeframe, zone: tzinfo, by: str
) -> str | None:
    """The note on bars of a day or longer opening off the clock's midnight."""
    off: list[str] = []
    opens: Counter[str] = Counter()
    starts: Counter[str] = Counter()
    for symbol, bars in sorted(series.items()):
        epochs = [to_epoch(b.time) for b in bars]
        days = [Timeframe.D1.bucket_epoch(t, zone) for t in epochs]
        moved = [(t, d) for t, d in zip(epochs, days, strict=True) if t != d]
        if epochs and len(moved) * 2 > len(epochs):
            off.append(symbol)
            opens.update(_hhmm(t) for t, _ in moved)
            starts.update(_hhmm(Timeframe.D1.next_epoch(d, zone)) for _, d in moved)
    if not off:
        return None
    return (
        f"{', '.join(off)}: the data's bars are {base.value} already, so the bar clock "
        f'"{zone}" (set by {by}) cannot move their boundaries: they open at '
        f"{opens.most_common(1)[0][0]} UTC, its days at {starts.most_common(1)[0][0]} UTC, "
        "and are traded as the file has them; re-export them on the server's clock, or "
        "give finer bars (H1, M1) for the host to build the clock's days from"
    )


def _cut_sentence(
    series: Mapping[str, Sequence[Bar]],
    base: Timeframe,
    host: Timeframe,
    zone: tzinfo,
    by: str,
) -> str | None:
    """The note on a clock whose ``host`` boundaries fall inside the ``base`` bars."""
    said: list[str] = []
    labels: Counter[str] = Counter()
    firsts: Counter[str] = Counter()
    for symbol, bars in sorted(series.items()):
        if _on_grid(bars, base, zone):
            continue
        epochs = [to_epoch(b.time) for b in bars]
        buckets = sorted({host.bucket_epoch(t, zone) for t in epochs})[1:]  # the first: cut
        cut = 0
        for start in buckets:
            i = bisect_left(epochs, start)
            if i and epochs[i - 1] < start < epochs[i - 1] + base.seconds:
                cut += 1  # the bar before the boundary runs across it
                labels[_hhmm(start)] += 1
                if i < len(epochs):
                    firsts[_hhmm(epochs[i])] += 1
        if cut >= 2 and cut >= SAY_FROM * len(buckets):
            said.append(f"{symbol} {cut:,} of {len(buckets):,}")
    if not said or not firsts:
        return None
    label, first = labels.most_common(1)[0][0], firsts.most_common(1)[0][0]
    return (
        f'The bar clock "{zone}" (set by {by}) puts a {host.value} boundary inside '
        f"the {base.value} bars ({', '.join(said)} boundaries): a bar belongs whole to the "
        f"{host.value} bar it opens in, so the {host.value} bars built run from the first "
        f"{base.value} bar in them ({first} UTC), not from the clock's {label} UTC, which "
        f"labels them; give bars the clock's boundaries do not cut (finer ones, or ones "
        "exported on the server's clock)"
    )
