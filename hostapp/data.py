"""The data a run replays: the seeded synthetic series or the user's CSV files, the
timeframe their bar spacing says, and what the paper broker needs to know of a symbol it
has no profile for (digits, lot size).

:mod:`hostapp.app` builds a host over it; ``hostapp serve`` (:mod:`hostapp.runtime`)
streams the same series.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from hookspecs import Bar, ConfigError

from .config import HostConfig
from .data_table import check_data_table
from .market.csvsplits import SplitTimes
from .market.timeframes import timeframe_seconds
from .market.zones import parse_zone
from .spacing import infer_timeframe as infer_timeframe

#: Where the builtin synthetic data starts: a Monday, so the sessions line up.
BUILTIN_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_DAYS = 30
#: the longest builtin feed or trimmed data: a hundred years, far short of the calendar's
#: end (year 9999), where three million days failed in a traceback
MAX_DAYS = 36_500


def builtin_series(
    symbols: Sequence[str], *, days: float, seed: int, timeframe: str = "M5"
) -> dict[str, list[Bar]]:
    """The seeded synthetic feed: ``days`` calendar days of ``timeframe`` bars per symbol.

    Calendar days, not ``days × bars-per-day`` bars: the FX and metal series have no bars
    at the weekend, so counting bars would run them past the period a 24/7 series covers.
    """
    streamed = streamed_builtin_series(symbols, days=days, seed=seed, timeframe=timeframe)
    return {s: list(bars) for s, bars in streamed.items()}


def streamed_builtin_series(
    symbols: Sequence[str], *, days: float, seed: int, timeframe: str = "M5"
) -> dict[str, Iterable[Bar]]:
    """The bars of :func:`builtin_series`, made as a feed reads them: a live run or a
    server over ``days`` costs the same memory and start-up time whatever ``days``."""
    from .market.synthetic import SyntheticSeries

    end = BUILTIN_START + timedelta(days=days)
    return {
        s: SyntheticSeries(s, BUILTIN_START, end, timeframe=timeframe, seed=seed) for s in symbols
    }


def config_zone(config: HostConfig) -> tzinfo | None:
    """The clock ``[host] data_tz`` says the data was written on (checked when the
    configuration was read); ``None`` when it says none."""
    told = config.host.data_tz
    return parse_zone(told) if told is not None else None


def bar_zone(config: HostConfig) -> tzinfo | None:
    """The clock the host's coarser bars are built on: ``[host] bar_clock`` when set,
    else the data's own (:func:`config_zone`), as a MetaTrader server builds its D1 bars
    on its own clock."""
    told = config.host.bar_clock
    return parse_zone(told) if told is not None else config_zone(config)


def first_time(bars: Iterable[Bar]) -> datetime | None:
    """Open time of the first bar of a stored or streamed series; ``None`` when empty."""
    if isinstance(bars, Sequence):
        return bars[0].time if bars else None
    return next((b.time for b in bars), None)


def time_of_bar(bars: Iterable[Bar], index: int) -> datetime | None:
    """Open time of bar ``index`` (from 0) of a stored or streamed series; ``None`` when
    the series is shorter."""
    if isinstance(bars, Sequence):
        return bars[index].time if len(bars) > index else None
    return next((b.time for b in itertools.islice(bars, index, index + 1)), None)


def load_csv_series(
    files: Mapping[str, str | Path], zone: tzinfo | None = None
) -> dict[str, list[Bar]]:
    """``symbol → CSV file``; raises ``CsvError`` naming file and line. ``zone``: where
    times written without an offset were written (``None``: not said, :func:`load_csv_files`)."""
    loaded = load_csv_files([(str(p), s) for s, p in files.items()], zone)
    return {s: loaded[str(p), s] for s, p in files.items()}


def load_csv_files(
    files: Iterable[tuple[str, str]],
    zone: tzinfo | None = None,
    notes: list[str] | None = None,
    *,
    keep_spikes: bool = False,
    splits: SplitTimes | None = None,
) -> dict[tuple[str, str], list[Bar]]:
    """``(CSV file, its symbol)`` pairs read as ``(file, symbol) → bars``: the symbol's
    rules, when the paper broker knows them, give the point of a spread in points, and a
    file of several symbols is read for that one (a file named for two symbols is read
    for each). ``notes`` gets the sentence naming the files' columns that were not
    read, if any, and what was mended in them (rows skipped or dropped, a file reversed),
    and the spikes kept when ``keep_spikes`` (``[host] spikes = "keep"``) keeps them
    instead of refusing them, the files read as UTC whose bars keep an exchange's
    hours on another clock (:mod:`.market.exchange_hours`), and the pairs whose weeks
    open outside forex's hours as read (:mod:`.market.fx_week`); ``splits`` the time and ratio
    of each split in a symbol's unadjusted prices (:mod:`hostapp.market.csvsplits`)."""
    from .brokers.paper_rules import currency_pair, known_rules
    from .market.csvdata import left_out_note, load_csv
    from .market.exchange_hours import exchange_clock_note
    from .market.fx_week import fx_week_note

    pairs = list(dict.fromkeys(files))
    unread: dict[str, list[str]] = {p: [] for p, _ in pairs}
    mended: list[str] = []
    loaded: dict[tuple[str, str], list[Bar]] = {}
    for p, s in pairs:
        again = any(q == p for q, _ in loaded)  # its columns are said once
        loaded[p, s] = load_csv(
            p,
            symbol_info=known_rules(s),
            zone=zone,
            left_out=[] if again else unread[p],
            notes=mended,
            keep_spikes=keep_spikes,
            symbol=s,
            splits=None if splits is None else splits.setdefault(s, []),
        )
    note = left_out_note(unread)
    if notes is not None:
        by_file = {p: bars for (p, _), bars in loaded.items()}  # a file's bars, once
        clock = exchange_clock_note(by_file, zone)  # an exchange's hours read as UTC's
        series = {s: bars for (_, s), bars in loaded.items()}
        week = fx_week_note(series, currency_pair)  # a pair's weeks, hours off
        notes.extend(filter(None, [note, *dict.fromkeys(mended), clock, week]))
    return loaded


