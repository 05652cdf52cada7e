"""The host's own notes in a run's summary: what it had to guess, refuse, hold back or
switch off, each in words, so a reader of the figures knows what is behind them
(``host_notes``; :func:`hostapp.driving.run_summary` gathers them)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hookspecs import Bar, MarketView, SymbolInfo, Trade

from .data import data_gaps_note, data_spans_note
from .hookcalls import PluginInfo, switched_off_kind
from .loop import LoopStats
from .market.timeframes import timeframe_seconds
from .outcomes import parent_ticket


@dataclass(frozen=True)
class GapFill:
    """A stop or a take-profit filled beyond its price: ``beyond`` is how far, in price,
    against the trade for a stop and in its favour for a target; ``r`` that distance in
    R of the trade the position belongs to (``None`` without its entry's stop)."""

    when: datetime
    trade: Trade  # the position as it closed: its stop or target, its fill
    reason: str
    level: float
    beyond: float
    r: float | None


def gap_fills(
    entries: Sequence[tuple[datetime, Trade, str]],
    closes: Sequence[tuple[datetime, Trade, str]],
    info: Callable[[str], SymbolInfo | None],
) -> list[GapFill]:
    """The closes by a stop or a take-profit whose fill is beyond its price by more than
    half a point of the symbol (``info`` gives the point; the broker rounds a fill to it)
    and, for a trade with a stop, by :data:`GAP_R` of its R or more: the bar opened past
    the level, a gap such as a market's overnight or weekend close, and filled there
    (:func:`hostapp.brokers.paper_rules.hit`; a live broker's slippage too). R is the
    trade's, the risk its entry took (a hedge's gap counts against the trade it
    defends)."""
    risk = {
        t.ticket: abs(t.entry_price - t.stop_loss) * t.volume
        for _, t, _ in entries
        if t.stop_loss is not None
    }
    half_point: dict[str, float] = {}  # asked once a symbol (a live broker's terminal)
    out: list[GapFill] = []
    for when, trade, reason in closes:
        level = trade.stop_loss if reason == "stop_loss" else trade.take_profit
        if reason not in ("stop_loss", "take_profit") or level is None:
            continue
        if trade.close_price is None:
            continue
        sign = 1 if trade.direction == "buy" else -1
        beyond = (trade.close_price - level) * sign * (-1 if reason == "stop_loss" else 1)
        if beyond <= 1e-9 * abs(level):
            continue  # at its price, as nearly every stop and target fills
        if trade.symbol not in half_point:
            rules = info(trade.symbol)
            half_point[trade.symbol] = rules.point / 2 if rules is not None else 0.0
        if beyond <= half_point[trade.symbol] + 1e-9 * abs(level):
            continue
        taken = risk.get(parent_ticket(trade))
        r = beyond * trade.volume / taken if taken else None
        if r is None or r >= GAP_R:
            out.append(GapFill(when, trade, reason, level, beyond, r))
    return out


#: A fill past its level by less than this share of the trade's R changes no figure a
#: reader would judge otherwise (a weekend's EURUSD target 0.6 pips past: 0.05R); a stop
#: gapped through by 0.81R made a 1.81R loss of a 1R stop.
GAP_R = 0.1


#: the bars a split's ratio moved the prices on, by symbol: each bar's open and end
#: times and the split's ratio in words (:func:`split_bars`)
SplitBars = Mapping[str, Sequence[tuple[datetime, datetime, str]]]


def split_bars(splits: Mapping[str, Sequence[tuple[datetime, str]]], base: str) -> SplitBars:
    """The bars of ``splits`` (a split's bar time and ratio, by symbol:
    :mod:`hostapp.market.csvsplits`) as their open and end times, the bars of the base
    timeframe ``base`` on which stops are checked."""
    length = timedelta(seconds=timeframe_seconds(base))
    return {s: [(t, t + length, what) for t, what in told] for s, told in splits.items()}


#: what a fill past its price across a split is
_SPLIT = "a split in the file's unadjusted prices, no loss a holder had"


def gaps_note(
    fills: Sequence[GapFill],
    info: Callable[[str], SymbolInfo | None],
    result_r: Mapping[int, float | None] | None = None,
    live: bool = False,
    splits: SplitBars | None = None,
) -> str | None:
    """How many stops (and take-profits) filled beyond their price, and the worst stop
    (else the largest target): its ticket, its level against its fill, when, and how far
    past in R, with the trade's R from ``result_r`` (by ticket) when it closed. One
    Monday open through a Friday stop can make a run's average loss and most of its
    drawdown: a buy stopped at 304.81 under a 332.97 stop lost 32.48R, and nothing
    said why. A ``live`` run's broker fills past a level by slippage as well as by a
    gap, and the time is the cycle's that found the position closed, not a bar's.
    ``splits``: the bars a split in the file's unadjusted prices moved, by symbol; a
    fill on one is named a split, not a market's gap: no holder lost it."""
    if not fills:
        return None

    def split_of(fill: GapFill) -> str | None:
        told = (splits or {}).get(fill.trade.symbol, ())
        return next((what for start, end, what in told if start < fill.when <= end), None)

    on_splits = [f for f in fills if split_of(f) is not None]
    stops = [f for f in fills if f.reason == "stop_loss"]
    targets = len(fills) - len(stops)
    worst = max(stops or fills, key=lambda f: (f.r if f.r is not None else 0.0, f.beyond))
    t = worst.trade
    rules = info(t.symbol)

    def price(value: float) -> str:
        return f"{value:.{rules.digits}f}" if rules is not None else f"{value:g}"

    counted = []
    if stops:
        counted.append(f"{len(stops):,} stop{'s' if len(stops) > 1 else ''}")
    if targets:
        counted.append(f"{targets:,} take-profit{'s' if targets > 1 else ''}")
    kind = "stop" if worst.reason == "stop_loss" else "take-profit"
    past = f", {worst.r:.2f}R past it" if worst.r is not None else ""
    traded = (result_r or {}).get(parent_ticket(t))
    closed = f" (the trade closed at {traded:+.2f}R)" if traded is not None else ""
    favour = ", the take-profits in the trade's favour" if targets else ""
    which = "" if len(fills) == 1 else "the worst: " if stops else "the largest: "
    if live:
        why = "(slippage, or a gap such as a market's overnight or weekend close)"
        seen = "found closed at"
    elif len(on_splits) == len(fills):
        why = f"on a bar that opened past it: {_SPLIT}"
        seen = "on the bar that ended"
    else:
        why = "on a bar that opened past it (a gap, such as a market's overnight or weekend close)"
        if on_splits:
            favour += f"; {len(on_splits):,} of them at {_SPLIT}"
        seen = "on the bar that ended"
    split = split_of(worst) if not live else None
    seen_split = f" (a split, {split})" if split is not None else ""
    return (
        f"{' and '.join(counted)} filled beyond {'its' if len(fills) == 1 else 'their'} price "
        f"{why}{favour}; {which}ticket {t.ticket} "
        f"({t.symbol} {t.direction}), its {kind} at {price(worst.level)} filled at "
        f"{price(t.close_price or 0.0)} {seen} {worst.when:%Y-%m-%d %H:%M}{seen_split}{past}"
        f"{closed}"
    )


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
        "included; the run's P&L has only what closed during it): in the closes by reason, "
        "not in the trades"
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
    """:func:`data_gaps_note` and :func:`data_spans_note` of the bars a run trades: from
    the first bar opening at or after ``since`` (``--from``, ``--split``'s held-out
    part), whose history before it no position can be open across."""
    if since is not None:
        series = {s: b[bisect_left(b, since, key=_bar_time) :] for s, b in series.items()}
    return [n for n in (data_gaps_note(series, base), data_spans_note(series, base)) if n]


def _bar_time(bar: Bar) -> datetime:
    return bar.time
