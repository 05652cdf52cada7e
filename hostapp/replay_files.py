"""The files of a ``hostapp replay``: read, named, their time zone and their timeframes.

* Each file is replayed as the symbol its name says (``--symbol`` for all of them),
  read past the names exporters give their files (:mod:`.file_symbols`).
* Files of different bar spacings (``EURUSD_M5.csv XAUUSD_H1.csv --timeframe H1``) are
  resampled up to the coarsest, so the feed has one base timeframe (docs/architecture.md
  §8); only when ``--timeframe`` says so, since resampling a file's M5 bars to H1 changes
  how it trades (its stops are checked against H1 bars). Without it, the refusal names
  the flag that would replay them together.
* Files of one symbol under two names (``EURUSD_H1_a.csv`` and ``EURUSD_H1_c.csv``, a
  series split by hand) trade side by side as two symbols on the same rules; where their
  bars overlap the account holds both files' positions at once, which the run says.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import tzinfo
from itertools import pairwise

from hookspecs import Bar, ConfigError, Timeframe

from . import app as appmod
from .brokers.paper_rules import listed_name
from .config import HostConfig
from .data import config_zone
from .file_symbols import SYMBOL, SYMBOL_RULE, file_symbol, renamed_note
from .market.csvsplits import SplitTimes
from .market.resample import check_timeframes, resample
from .market.timeframes import timeframe_seconds
from .market.zones import parse_zone
from .spacing import check_no_finer

#: ``(file, symbol, bars)``, as ``hostapp replay`` reads its files.
ReplayFile = tuple[str, str, list[Bar]]


def replay_files(
    args: argparse.Namespace,
    config: HostConfig,
    notes: list[str],
    splits: SplitTimes | None = None,
) -> list[ReplayFile]:
    """``(file, symbol, bars)`` of each file named: the symbol is ``--symbol`` for all of
    them, else each file's name. ``notes`` gets what the run should say of the files,
    ``splits`` the splits in their prices."""
    files: list[str] = list(args.data)
    if "" in files:  # read as the working folder: "cannot read the file: Is a directory"
        raise ConfigError("replay: an empty file name ('') among the files: name a bar file")
    if args.symbol is not None:
        check_symbol_option(args.symbol)
    named = args.symbol is not None
    symbols = [args.symbol] * len(files) if named else [file_symbol(f) for f in files]
    for path, symbol in zip(files, symbols, strict=True):
        check_printable(path, symbol)
    if len(set(files)) < len(files):
        twice = sorted({f for f in files if files.count(f) > 1})
        raise ConfigError(f"a file named twice: {', '.join(twice)}")
    zone = data_zone(args, config)
    keep = getattr(args, "keep_spikes", False) or config.host.spikes == "keep"
    pairs = list(zip(files, symbols, strict=True))
    said_reading(files)
    loaded = appmod.load_csv_files(pairs, zone, notes, keep_spikes=keep, splits=splits)
    out = [(f, s, loaded[f, s]) for f, s in pairs]
    renamed = None if named else renamed_note(dict(zip(files, symbols, strict=True)))
    notes.extend(filter(None, [renamed, split_symbol_note(out)]))
    return out


#: a file this large takes seconds to read (about 12 s for a year of M1 bars, 28 MB):
#: the terminal is told, rather than left silent before the progress bar
BIG_FILE = 10_000_000


def said_reading(files: Sequence[str]) -> None:
    """One line on stderr before reading files that take a while, with their size."""
    sizes = []
    for path in files:
        with suppress(OSError):
            sizes.append(os.path.getsize(path))
    total = sum(sizes)
    if total >= BIG_FILE:
        many = f"{len(files)} files" if len(files) > 1 else files[0]
        print(f"reading {many} ({total / 1e6:,.0f} MB)...", file=sys.stderr, flush=True)


def check_symbol_option(symbol: str) -> None:
    """A ConfigError with the rule when ``--symbol`` is none (an empty one fell back to
    the files' names without a word)."""
    if not SYMBOL.fullmatch(symbol):
        raise ConfigError(f"--symbol {symbol!r}: expected {SYMBOL_RULE}")


def check_printable(path: str, symbol: str) -> None:
    """A ConfigError naming the file whose name gives a symbol that is no printable text:
    a name in another encoding than the system's (``X\\xffAUUSD.csv``, which Python reads
    with a lone surrogate) failed in the charts, after the replay, losing its results. A
    symbol is a name brokers, plugins and reports show: it is not guessed at (a
    replacement character would make up a symbol no broker has); ``--symbol`` gives it."""
    if symbol.isprintable():
        return
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # its bytes: \\xff
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)  # one line
    if any("\udc80" <= c <= "\udcff" for c in symbol):
        why = "the file's name is not UTF-8 text, so it names no symbol"
    else:
        why = f"the symbol its name gives, {symbol!r}, holds characters that cannot be printed"
    raise ConfigError(f"{shown}: {why}: give the symbol with --symbol NAME, or rename the file")


