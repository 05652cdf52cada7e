"""The symbols a resumed paper account has positions open on that ``[host] symbols`` no
longer names (a trader who took one out between two live runs).

Left unfed, such a position is never priced: the paper broker checks a stop or a target
only on a bar of its symbol, and DTMS has no rules nor bars to defend it with. So the
live host keeps feeding it (the built-in feed has its series) and trades nothing new on
it, said in one WARNING at start-up; a symbol whose bars the host has not (CSV data
without its file) is named as not priced. A symbol added back after such a gap has its
unplayed bars named too: its stops were not checked over them (docs/architecture.md §5,
a restart skips the bars before where it resumes).
"""

from __future__ import annotations

import bisect
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from hookspecs import Bar

from .brokers.paper_account_reads import read_only
from .config import HostConfig

log = logging.getLogger("hostapp.host")


def open_on(account: str) -> tuple[dict[str, list[int]], dict[str, datetime]]:
    """The account file's open tickets by symbol, and each symbol's newest quote time
    (empty for a missing or unreadable file)."""
    from .market.timeframes import from_epoch

    read = read_only(
        account,
        ("SELECT symbol, ticket FROM positions ORDER BY ticket", ()),
        ("SELECT symbol, time FROM quotes", ()),
    )
    if read is None:
        return {}, {}
    rows, quotes = read
    tickets: dict[str, list[int]] = {}
    for symbol, ticket in rows:
        tickets.setdefault(str(symbol), []).append(int(ticket))
    return tickets, {str(s): from_epoch(float(t)) for s, t in quotes}


def _tickets(numbers: Sequence[int]) -> str:
    listed = ", ".join(str(t) for t in numbers)
    return f"ticket {listed} is" if len(numbers) == 1 else f"tickets {listed} are"


def keep_open_symbols_fed(
    config: HostConfig,
    account: str,
    series: Mapping[str, Iterable[Bar]],
    *,
    base: str,
    seed: int,
    days: float,
) -> tuple[dict[str, Iterable[Bar]], frozenset[str]]:
    """``series`` with the built-in bars of each symbol an open position of ``account``
    is on that ``series`` lacks, and those symbols (fed and priced, never traded): one
    WARNING names them, and those that cannot be fed."""
    from .data import streamed_builtin_series
    from .market.synthetic import SYMBOL_PROFILES

    tickets, _ = open_on(account)
    missing = {s: t for s, t in tickets.items() if s not in series}
    if not missing:
        return dict(series), frozenset()
    builtin = config.host.data == "builtin"
    fed = [s for s in missing if builtin and s in SYMBOL_PROFILES]
    more = streamed_builtin_series(fed, days=days, seed=seed, timeframe=base) if fed else {}
    told = [
        f"{s} is not in [host] symbols but {_tickets(missing[s])} open on it: priced and "
        "defended until it closes; add it back to trade it"
        for s in fed
    ] + [
        f"{s} is not in [host] symbols and this run has no bars for it, but "
        f"{_tickets(t)} open on it: not priced (its stop and target are not checked, DTMS "
        "cannot defend it) until it is added back with its data"
        for s, t in missing.items()
        if s not in fed
    ]
    _say("; ".join(told))
    return {**series, **more}, frozenset(fed)


def unplayed_note(account: str, series: Mapping[str, Iterable[Bar]], since: datetime) -> None:
    """One WARNING naming the open positions whose symbol's bars up to ``since`` were not
    all played (it was out of ``[host] symbols`` meanwhile, unfed): the restart skips
    them as history, so their stops and targets were never checked over those bars."""
    tickets, quoted = open_on(account)
    told: list[str] = []
    for symbol, numbers in tickets.items():
        bars, last = series.get(symbol), quoted.get(symbol)
        if not isinstance(bars, Sequence) or last is None or last >= since:
            continue  # a streamed (built-in) series: kept fed while out (keep_open_symbols_fed)
        skipped = bisect.bisect_left(bars, since, key=_time) - bisect.bisect_left(
            bars, last, key=_time
        )
        if skipped > 0:
            told.append(
                f"{symbol}'s {skipped} bar(s) from {last:%Y-%m-%d %H:%M} to "
                f"{since:%Y-%m-%d %H:%M} were not played while {_tickets(numbers)} open on "
                "it (out of [host] symbols): its stop and target were not checked over them"
            )
    if told:
        _say("; ".join(told) + "; they are checked again from the next bar")


def _time(bar: Bar) -> datetime:
    return bar.time


def _say(line: str) -> None:
    """A start-up WARNING: in the log, and on the terminal (which shows only errors)."""
    log.warning("%s", line)
    print(f"hostapp: {line}", file=sys.stderr)
