"""The realised balance of a run close time by close time: one rule for the equity chart's
line (:func:`hostapp.outcomes.balance_curve`) and the drawdown of the summary
(:func:`hostapp.report.max_drawdown`).

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

from hookspecs import Trade


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