def data_zone(args: argparse.Namespace, config: HostConfig) -> tzinfo | None:
    """Where the files' times without an offset were written: ``--data-tz``, else
    ``[host] data_tz`` (checked when the configuration was read); ``None`` when neither
    says (UTC, but for a layout that says its own: HistData.com's Eastern Standard Time)."""
    text: str | None = getattr(args, "data_tz", None)
    if text is None:
        return config_zone(config)
    try:
        return parse_zone(text)
    except ValueError as exc:
        raise ConfigError(f"--data-tz: {exc}") from None


def replay_timeframes(
    args: argparse.Namespace,
    files: list[ReplayFile],
    configured: str,
    notes: list[str],
    zone: tzinfo | None = None,
) -> tuple[list[ReplayFile], str, str, tuple[str, ...]]:
    """``(files, base, timeframe, sources)`` of a replay: the files, the files' bar
    spacing, the host's timeframe, and the files (as given) whose own bars are ``base``:
    what a plugin that needs finer bars names (:class:`hookspecs.BarSources`).

    ``--timeframe`` sets the host's timeframe; it must be the spacing of the files or a
    whole multiple of it (the feed then builds its bars from theirs: resampling up); a
    shorter one cannot be made from the data and is refused. Files whose spacing cannot be
    told from their bar gaps take ``--timeframe`` as their spacing. Files of different
    spacings are resampled to the coarsest when ``--timeframe`` is given
    (:func:`to_one_spacing`). Without ``--timeframe``, a configured timeframe the files
    are too coarse for gives way to their spacing, and ``notes`` says so. ``zone``: the
    clock the files were written on, which resampled bars are built on."""
    wanted = args.timeframe
    if wanted is not None:
        try:
            timeframe_seconds(wanted)
        except ValueError as exc:
            raise ConfigError(f"--timeframe: {exc}") from None
        wanted = Timeframe.parse(wanted).value  # one spelling: "m15" is M15
    spacings: dict[str, str] = {}
    for path, _, bars in files:
        try:
            spacings[str(path)] = appmod.infer_timeframe(bars, str(path))
        except ConfigError:
            if wanted is None:
                raise
            check_spacing(bars, wanted, str(path))
            spacings[str(path)] = wanted  # says what the bar gaps could not
    coarsest, widest = coarsest_of(spacings)
    if wanted is not None:
        try:
            check_timeframes(wanted, coarsest)
        except ValueError:
            raise ConfigError(
                f"--timeframe {wanted}: {widest} has {coarsest} bars; the timeframe must be "
                f"{coarsest} or a whole multiple of it (bars are resampled up, never down)"
            ) from None
    files, base = to_one_spacing(files, spacings, wanted, notes, zone)
    sources = tuple(path for path, spacing in spacings.items() if spacing == base)
    if wanted is None:
        try:
            check_timeframes(configured, base)
        except ValueError:  # the configured timeframe cannot be built from this data
            notes.append(
                f"[host] timeframe {configured} was not used: the data's bars are {base}, and "
                f"bars are built up from finer ones, never down; the run traded on {base} bars"
            )
            return files, base, base, sources
        return files, base, configured, sources
    return files, base, wanted, sources


def check_spacing(bars: Sequence[Bar], wanted: str, path: str) -> None:
    """A ConfigError when ``--timeframe`` (``wanted``) would name the spacing of bars
    whose gaps say another: their most common gap must be the timeframe or a whole
    multiple of it (bars of that timeframe with holes; any month for MN1). A file of bars
    one second apart was replayed under ``--timeframe M5`` as M5 bars, each second traded
    as five minutes: bars are built up from the file's own, never relabelled."""
    gaps = Counter(int((b.time - a.time).total_seconds()) for a, b in pairwise(bars[:2001]))
    if not gaps:
        return  # one bar: no gap says otherwise
    gap = gaps.most_common(1)[0][0]
    length = timeframe_seconds(wanted)
    fits = gap >= _MONTH if wanted == "MN1" else gap > 0 and gap % length == 0
    if not fits:
        raise ConfigError(
            f"--timeframe {wanted}: {path} has bars {_spacing(gap)} apart (its most common "
            f"gap; gaps in seconds {sorted(gaps)[:5]}), which are no {wanted} bars; the "
            f"timeframe names the file's spacing only when its gaps are {wanted} or whole "
            "multiples of it"
        )
    check_no_finer(bars, Timeframe.parse(wanted), path)  # H1 bars and then M5 bars


