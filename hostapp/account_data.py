"""The data a paper account file was traded on, kept in the file's ``meta`` table, so a
live host restarted on it resumes on the same prices (README, "Started again on it").

Resumed on other data (another ``--seed``, or none where the account was traded with one;
another ``[host] data``), the account's positions would be settled at the other data's
prices: a stop at 2143.44 filled at 2373.41, every position closed at once at the first
bar. Such a restart is refused in one line naming both. The built-in feed is told by its
seed and bar timeframe; CSV data by each symbol's files and the first and last bar it had
when the account traded on it, and the clock their times were read on (``[host]
data_tz``: bars that differ after it changed are named for it, not the files): a file
that grew at its end (newer bars appended, a new month's file beside it) still holds
those bars, and resumes.

A file written by a version that kept no such record resumes as before and gets one.
Kept apart from :mod:`hostapp.brokers.paper_account_file`, which keeps the account.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import Bar, ConfigError

from .brokers.paper_account_reads import read_only
from .config import HostConfig

#: the ``meta`` key of the record (JSON)
DATA_KEY = "traded_on"


def data_record(
    config: HostConfig, series: Mapping[str, Iterable[Bar]], base: str, seed: int
) -> dict[str, Any]:
    """What this run's data is, as the account file keeps it."""
    data = config.host.data
    if isinstance(data, str):
        return {"data": "builtin", "seed": seed, "timeframe": base}
    root = config.path.parent if config.path is not None else Path()
    csv: dict[str, Any] = {}
    for symbol, files in data.items():
        bars = series.get(symbol)
        if not isinstance(bars, Sequence) or not bars:
            continue
        names = [files] if isinstance(files, str) else list(files)
        csv[symbol] = {
            "files": [str((root / f).resolve()) for f in names],
            "first": _bar(bars[0]),
            "last": _bar(bars[-1]),
        }
    return {"data": "csv", "symbols": csv, "data_tz": config.host.data_tz}


def _bar(bar: Bar) -> list[Any]:
    return [bar.time.isoformat(), bar.open, bar.high, bar.low, bar.close]


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The record the account file keeps; ``None`` for a file without one (or unreadable)."""
    read = read_only(path, ("SELECT value FROM meta WHERE key = ?", (DATA_KEY,)))
    if not read or not read[0]:
        return None
    try:
        told = json.loads(read[0][0][0])
    except ValueError:
        return None
    return told if isinstance(told, dict) else None


def write_record(path: str | Path, record: Mapping[str, Any]) -> None:
    """Keep ``record`` in the account file (opened by the broker already: its tables exist)."""
    db = sqlite3.connect(str(path), timeout=10.0)
    try:
        with db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (DATA_KEY, json.dumps(record)))
    finally:
        db.close()


def describe(record: Mapping[str, Any]) -> str:
    """The data of ``record`` in a few words."""
    if record.get("data") == "builtin":
        return f"the built-in feed with seed {record.get('seed')} ({record.get('timeframe')} bars)"
    symbols = record.get("symbols") or {}
    files = [f for told in symbols.values() for f in told.get("files", [])]
    return f"the CSV data {', '.join(files) or '(none)'}"


def difference(
    kept: Mapping[str, Any], run: Mapping[str, Any], series: Any, since: datetime | None = None
) -> str | None:
    """How this run's data (``run``, its bars ``series``) differs from the data the account
    was traded on (``kept``), as the end of a sentence; ``None`` when it is the same data
    (a CSV file that only grew at its end is). The file's last bar then is compared only
    when the account had traded past it by ``since`` (its last activity): a bar after it
    was never traded (a MetaTrader export's bar still forming, a file trimmed since)."""
    if kept.get("data") != run.get("data"):
        return f"this run asks {describe(run)}: give [host] data back"
    if run.get("data") == "builtin":
        if kept.get("seed") != run.get("seed"):
            return f"this run asks seed {run.get('seed')}: give --seed {kept.get('seed')}"
        if kept.get("timeframe") != run.get("timeframe"):
            return (
                f"this run asks {run.get('timeframe')} bars (another [host] timeframe): "
                f"give [host] timeframe back"
            )
        return None
    for symbol, told in (kept.get("symbols") or {}).items():
        bars = series.get(symbol)
        if not isinstance(bars, Sequence) or not bars:
            continue  # a symbol left out of [host] symbols: not this check's
        for which in ("first", "last"):
            when = (told.get(which) or [""])[0]
            if which == "last" and since is not None and str(when) > since.isoformat():
                continue  # not traded yet: another version of it changes no position
            if not _holds(bars, told.get(which)):
                if "data_tz" in kept and kept["data_tz"] != run.get("data_tz"):
                    return (  # the files' times without an offset moved: not the files
                        f"this run reads the files' times on {_zone(run.get('data_tz'))}, "
                        f"the account traded them read on {_zone(kept['data_tz'])}: give "
                        "[host] data_tz back"
                    )
                files = ", ".join((run.get("symbols") or {}).get(symbol, {}).get("files", []))
                return (
                    f"this run's {symbol} bars ({files}) lack its {which} bar then "
                    f"({told.get(which, ['?'])[0]}) or differ there: give the same files "
                    "(a file that grew at its end resumes)"
                )
    return None


def _zone(data_tz: Any) -> str:
    """``[host] data_tz`` in words: unset is UTC, but for a layout that says its own."""
    return f"data_tz {data_tz}" if data_tz else "no data_tz (UTC, or the layout's own)"


def _holds(bars: Sequence[Bar], told: Any) -> bool:
    """Whether ``bars`` hold the bar ``told`` (its time and prices) as it was."""
    if not isinstance(told, list) or not told:
        return True
    # the bars are in time order, and ISO times of one offset sort as the times do
    at = bisect.bisect_left(bars, told[0], key=lambda bar: bar.time.isoformat())
    return at < len(bars) and _bar(bars[at]) == told


def check_same_data(
    account: str,
    config: HostConfig,
    series: Mapping[str, Iterable[Bar]],
    base: str,
    seed: int,
    since: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """A ConfigError when the account file was traded on other data than this run's;
    else this run's record, and whether the file had none (an older version's)."""
    run = data_record(config, series, base, seed)
    kept = read_record(account)
    if kept is None:
        return run, True
    differs = difference(kept, run, series, since)
    if differs is not None:
        raise ConfigError(
            f"{config.source} [host.paper] account_file {account} was traded on "
            f"{describe(kept)}; {differs}, or delete the file for a fresh account (README): "
            "other data would settle its positions at other prices"
        )
    return run, False
