"""Stops and take-profits filled beyond their price, in a run's summary: which, how far
past in R, and whether a split in a file's unadjusted prices rather than a market's gap
moved them (``gaps_note``; :func:`hostapp.driving.run_summary` asks it).

Why a module of its own: one Monday open through a Friday stop can make a run's average
loss and most of its drawdown, and finding those fills (their R from the trade's entry,
the symbol's point, the bars a split moved) is a concern apart from the host's other
notes (:mod:`hostapp.run_notes`), which only say what it guessed, refused or held back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hookspecs import SymbolInfo, Trade

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