def joined_series(
    parts: Sequence[tuple[str, str, list[Bar]]], notes: list[str] | None = None
) -> dict[str, list[Bar]]:
    """``(file, symbol, bars)`` as one series per symbol: several files of one symbol
    (Binance's months, HistData's years, exports split by date) are joined in time order,
    whatever order they were named in. Two that overlap with the very same bars (export
    parts that share their edges) are read once there, said in ``notes``; ``ConfigError``
    when the bars they share differ: which file's would count is not for the host to
    guess."""
    by_symbol: dict[str, list[tuple[str, list[Bar]]]] = {}
    for path, symbol, bars in parts:
        by_symbol.setdefault(symbol, []).append((path, bars))
    series: dict[str, list[Bar]] = {}
    for symbol, files in by_symbol.items():
        files.sort(key=lambda f: f[1][0].time)
        joined = list(files[0][1])
        for (before, earlier), (path, bars) in itertools.pairwise(files):
            if path == before:  # the same file twice: no parts of one series
                raise ConfigError(f"{path} is named twice ({symbol})")
            if bars[0].time <= joined[-1].time:
                shared = [b for b in bars if b.time <= joined[-1].time]
                if not _same_bars(joined, shared):
                    raise ConfigError(
                        f"{path} and {before} overlap ({symbol}) with other bars: {path} "
                        f"starts at {bars[0].time.isoformat()}, {before} ends at "
                        f"{earlier[-1].time.isoformat()}"
                    )
                if notes is not None:
                    notes.append(
                        f"{path} repeats {len(shared):,} bars of {before} ({symbol}, "
                        f"{shared[0].time:%Y-%m-%d %H:%M} to {shared[-1].time:%Y-%m-%d %H:%M}), "
                        "the very same: read once"
                    )
                bars = bars[len(shared) :]
            joined.extend(bars)
        series[symbol] = joined
    return series