#: the shortest month, in seconds
_MONTH = 28 * 86_400


def _spacing(seconds: int) -> str:
    """A gap in words: ``1 s``, ``7 min``, ``61 days``."""
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def coarsest_of(spacings: Mapping[str, str]) -> tuple[str, str]:
    """``(spacing, file)``: the coarsest of the files' bar spacings, and the first file
    that has it."""
    return max(((s, p) for p, s in spacings.items()), key=lambda sp: timeframe_seconds(sp[0]))


def to_one_spacing(
    files: Sequence[ReplayFile],
    spacings: Mapping[str, str],
    wanted: str | None,
    notes: list[str],
    zone: tzinfo | None = None,
) -> tuple[list[ReplayFile], str]:
    """``(files, base)``: ``files`` with each one's bars at ``base``, the coarsest of
    ``spacings`` (each file's bar spacing), built on ``zone``'s clock. ``wanted`` is
    ``--timeframe``; ``notes`` gets one line per file resampled. A ConfigError when the
    spacings cannot be joined."""
    if len(set(spacings.values())) == 1:
        return list(files), next(iter(spacings.values()))
    coarsest, widest = coarsest_of(spacings)
    for path, spacing in spacings.items():
        try:
            check_timeframes(coarsest, spacing)
        except ValueError:
            raise ConfigError(
                f"{path} has {spacing} bars but {widest} has {coarsest} bars, which cannot be "
                f"made of {spacing} bars: replay them apart"
            ) from None
    if wanted is None:
        finer = next(p for p, s in spacings.items() if s != coarsest)
        raise ConfigError(
            f"{finer} has {spacings[finer]} bars but {widest} has {coarsest} bars: to replay "
            f"them together, add --timeframe {coarsest} (or a multiple of it); the finer bars "
            "are then resampled up"
        )
    # where the replay's data ends: a file that ends earlier (an index's session closing
    # before the coarse bar does) keeps its last coarse bar, as every day's short one
    # is kept, instead of losing it for want of a later bar to close it
    end = max(
        Timeframe.parse(spacings[path]).bucket_end(bars[-1].time, zone)
        for path, _, bars in files
        if bars
    )
    out: list[ReplayFile] = []
    for path, symbol, bars in files:
        spacing = spacings[path]
        if spacing != coarsest:
            bars = resample(bars, coarsest, base=spacing, now=end, zone=zone)
            notes.append(
                f"{path}: its {spacing} bars were resampled to {coarsest}, the spacing of "
                f"{widest}, to replay them together (--timeframe {wanted}); its stops and "
                f"targets are checked against {coarsest} bars"
            )
        out.append((path, symbol, bars))
    return out, coarsest


def split_symbol_note(files: Sequence[ReplayFile]) -> str | None:
    """A sentence on the symbols of ``files`` (``(file, symbol, bars)``) that go by one
    name (``listed_name``) and whose bars overlap in
    time; ``None`` when there are none."""
    spans: dict[str, dict[str, tuple[Bar, Bar]]] = defaultdict(dict)
    for _, symbol, bars in files:
        if bars:
            spans[listed_name(symbol)][symbol] = (bars[0], bars[-1])
    said = []
    for name, by_symbol in spans.items():
        if len(by_symbol) < 2:
            continue
        start = max(first.time for first, _ in by_symbol.values())
        end = min(last.time for _, last in by_symbol.values())
        if start <= end:
            symbols = " and ".join(sorted(by_symbol))
            every = "both" if len(by_symbol) == 2 else "all"
            said.append(
                f"{symbols} are {every} {name} by their names and their bars overlap from "
                f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}: each trades as a symbol of "
                f"its own, so the account holds both files' positions there (--symbol {name} "
                "joins files of one symbol, and refuses an overlap)"
            )
    return "; ".join(said) or None
