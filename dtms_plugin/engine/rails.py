"""The safety rails of docs/dtms.md §7 that the engine judges: the spread rail (no hedge or
re-add while the spread is wide, or without a quote) and the account rails (a bad day or a
losing streak puts the whole account in defensive mode).

The account rails are derived from the trade records (each keeps ``closed_at``,
``close_reason``, ``realised_profit`` and the parts it realised before its close, each
with its time), so they need no counters of their own and survive a restart with the
records. Pure: the caller passes the balance and the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hookspecs import Quote

from ..settings import DtmsSettings
from .journal import READD_COMMENT
from .record import ClosedTrade, TradeRecord
from .snapshot import SignalSnapshot
from .tolerance import spread_at_most

#: a re-add's comment up to the ticket of the trade it re-adds to
READD_PREFIX = READD_COMMENT.partition("{")[0]


def spread_hold(
    snapshot: SignalSnapshot | None, quote: Quote | None, settings: DtmsSettings
) -> str | None:
    """Why a hedge or a re-add must wait (docs/dtms.md §7), ``None`` when it may go: no
    quote, or the spread above N × the median of the last bars' spreads (a spread equal to
    the limit up to the rounding of the prices is not above it). Without spread history
    the rail cannot judge and does not block."""
    if quote is None:
        return "no quote"
    median = snapshot.median_spread if snapshot is not None else None
    if not median:
        return None
    if spread_at_most(quote.spread, settings.rails.spread_max_ratio * median, quote.ask):
        return None
    return "spread above the limit"


def spread_ok(snapshot: SignalSnapshot | None, quote: Quote | None, settings: DtmsSettings) -> bool:
    """The spread rail lets a hedge or a re-add go (:func:`spread_hold` has no objection)."""
    return spread_hold(snapshot, quote, settings) is None


@dataclass(frozen=True, slots=True)
class AccountMode:
    until: datetime
    reason: str


def _end_of_utc_day(now: datetime) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def realised_parts(record: ClosedTrade) -> tuple[tuple[datetime, float], ...]:
    """What ``record`` realised, each part at its deal's time: its partial closes and its
    hedges' closes (kept by a :class:`TradeRecord`), and, once it closed with a result, the
    rest of that result at its close. A close ``dtms serve`` replicas share carries no
    parts: all of its result is its close's."""
    parts = record.realised_parts if isinstance(record, TradeRecord) else ()
    total, closed_at = record.realised_profit, record.closed_at
    if total is None or closed_at is None:
        return parts
    return (*parts, (closed_at, total - sum(profit for _, profit in parts)))


def realised_since(records: Iterable[ClosedTrade], since: datetime) -> float:
    """The money ``records`` realised at or after ``since``: every part on its own time, so
    a loss taken by a partial close before midnight is that day's, not the day the trade
    closed (docs/dtms.md §7)."""
    return sum(profit for r in records for at, profit in realised_parts(r) if at >= since)


def re_added_to(record: ClosedTrade) -> int | None:
    """The ticket of the trade ``record`` is a re-add of (comment ``DTMS_READD_<ticket>``,
    as hostapp/outcomes.py folds it into that trade for trades.csv), else ``None``."""
    comment = record.comment if isinstance(record, TradeRecord) else ""
    if not comment.startswith(READD_PREFIX):
        return None
    tail = comment[len(READD_PREFIX) :]
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 20 else None


@dataclass(slots=True)
class _Trade:
    """One trade of the stop streak: a position and the re-adds opened for it."""

    closed_at: datetime | None
    reason: str
    profit: float
    open: bool


def _trades(records: Iterable[ClosedTrade]) -> list[_Trade]:
    """The closed trades of ``records``, each re-add folded into the trade it re-adds to
    (the newest position of that ticket opened no later than the re-add): one trade,
    closed when its last part closed, with that close's reason and the sum of their
    results. A trade with a part still open (in ``records`` without a result) is not
    closed yet; a re-add whose trade is not in ``records`` stands for it alone."""
    by_ticket: dict[int, _Trade] = {}
    trades: list[_Trade] = []
    for r in sorted(records, key=lambda r: r.opened_at):
        parent = re_added_to(r)
        group = by_ticket.get(parent) if parent is not None else None
        if group is None:
            group = _Trade(None, "", 0.0, False)
            trades.append(group)
            by_ticket[r.ticket if parent is None else parent] = group
        closed_at, profit = r.closed_at, r.realised_profit
        if closed_at is None or profit is None:
            group.open = True
            continue
        group.profit += profit
        # closed together, the one opened last (the re-add) says how the trade ended
        if group.closed_at is None or closed_at >= group.closed_at:
            group.closed_at, group.reason = closed_at, r.close_reason
    # the closes of one time have no order of their own (one bar's, on several symbols,
    # came in the order of the data files): its losing stops last, so a streak is judged
    # as the worst of the orders it could have had, whatever order they came in
    return sorted((t for t in trades if not t.open), key=_close_order)


def _close_time(trade: _Trade) -> datetime:
    assert trade.closed_at is not None  # a closed trade's
    return trade.closed_at


def _close_order(trade: _Trade) -> tuple[datetime, bool]:
    return _close_time(trade), _losing_stop(trade)


def _losing_stop(trade: _Trade) -> bool:
    return trade.reason == "stop_loss" and trade.profit < 0.0


def check_account(
    records: Iterable[ClosedTrade], balance: float, now: datetime, settings: DtmsSettings
) -> AccountMode | None:
    """The account mode the trades' realised results call for at ``now``, or ``None``.

    * realised loss of the UTC day ≥ ``daily_loss_pct`` % of the day's starting balance
      (``balance`` now minus today's realised result): every part of a trade (a partial
      close, a hedge's close, its own close) on the day it was realised, open trades'
      parts too → until the end of the UTC day;
    * the last ``stop_streak`` closed trades (a re-add is part of the trade it re-adds
      to; of one time, the losing stops last) all closed at their stop at a loss (a
      trailing stop taken in profit is no losing streak) → for ``streak_bars`` fast bars
      after the last of them.
    The daily rule wins when both apply (it lasts longer).
    """
    records = list(records)
    rails = settings.rails
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = realised_since(records, day_start)
    start_balance = balance - today
    if today < 0.0 and start_balance > 0.0:
        loss_pct = -today / start_balance * 100.0
        if loss_pct >= rails.daily_loss_pct:
            return AccountMode(
                _end_of_utc_day(now),
                f"daily realised loss {loss_pct:.2f}% ≥ {rails.daily_loss_pct:g}% of balance",
            )
    n = rails.stop_streak
    closed = _trades(records)
    if n > 0 and len(closed) >= n:
        last = closed[-n:]
        if all(_losing_stop(t) for t in last):
            closed_at = last[-1].closed_at
            assert closed_at is not None
            until = closed_at + settings.fast_bars(rails.streak_bars)
            if until > now:
                return AccountMode(until, f"{n} consecutive trades closed at their stop")
    return None
