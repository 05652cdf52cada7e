"""Per-trade outcomes of a run, the figures a trader judges a run by, and the pairing of
two runs that took the same entries.

A *trade* is one entry of a strategy: the position it opened plus every position opened
to defend it (a hedge ``DTMS_HEDGE_<ticket>``, a re-add ``DTMS_READD_<ticket>``), so a
defended trade is judged by everything done on its behalf. Results are in R, the risk
taken at entry (|entry − initial stop| × volume), so trades of different symbols and
sizes can be averaged; money figures (profit factor, drawdown) come from the broker's
realised profits.

On a netting account an order the same way adds to the symbol's one position, at a
price averaged over its lots, which its closing deals carry. Such a trade is all the lots
it held (the opening fill and every add: its peak, unless a part closed before an add) at
their volume-weighted entry, so ``(exit − entry) × volume`` is what it made in price, and
its R is counted against the risk of every lot: the opening fill's plus the adds'
(|their price − the opening's initial stop| × their volume), so a stop-out at that stop
is −1R (against the first fill's risk alone it read beyond −1R). The deals show the adds'
lots and mean price, not each add nor the stop it came with: they count as one, against
the opening's stop, so a stop trailed later does not move the denominator
(:mod:`.netting_held`).

The same-entries comparison (``hostapp replay --compare``) replays the entries of a run
without a plugin in a run with it, so only trade management differs; :func:`pair` then
matches the two runs' trades by entry (time, symbol, direction, volume).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookspecs import Quote, Trade
from hookspecs.types import RESERVED_COMMENTS

from .close_times import balance_after_each_close_time, close_order
from .netting_held import netting_held

#: comment prefixes of positions opened on behalf of another trade (the contract's list)
DEFENDING_PREFIXES = RESERVED_COMMENTS
#: two R figures closer than this are the same result (same fills give the same floats)
SAME_R = 1e-9
_NEVER = datetime.min.replace(tzinfo=UTC)


def parent_ticket(trade: Trade, entries: Container[int] = ()) -> int:
    """The strategy trade a position belongs to (itself, or the trade it defends). A
    position in ``entries`` (a strategy's entry of the run) is a trade of its own whatever
    its comment says: the host clears a reserved comment of a proposed order
    (hostapp.order_comments), and a comment set another way must not fold one entry into
    another, which then never closes as a trade of its own."""
    if trade.ticket in entries:
        return trade.ticket
    return defended_ticket(trade.comment) or trade.ticket


def defended_ticket(comment: str) -> int | None:
    """The trade a position's reserved ``comment`` says it was opened for (a hedge's, a
    re-add's), or None."""
    for prefix in DEFENDING_PREFIXES:
        if comment.startswith(prefix):
            tail = comment[len(prefix) :]
            if tail.isdigit():
                return int(tail)
    return None


@dataclass(frozen=True)
class Outcome:
    """One trade of a run: its entry as the broker filled it and how it ended.
    ``closed_at``/``r`` are ``None`` while any of its positions is still open."""

    ticket: int
    symbol: str
    direction: str
    volume: float
    opened_at: datetime
    entry_price: float
    initial_stop: float | None
    take_profit: float | None
    source: str
    closed_at: datetime | None
    #: where the trade's own position closed: the mean of its closing fills (a partial
    #: close, then the rest) weighted by their volumes, so ``(exit - entry) × volume``
    #: is what its own position made in price; its hedges' closes are not in it
    exit_price: float | None
    close_reason: str
    profit: float  # realised: closes, partial ones and closed hedges of an open trade too
    r: float | None
    #: of a trade open at the end: what its open positions float at (money), and the R
    #: of the trade as it stands (realised and floating moves; ``None`` without a stop);
    #: ``None`` for a closed trade. Apart from ``r``, so the figures of closed trades
    #: (:func:`metrics`, :func:`paired_metrics`) count no floating result
    floating: float | None = None
    floating_r: float | None = None
    #: the opening fill's lots where ``volume`` (and ``entry_price``) count a netting
    #: position's adds too (the module's docstring); ``None``: the same as ``volume``
    opening_volume: float | None = None
    #: what the plugins did to it, as trades.csv shows it (:mod:`hostapp.defence_rows`):
    #: the states it entered and the actions carried out, each ``what@time``
    states: str = ""
    actions: str = ""

    @property
    def key(self) -> tuple[datetime, str, str, float]:
        """What identifies an entry across runs: its opening fill, which the
        same-entries run opens again (the adds are other orders, not entries)."""
        opened = self.volume if self.opening_volume is None else self.opening_volume
        return (self.opened_at, self.symbol, self.direction, round(opened, 8))

    @property
    def hours_held(self) -> float | None:
        if self.closed_at is None:
            return None
        return (self.closed_at - self.opened_at).total_seconds() / 3600


def _exit_prices(closed: Sequence[Trade], own: Container[int]) -> dict[int, float]:
    """Each trade's exit price (:attr:`Outcome.exit_price`) from the broker's closed
    positions: the last fill alone made a trade half closed at its target and half at
    breakeven read as closed at breakeven."""
    fills: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for t in closed:
        if t.close_price is not None and parent_ticket(t, own) == t.ticket:
            fills[t.ticket].append((t.close_price, t.volume))
    out: dict[int, float] = {}
    for ticket, parts in fills.items():
        if len({price for price, _ in parts}) == 1:  # one price: that one, no rounding noise
            out[ticket] = parts[0][0]
        elif (volume := sum(v for _, v in parts)) > 0:  # to 10 places: not 1.1076000000000001
            out[ticket] = round(sum(price * v for price, v in parts) / volume, 10)
    return out


def outcomes(
    entries: Sequence[tuple[datetime, Trade, str]],
    closes: Sequence[tuple[datetime, Trade, str]],
    closed: Sequence[Trade],
    open_positions: Sequence[Trade] = (),
    quotes: Mapping[str, Quote] | None = None,
) -> list[Outcome]:
    """Every entry of a run with its outcome. ``entries``/``closes`` are the trading
    loop's (time, trade, source or reason); ``closed`` the broker's closed positions
    (with realised profit); ``open_positions`` what is still open at the end (their
    profit floating), ``quotes`` the last quote of their symbols, at which a floating R
    is counted (a buy would close at the bid, a sell at the ask)."""
    own = {trade.ticket for _, trade, _ in entries}  # each entry is a trade of its own
    profit: dict[int, float] = defaultdict(float)
    gain: dict[int, float] = defaultdict(float)  # price move × volume, for R
    for rec in closed:
        parent = parent_ticket(rec, own)
        profit[parent] += rec.profit
        if rec.close_price is not None:
            gain[parent] += (rec.close_price - rec.entry_price) * rec.sign * rec.volume
    still_open = {parent_ticket(t, own) for t in open_positions}
    floating: dict[int, float] = defaultdict(float)
    moved: dict[int, float | None] = {}  # the price move × volume of the open positions
    for pos in open_positions:
        parent = parent_ticket(pos, own)
        floating[parent] += pos.profit
        quote = (quotes or {}).get(pos.symbol)
        if quote is None or moved.get(parent, 0.0) is None:
            moved[parent] = None
            continue
        mark = quote.bid if pos.direction == "buy" else quote.ask
        moved[parent] = (moved.get(parent) or 0.0) + (
            mark - pos.entry_price
        ) * pos.sign * pos.volume
    exit_of = _exit_prices(closed, own)
    reason_of: dict[int, str] = {}  # how the trade's own position closed
    last_close: dict[int, datetime] = {}  # when its last position (hedges too) closed
    for when, trade, reason in closes:
        parent = parent_ticket(trade, own)
        last_close[parent] = max(last_close.get(parent, when), when)
        if parent == trade.ticket:
            reason_of[parent] = reason
    records: dict[int, list[Trade]] = defaultdict(list)  # an entry's own position's
    for rec in [*sorted(closed, key=_closed_time), *open_positions]:
        if rec.ticket in own:
            records[rec.ticket].append(rec)
    out: list[Outcome] = []
    for when, trade, source in entries:
        done = trade.ticket in reason_of and trade.ticket not in still_open
        r = floating_r = None
        risk = abs(trade.entry_price - (trade.stop_loss or trade.entry_price)) * trade.volume
        held = netting_held(trade, records.get(trade.ticket, ()))
        if held is not None:
            risk = held.risk
        if done and risk > 0:
            r = gain[trade.ticket] / risk
        elif not done and risk > 0 and (move := moved.get(trade.ticket)) is not None:
            floating_r = (gain[trade.ticket] + move) / risk
        out.append(
            Outcome(
                ticket=trade.ticket,
                symbol=trade.symbol,
                direction=trade.direction,
                volume=trade.volume if held is None else held.volume,
                opened_at=when,
                entry_price=trade.entry_price if held is None else held.entry,
                initial_stop=trade.stop_loss,
                take_profit=trade.take_profit,
                source=source,
                closed_at=last_close[trade.ticket] if done else None,
                exit_price=exit_of.get(trade.ticket) if done else None,
                close_reason=reason_of[trade.ticket] if done else "open",
                profit=round(profit[trade.ticket], 2),
                r=r,
                floating=None if done else round(floating[trade.ticket], 2),
                floating_r=floating_r,
                opening_volume=None if held is None else trade.volume,
            )
        )
    return out


def _closed_time(rec: Trade) -> datetime:
    """A closing deal's time (``sorted`` keeps deals of one time in the broker's order)."""
    return rec.closed_at or _NEVER


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def metrics(trades: Sequence[Outcome]) -> dict[str, Any]:
    """The figures of one run's closed trades: win rate, average R (all, wins, losses),
    profit factor (gross profit ÷ gross loss, money), expectancy (money per trade), the
    longest run of losing trades and the average holding time. ``None`` where a figure
    has no meaning (no losing trade: no profit factor).

    Every closed trade counts; the R figures only those with an R (a trade opened without
    a stop has none: ``trades_without_r`` says how many), and such a trade won or lost by
    its profit."""
    done = sorted((t for t in trades if t.closed_at is not None), key=close_order)
    rs = [t.r for t in done if t.r is not None]
    wins = [r for r in rs if r > 0]
    losses = [r for r in rs if r < 0]
    results = [t.r if t.r is not None else t.profit for t in done]
    gross_win = sum(t.profit for t in done if t.profit > 0)
    gross_loss = -sum(t.profit for t in done if t.profit < 0)
    streak = longest = 0
    for result in results:
        streak = streak + 1 if result < 0 else 0
        longest = max(longest, streak)
    held = [h for t in done if (h := t.hours_held) is not None]
    won = sum(1 for result in results if result > 0)
    return {
        "closed_trades": len(done),
        "trades_without_r": len(done) - len(rs),
        # unrounded: the tables round it once, to 0.1 %; rounded here to 0.0001 first,
        # 301 of 763 (39.449… %) became 0.3945 and was shown 39.5 %
        "win_rate": won / len(done) if done else 0.0,
        "avg_r": round(sum(rs) / len(rs), 4) if rs else 0.0,
        "avg_win_r": round(sum(wins) / len(wins), 4) if wins else 0.0,
        "avg_loss_r": round(sum(losses) / len(losses), 4) if losses else 0.0,
        "profit_factor": _ratio(gross_win, gross_loss),
        "expectancy": round(sum(t.profit for t in done) / len(done), 2) if done else 0.0,
        "longest_losing_streak": longest,
        "avg_hours_held": round(sum(held) / len(held), 2) if held else 0.0,
    }


def of_no_trade(figures: Mapping[str, Any]) -> frozenset[str]:
    """The keys of :func:`metrics` that stand for no trade at all in a run's
    ``figures``, for a table to show blank: the win rate, expectancy and holding time of
    a run without a closed trade, the R figures without a closed trade with an R, and
    the average win (loss) of a run without a winning (losing) trade, which no average of
    real wins (losses) can be. ``metrics`` writes 0.0 for them, as summary.json keeps;
    a table that printed "win rate 0.0%" and "average loss +0.00R" said a result."""
    closed = figures.get("closed_trades") or 0
    with_r = closed - (figures.get("trades_without_r") or 0)
    blank: set[str] = set()
    if not closed:
        blank |= {"win_rate", "expectancy", "avg_hours_held"}
    if not with_r:
        blank |= {"avg_r", "avg_win_r", "avg_loss_r"}
    blank |= {k for k in ("avg_win_r", "avg_loss_r") if figures.get(k) == 0}
    return frozenset(blank)


def balance_curve(start_balance: float, closed: Iterable[Trade]) -> list[tuple[datetime, float]]:
    """The realised balance after each close time (the equity chart's line): the closes
    of one time as one step, as the drawdown counts them (:mod:`.close_times`), so the
    line shows no peak between two closes of one bar that the drawdown does not."""
    return balance_after_each_close_time(start_balance, closed)


@dataclass(frozen=True)
class Pair:
    """One entry taken by both runs."""

    without: Outcome
    with_: Outcome

    @property
    def delta_r(self) -> float | None:
        if self.without.r is None or self.with_.r is None:
            return None
        return self.with_.r - self.without.r


def pair(
    without: Sequence[Outcome], with_: Sequence[Outcome], *, same_volume: bool = True
) -> tuple[list[Pair], int]:
    """Match the trades of two runs by entry; returns the pairs (in the order of
    ``without``) and how many trades of either run found no partner. Without
    ``same_volume`` an entry is its time, symbol and side only: two freely trading runs
    size the same signal differently once their balances differ."""

    def key(t: Outcome) -> tuple[Any, ...]:
        return t.key if same_volume else t.key[:3]

    by_key: dict[tuple[Any, ...], list[Outcome]] = defaultdict(list)
    for t in with_:
        by_key[key(t)].append(t)
    pairs: list[Pair] = []
    for t in without:
        partners = by_key.get(key(t))
        if partners:
            pairs.append(Pair(t, partners.pop(0)))
    unpaired = len(without) + len(with_) - 2 * len(pairs)
    return pairs, unpaired


def paired_metrics(pairs: Sequence[Pair], unpaired: int = 0) -> dict[str, Any]:
    """What management changed, trade by trade, over pairs closed in both runs:

    * ``winners_r_kept``: Σ R with ÷ Σ R without over the trades that won without the
      plugin (1.0: winners untouched; 0.8: a fifth of their R given up; below 0: those
      winners lost R in all with it, more given up than they made); ``winners`` counts
      them, and ``winners_lost`` those of them that closed at a loss with the plugin;
    * ``winners_r_change``: Σ R with − Σ R without over those winners, in R (the R the
      ratio above gave up, so that it weighs against the next figure in the same unit);
    * ``losers_r_saved``: Σ R with − Σ R without over the trades that lost without it
      (positive: R the plugin saved on losers; negative: it made them lose more);
    * ``net_r_change``: Σ R with − Σ R without over every pair closed in both: what the
      plugin did to these entries in all (saving +5R on losers while giving up 12R on
      winners is −7R, which the two figures alone let a reader miss);
    * ``trades_changed``: pairs whose R differs; ``trades_worse``: pairs whose R is lower
      with the plugin.
    """
    both = [p for p in pairs if p.delta_r is not None]
    won = [p for p in both if (p.without.r or 0.0) > 0]
    lost = [p for p in both if (p.without.r or 0.0) < 0]
    won_without = sum(p.without.r or 0.0 for p in won)
    won_with = sum(p.with_.r or 0.0 for p in won)
    saved = sum((p.with_.r or 0.0) - (p.without.r or 0.0) for p in lost)
    return {
        "pairs": len(pairs),
        "pairs_closed": len(both),
        "unpaired": unpaired,
        "winners_r_kept": _ratio(won_with, won_without),
        "winners": len(won),
        "winners_lost": sum(1 for p in won if (p.with_.r or 0.0) < 0),
        "winners_r_change": round(won_with - won_without, 4),
        "losers_r_saved": round(saved, 4),
        "net_r_change": round(sum(p.delta_r or 0.0 for p in both), 4),
        "trades_changed": sum(1 for p in both if abs(p.delta_r or 0.0) > SAME_R),
        "trades_worse": sum(1 for p in both if (p.delta_r or 0.0) < -SAME_R),
        "trades_better": sum(1 for p in both if (p.delta_r or 0.0) > SAME_R),
    }
