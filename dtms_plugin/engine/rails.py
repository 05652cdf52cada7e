"""Account rails (docs/dtms.md §7): a bad day or a losing streak puts the whole account in
defensive mode.

Derived from the closed trade records (each keeps ``closed_at``, ``close_reason`` and
``realised_profit``), so the rails need no counters of their own and survive a restart
with the records. Pure: the caller passes the balance and the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..settings import DtmsSettings
from .record import TradeRecord


@dataclass(frozen=True, slots=True)
class AccountMode:
    until: datetime
    reason: str


def _end_of_utc_day(now: datetime) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def check_account(
    records: Iterable[TradeRecord], balance: float, now: datetime, settings: DtmsSettings
) -> AccountMode | None:
    """The account mode the closed trades call for at ``now``, or ``None``.

    * realised loss of the UTC day ≥ ``daily_loss_pct`` % of the day's starting balance
      (``balance`` now minus today's realised result) → until the end of the UTC day;
    * the last ``stop_streak`` closed trades all closed at their stop at a loss (a
      trailing stop taken in profit is no losing streak) → for
      ``streak_bars`` fast bars after the last of them.
    The daily rule wins when both apply (it lasts longer).
    """
    rails = settings.rails
    closed = sorted(
        (r for r in records if r.closed_at is not None and r.realised_profit is not None),
        key=lambda r: r.closed_at,  # type: ignore[arg-type,return-value]
    )
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = sum(
        r.realised_profit or 0.0 for r in closed if r.closed_at and r.closed_at >= day_start
    )
    start_balance = balance - today
    if today < 0.0 and start_balance > 0.0:
        loss_pct = -today / start_balance * 100.0
        if loss_pct >= rails.daily_loss_pct:
            return AccountMode(
                _end_of_utc_day(now),
                f"daily realised loss {loss_pct:.2f}% ≥ {rails.daily_loss_pct:g}% of balance",
            )
    n = rails.stop_streak
    if n > 0 and len(closed) >= n:
        last = closed[-n:]
        if all(r.close_reason == "stop_loss" and (r.realised_profit or 0.0) < 0.0 for r in last):
            closed_at = last[-1].closed_at
            assert closed_at is not None
            until = closed_at + settings.fast_bars(rails.streak_bars)
            if until > now:
                return AccountMode(until, f"{n} consecutive trades closed at their stop")
    return None