def _same_bars(joined: Sequence[Bar], shared: Sequence[Bar]) -> bool:
    """Whether the bars ``joined`` has from ``shared``'s first time to its last are
    ``shared``, time for time and price for price."""
    start = bisect.bisect_left(joined, shared[0].time, key=lambda b: b.time)
    end = bisect.bisect_right(joined, shared[-1].time, key=lambda b: b.time)
    return list(joined[start:end]) == list(shared)


#: A gap in the bars that is more than a weekend with a holiday beside it.
LONG_GAP = timedelta(days=4)


def long_gap(base: str) -> timedelta:
    """A stop in the bars longer than a market closes: more than four days, or three bars
    of the timeframe ``base``."""
    return max(LONG_GAP, 3 * timedelta(seconds=timeframe_seconds(base)))


def data_gaps_note(series: Mapping[str, Sequence[Bar]], base: str) -> str | None:
    """Where the bars stop for longer than a market closes (more than four days, or three
    bars of the timeframe): a month missing between two joined files, or inside one. A
    replay holds its positions across such a gap with their stops unchecked and fills
    them at the first bar after it, which only this note says."""
    limit = long_gap(base)
    told: list[str] = []
    for symbol, bars in series.items():
        gaps = [(a.time, b.time) for a, b in itertools.pairwise(bars) if b.time - a.time > limit]
        if not gaps:
            continue
        start, end = max(gaps, key=lambda gap: gap[1] - gap[0])
        longest = f"{(end - start) / timedelta(days=1):.0f} days from {start:%Y-%m-%d %H:%M}"
        told.append(f"{symbol} {len(gaps)} (the longest {longest} to {end:%Y-%m-%d %H:%M})")
    if not told:
        return None
    return (
        f"the bars stop for more than {limit / timedelta(days=1):.0f} days in places: "
        f"{'; '.join(told)}; a position open then was held across, its stop and target "
        f"checked again only on the first bar after"
    )


def data_spans_note(series: Mapping[str, Sequence[Bar]], base: str) -> str | None:
    """The symbols whose bars start later or end earlier than the run's (by more than a
    gap :func:`data_gaps_note` would name): files of several symbols that do not cover
    the same dates. A position open on a symbol after its last bar is held at its last
    price to the end of the run, its stop and target never checked again, and counted
    "still open at the end"; before its first bar the symbol is not traded. Only this
    note says why."""
    spans = {symbol: (bars[0].time, bars[-1].time) for symbol, bars in series.items() if bars}
    if len(spans) < 2:
        return None
    limit = long_gap(base)
    first = min(start for start, _ in spans.values())
    last = max(end for _, end in spans.values())
    told: list[str] = []
    for symbol, (start, end) in sorted(spans.items()):
        late, early = start - first > limit, last - end > limit
        if late or early:
            told.append(
                f"{symbol}'s from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
                if late and early
                else f"{symbol}'s from {start:%Y-%m-%d %H:%M}"
                if late
                else f"{symbol}'s to {end:%Y-%m-%d %H:%M}"
            )
    if not told:
        return None
    return (
        f"the symbols' bars do not cover the same dates (the run's: {first:%Y-%m-%d %H:%M} "
        f"to {last:%Y-%m-%d %H:%M}): {'; '.join(told)}; a symbol is traded only within its "
        "own bars, and a position still open at its last bar is held at that price, its "
        "stop and target unchecked, to the end of the run"
    )


