"""The closes of a run in time order: the order of one time's closes, one rule for the
trades of the figures (:func:`hostapp.outcomes.metrics`, a losing streak) and the rows of
``deals.csv`` (:mod:`hostapp.deal_rows`); and the realised balance close time by close
time, one rule for the equity chart's line (:func:`hostapp.outcomes.balance_curve`) and
the drawdown of the summary (:func:`hostapp.report.max_drawdown`).

The closes of one time (one bar's stops on several symbols) are one step: the balance
between them never stood, and taken one by one in the order the broker booked them (the
order of the data files) the chart showed a peak between a gain and a loss of one bar
that the drawdown, which counted them as one, did not (README.md: the A/B table's
drawdown).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from hookspecs import Trade


class Closed(Protocol):
    """What orders a close: a trade of the figures (:class:`hostapp.outcomes.Outcome`) or
    a broker's deal (:class:`hookspecs.Trade`) has these fields alike."""

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def opened_at(self) -> datetime: ...

    @property
    def symbol(self) -> str: ...

    @property
    def ticket(self) -> int: ...


def close_order(t: Closed) -> tuple[datetime, datetime, str, int]:
    """Closes in time order, those of one time as they opened, then by symbol and ticket:
    never in ticket order alone, which follows the order of the data files within a step
    (a portfolio's losing streak read otherwise with its files in another order). One
    without a close time (a trade still open) counts at its opening."""
    return (t.closed_at or t.opened_at, t.opened_at, t.symbol, t.ticket)


def balance_after_each_close_time(
    start_balance: float, closed: Iterable[Trade]
) -> list[tuple[datetime, float]]:
    """The realised balance after each close time, in time order: the profits of the
    deals closed at one time summed into one step. A deal without a close time counts at
    its opening (a closed deal has one, hookspecs.types.Trade; the drawdown kept it so)."""
    by_time: dict[datetime, float] = defaultdict(float)
    for trade in closed:
        by_time[trade.closed_at or trade.opened_at] += trade.profit
    balance = start_balance
    steps: list[tuple[datetime, float]] = []
    for when, profit in sorted(by_time.items()):
        balance += profit
        steps.append((when, balance))
    return steps
