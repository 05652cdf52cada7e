"""The host's own notes in a run's summary: what it had to guess, refuse, hold back or
switch off, each in words, so a reader of the figures knows what is behind them
(``host_notes``; :func:`hostapp.driving.run_summary` gathers them). Stops and targets
filled beyond their price have a module of their own, :mod:`hostapp.gap_fill_notes`."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hookspecs import Bar, MarketView

from .data import data_gaps_note, data_spans_note
from .hookcalls import PluginInfo, switched_off_kind
from .loop import LoopStats
from .market.outages import outage_note
from .market.timeframes import timeframe_seconds


def timeframe_note(base: str, timeframe: str, configured: str | None = None) -> str | None:
    """When the run traded on bars built from finer ones (M1 files under the host's M5),
    which only the summary's ``timeframe`` key said, and why: ``configured`` is ``[host]
    timeframe`` (a ``timeframe`` other than it is one ``--timeframe`` asked for). Stops
    and targets are still checked on the data's own bars, so such a run is not a replay
    of the coarser bars. (A ``configured`` the data is too coarse for is said by
    :func:`hostapp.replay_files.replay_timeframes`, which knows there was no
    ``--timeframe``.)"""
    if base == timeframe:
        return None
    if configured is not None and timeframe != configured:
        why = f"as --timeframe {timeframe} asked"
    else:
        why = f"the host's timeframe, [host] timeframe; --timeframe {base} trades on the data's own"
    return (
        f"the data's {base} bars were traded as {timeframe} bars built from them ({why}); "
        f"stops and targets were still checked on every {base} bar, so the results differ "
        f"from a replay of {timeframe} bars"
    )


def host_bars_note(
    market: MarketView, symbols: Sequence[str], base: str, timeframe: str
) -> str | None:
    """The symbols of which not one ``timeframe`` bar was completed from the ``base``
    bars (3 H1 bars run as H4): no strategy was asked for an order on them, and a run
    of no trades said nothing of why (a plugin's own note counts the bars it was given,
    and it was given none). A simulated run's market only: a live one's asks its
    terminal."""
    if base == timeframe:
        return None
    short = [s for s in symbols if not market.bars(s, timeframe, 1)]
    if not short:
        return None
    return (
        f"not one {timeframe} bar of {', '.join(short)} was completed: the data's {base} "
        f"bars end inside the first, so no strategy was asked for an order on "
        f"{'them' if len(short) > 1 else 'it'} (more bars, or a finer --timeframe)"
    )


def refusals_note(stats: LoopStats) -> str | None:
    """The broker's refusals of the strategies' orders, by code with the first message
    of each: a run that opened no trade because every order was refused says why here,
    not only in the log."""
    if not stats.orders_rejected:
        return None
    codes = sorted(stats.refusals.items(), key=lambda item: -item[1][0])
    each = "; ".join(f"{code} {count:,} ({message})" for code, (count, message) in codes)
    return (
        f"the broker refused {stats.orders_rejected:,} of the {stats.orders_proposed:,} orders "
        f"proposed: {each}"
    )


def carried_note(stats: LoopStats) -> str | None:
    """Closes of positions already open when the run started (a restarted host's trades
    and their hedges, a resumed account's): their reasons are in the closes, but they are
    no trade of this run's counts, which said 8 closed beside 10 closes by reason. Their
    result is the broker's for the whole position, a part it closed before this run
    included, so it is said as such, not as a share of the run's P&L."""
    n = stats.carried_closes
    if not n:
        return None
    return (
        f"{n:,} position{'s' if n > 1 else ''} open when this run started closed during it "
        f"(a restarted host's trades and their hedges, or opened by hand), their result "
        f"{stats.carried_profit:+,.2f} over their whole lives (parts closed before this run "
        "included; the run's P&L has only what closed during it): in the position closes by "
        "reason, not in the trades"
    )


def data_ended_note(stats: LoopStats) -> str | None:
    """A ``--speed`` live run stops when its data ends, which looked like a run that
    stopped for no reason: its summary said nothing, ``interrupted`` was false."""
    if stats.data_ended is None:
        return None
    return (
        f"the run stopped because its data ended (its last bar, closed at "
        f"{stats.data_ended:%Y-%m-%d %H:%M} UTC, was played): a --speed run plays its bars "
        "once; this account file has nothing left to run on with the same data"
    )


def netted_note(stats: LoopStats) -> str | None:
    """Orders that changed a netting account's one position per symbol instead of opening
    a trade of their own: counted apart from the trades, which would otherwise have
    counted a reduction as a new entry (docs/mt5.md, "Netting accounts")."""
    if not stats.netted:
        return None
    total = sum(stats.netted.values())
    each = ", ".join(f"{effect} {count:,}" for effect, count in sorted(stats.netted.items()))
    return (
        f"{total:,} of the {stats.orders_proposed:,} orders proposed changed the symbol's "
        f"netting position ({each}); only a reversal's new side counts as a trade"
    )


def vetoes_note(stats: LoopStats) -> str | None:
    """Orders the plugins' ``allow_order`` vetoed, by kind (the most frequent first; see
    :class:`hookspecs.Veto`): a run that opened nothing because a guard said no, or failed
    closed, says so here."""
    if not stats.orders_vetoed:
        return None
    total = sum(stats.orders_vetoed.values())
    reasons = sorted(stats.orders_vetoed.items(), key=lambda item: -item[1])
    upto = len(reasons) if len(reasons) <= VETO_KINDS_SHOWN else VETO_KINDS_SHOWN - 1
    shown = "; ".join(f"{count:,} × {reason}" for reason, count in reasons[:upto])
    hidden = reasons[upto:]
    more = ""
    if hidden:
        n, orders = len(hidden), sum(count for _, count in hidden)
        more = f"; and {n} other kind{'s' if n > 1 else ''} ({orders:,} orders)"
    return f"{total:,} of the {stats.orders_proposed:,} orders proposed were vetoed: {shown}{more}"


#: The kinds of veto the summary's note names one by one; past it, the rest are counted.
VETO_KINDS_SHOWN = 6


def attention_note(broker: object) -> str | None:
    """Orders whose outcome stayed unknown (the MetaTrader broker's ``needs_attention``:
    no answer, nothing found on the server in time): they may have executed, and none
    was sent again, so only the terminal can tell. A log line each said it; the summary
    is where a trader looks after the run."""
    pending = list(getattr(broker, "needs_attention", None) or ())
    if not pending:
        return None
    shown = "; ".join(pending[:5]) + (f"; and {len(pending) - 5} more" if len(pending) > 5 else "")
    return (
        f"{len(pending)} order{'s' if len(pending) > 1 else ''} of unknown outcome to check in "
        f"the terminal's Trade and History tabs (may have executed; never sent again): {shown}"
    )


def source_notes(*sources: object) -> list[str]:
    """What a live broker or market noted of the run (``run_notes``: a symbol whose bars
    could not be read, the terminal cut off from its trade server): said once each in
    the log when it began, and here, where a trader looks after the run."""
    return [str(n) for source in sources for n in getattr(source, "run_notes", None) or ()]


def skipped_note(stats: LoopStats) -> str | None:
    """Live cycles skipped because the broker failed: positions went unwatched then."""
    if not stats.cycles_skipped:
        return None
    return (
        f"{stats.cycles_skipped} cycles were skipped because the broker failed (the last: "
        f"{stats.skip_error}); no plugin watched the positions during them"
    )


def no_strategy_note(listing: Sequence[PluginInfo]) -> str | None:
    """A run in which no plugin could open a trade: none of those it ran (enabled, or
    switched off by its breaker during the run, whose failure has a note of its own)
    implements ``propose_orders``. Its figures are all zero, and nothing else said why."""
    if any("propose_orders" in i.hooks for i in listing if i.status in ("enabled", "tripped")):
        return None
    return "no enabled plugin proposes orders (propose_orders): the run opened no trade of its own"


def plugin_failure_notes(
    listing: Sequence[PluginInfo],
    stats: LoopStats | None = None,
    failed: Mapping[str, Mapping[str, int]] | None = None,  # hostapp.failed_calls
    tripped: Mapping[str, Mapping[str, Any]] | None = None,  # summary.json's, by plugin
) -> list[str]:
    """One sentence per plugin that failed in the run (isolated, so the run went on):
    its last error, its ``failed`` calls by hook, whether the breaker switched it off
    and when (``tripped``: the summary's entries, by plugin), then what its fail-safe
    answers did since (docs/architecture.md §4): a switched-off guard vetoes every entry,
    a defender holds every trade from the exit manager. A live run's breaker tries a
    plugin again: how often it tripped, and whether it is back on or when it is due."""
    out = []
    for info in listing:
        if not info.error:
            continue
        entry = (tripped or {}).get(info.name, {})
        off = info.status == "tripped"
        if "trips" in entry:  # a live run's breaker, which retries (hostapp.breaker)
            text = f"plugin {info.name} {_retried(entry, off)}"
        else:
            text = f"plugin {info.name} {'was switched off' if off else 'failed'}"
            text += f"{_at(entry.get('at')) if off else ''}: {info.error}"
        counts = (failed or {}).get(info.name, {})
        if counts:
            text += "; failed calls: " + ", ".join(f"{n:,} of {h}" for h, n in counts.items())
        if off:
            text += "".join(f"; {effect}" for effect in _fail_safe_effects(info, stats))
        out.append(f"{text} (hostapp.log says each episode of failures)")
    return out


def _at(when: object) -> str:
    """`` at 2026-03-02 10:05:00 UTC`` of an ISO time; empty when there is none."""
    if not isinstance(when, str) or not when:
        return ""
    return f" at {when.replace('T', ' ').replace('+00:00', ' UTC')}"


def _retried(entry: Mapping[str, Any], off: bool) -> str:
    """What a live run's breaker did with a plugin (a summary entry with ``trips``), in
    words: the last trip and why, how often, and where it stands at the end."""
    trips, retries = int(entry["trips"]), int(entry.get("retries", 0))
    times = f"{trips} time{'s' if trips != 1 else ''}"
    tried = f"{retries} retr{'ies' if retries != 1 else 'y'}"
    last = f"the last{_at(entry.get('at'))}: {entry.get('why')}"
    if entry.get("back_on"):
        return f"was switched off {times} ({last}) and is back on after {tried}"
    if not off:  # on trial at the end: switched back on, not yet through a cycle
        return f"was switched off {times} ({last}); on trial at the end (after {tried})"
    due = entry.get("retry_at")
    when = f", the next due{_at(due)} by the wall clock" if due else ""
    return f"was switched off {times} ({last}); off at the end after {tried}{when}"


def _fail_safe_effects(info: PluginInfo, stats: LoopStats | None) -> list[str]:
    """What a switched-off plugin's fail-safe answers do while it is off, in words."""
    effects = []
    if "allow_order" in info.hooks:
        kind = switched_off_kind(info.name, "allow_order")
        vetoed = stats.orders_vetoed.get(kind, 0) if stats is not None else 0
        effects.append(f"its allow_order now vetoes every entry: {vetoed:,} vetoed since")
    if "is_defensive" in info.hooks:
        effects.append(
            "its is_defensive answers True for every trade since, so every trade counts as "
            "defended (a position manager that asks leaves it alone)"
        )
    if "propose_orders" in info.hooks:
        effects.append("it proposes no orders since")
    return effects


def traded_notes(
    series: Mapping[str, Sequence[Bar]], base: str, since: datetime | None = None
) -> list[str]:
    """:func:`data_gaps_note`, :func:`data_spans_note` and the hours missing at times the
    market does not close (:func:`~.market.outages.outage_note`) of the bars a run
    trades: from the first bar opening at or after ``since`` (``--from``, ``--split``'s
    held-out part), whose history before it no position can be open across."""
    if since is not None:
        series = {s: b[bisect_left(b, since, key=_bar_time) :] for s, b in series.items()}
    period = timedelta(seconds=timeframe_seconds(base))
    notes = (
        data_gaps_note(series, base),
        outage_note(series, period),
        data_spans_note(series, base),
    )
    return [n for n in notes if n]


def _bar_time(bar: Bar) -> datetime:
    return bar.time