def check_resumable(series: Mapping[str, Iterable[Bar]], since: datetime, where: str) -> None:
    """A ConfigError when no bar of ``series`` opens after ``since``: an account traded up
    to then (``where`` names it) has nothing left to run on."""
    for bars in series.values():
        last = getattr(bars, "end", None)  # a streamed series knows its end
        if isinstance(last, datetime) and last > since:
            return
        if not isinstance(last, datetime) and any(bar.time > since for bar in bars):
            return
    raise ConfigError(
        f"{where} was last traded at {since:%Y-%m-%d %H:%M} UTC, after the last bar of "
        f"this run's data: nothing left to run on it (more --days, other data, or "
        f"delete the file for a fresh account)"
    )


def config_series(
    config: HostConfig,
    *,
    days: float | None,
    seed: int,
    notes: list[str] | None = None,
    splits: SplitTimes | None = None,
) -> tuple[dict[str, list[Bar]], str]:
    """The data ``[host] data`` names, and its base timeframe. ``days`` trims CSV data to
    its first N days; for builtin data it is the length (default 30). ``notes`` gets
    what the run should say about the files, ``splits`` the splits in their prices
    (:func:`load_csv_files`)."""
    series, base = streamed_config_series(config, days=days, seed=seed, notes=notes, splits=splits)
    return {s: list(bars) for s, bars in series.items()}, base


def streamed_config_series(
    config: HostConfig,
    *,
    days: float | None,
    seed: int,
    notes: list[str] | None = None,
    splits: SplitTimes | None = None,
) -> tuple[dict[str, Iterable[Bar]], str]:
    """:func:`config_series` with the builtin data streamed (CSV data is read whole): for
    the live paper host and the server, which keep only a recent window of it."""
    data = config.host.data
    tf = config.host.timeframe
    if days is not None and not 0 < days <= MAX_DAYS:  # NaN too
        raise ConfigError(f"days must be more than 0 and at most {MAX_DAYS:,}, got {days}")
    check_data_table(config)
    if isinstance(data, str):  # "builtin": checked above
        base = tf if timeframe_seconds(tf) < timeframe_seconds("M5") else "M5"
        length = DEFAULT_DAYS if days is None else days
        symbols = config.host.symbols
        return streamed_builtin_series(symbols, days=length, seed=seed, timeframe=base), base
    root = config.path.parent if config.path is not None else Path()
    zone = config_zone(config)
    named = [(f, s) for s, v in data.items() for f in ([v] if isinstance(v, str) else v)]
    keep = config.host.spikes == "keep"
    pairs = [(str(root / f), s) for f, s in named]
    loaded = load_csv_files(pairs, zone, notes, keep_spikes=keep, splits=splits)
    parts = [(f, s, loaded[str(root / f), s]) for f, s in named]
    # one timeframe for all: the host cycles on one base timeframe, and a symbol whose bars
    # are coarser would look stale most of the time (the replay command refuses it too)
    try:
        spacings = [(f, s, infer_timeframe(bars, f)) for f, s, bars in parts]
    except ConfigError as exc:
        raise ConfigError(f"{config.source} [host] key 'data': {exc}") from None
    (first, first_symbol, base), *others = spacings
    for path, symbol, spacing in others:
        if spacing != base:
            raise ConfigError(
                f"{config.source} [host] key 'data': {path} ({symbol}) has {spacing} bars but "
                f"{first} ({first_symbol}) has {base} bars; give every symbol bars of one "
                "timeframe"
            )
    try:
        series = joined_series(parts, notes)
    except ConfigError as exc:
        raise ConfigError(f"{config.source} [host] key 'data': {exc}") from None
    if days is not None:
        series = {s: _first_days(b, days) for s, b in series.items()}
    return dict(series), base


def _first_days(bars: list[Bar], days: float) -> list[Bar]:
    if not bars:
        return bars
    if bars[-1].time - bars[0].time < timedelta(days=days):
        return bars  # all of them (and no date past the calendar's end for bars of 9999)
    end = bars[0].time + timedelta(days=days)
    return [b for b in bars if b.time < end]
