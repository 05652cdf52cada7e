"""When a run's account stopped trading for want of money, and how much of the data it
never traded: the one reading of it that ``summary.json`` (``ran_dry``), the warning over
the A/B's table and ``bench/replay_speed.py`` share.

An account has run dry from the earlier of two moments: the paper broker's stop-out
(equity at or below zero at a bar's close: :mod:`.brokers.paper_stop_out`), and the
first of the orders refused for want of money (``no_money``, MetaTrader's 10019 too)
with no order going through after it. From there on the run's figures stand still while
the bars go on, so a table that compares it with a run that traded them all compares
different spans of the data: README, "The A/B replay".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hookspecs import ResultCode

from .brokers.paper_stop_out import StopOut
from .loop_stats import LoopStats

#: the broker's result code of an order refused for want of money
NO_MONEY = ResultCode.NO_MONEY.value


def ran_dry(stats: LoopStats, broker: object) -> dict[str, Any] | None:
    """``summary.json``'s ``ran_dry`` of a run (``broker``: its stop-out, for the paper
    one): ``since`` (ISO time), ``why``
    (``wiped_out`` or ``no_money``), ``bars_untraded`` (the bars after it, every symbol's),
    ``bars`` (the run's) and ``share`` (of its bars, untraded); ``None`` for a run whose
    account kept trading to the end. An account an earlier run emptied (a live run on its
    file) is that run's, said in its own note."""
    found: list[tuple[datetime, str, int]] = []
    stop_out = getattr(broker, "stop_out", None)
    if isinstance(stop_out, StopOut) and stop_out.when is not None and stop_out.start_balance > 0:
        found.append((stop_out.when, "wiped_out", stop_out.bars_after))
    if stats.dry_from is not None:
        when, bars_before = stats.dry_from
        found.append((when, NO_MONEY, stats.bars - bars_before))
    if not found:
        return None
    when, why, untraded = min(found, key=lambda f: f[0])
    return {
        "since": when.isoformat(),
        "why": why,
        "bars_untraded": untraded,
        "bars": stats.bars,
        "share": round(untraded / stats.bars, 4) if stats.bars else 0.0,
    }


def dry_words(dry: Mapping[str, Any]) -> str:
    """``ran_dry`` in words: ``was wiped out at 1995-12-21 00:00 UTC (69 % of the bars,
    5,527 of 7,983, never traded after)``."""
    how = (
        "was wiped out at"
        if dry["why"] == "wiped_out"
        else "had every order refused for want of money from"
    )
    since = datetime.fromisoformat(dry["since"])
    return (
        f"{how} {since:%Y-%m-%d %H:%M} UTC ({dry['share'] * 100:.0f} % of the bars, "
        f"{dry['bars_untraded']:,} of {dry['bars']:,}, never traded after)"
    )


def dry_warning(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The runs of a comparison (each with the words the notes name it by) whose account
    ran dry, each with when and how much of the data it never traded: their columns stop
    while the bars go on, which the table does not show (a plugin at +4.13R over runs
    wiped out two thirds of the way in)."""
    dry = [(label, run["ran_dry"]) for label, run in runs if run.get("ran_dry")]
    if not dry:
        return None
    each = "; ".join(f"{label} run {dry_words(d)}" for label, d in dry)
    return (
        f"the account ran dry in {len(dry)} of the {len(runs)} runs, so their figures cover "
        f"only the bars before and the columns compare different spans of the data: {each}"
    )
