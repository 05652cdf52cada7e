"""The equity chart's line and the drawdown count the closes of one time the same way: as
one step (hostapp/close_times.py), so the chart shows no peak the drawdown does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookspecs import Trade
from hostapp.outcomes import balance_curve
from hostapp.report import max_drawdown

T = datetime(2024, 1, 2, 10, tzinfo=UTC)


def _deal(ticket: int, profit: float, at: datetime) -> Trade:
    return Trade(
        ticket=ticket,
        symbol="EURUSD",
        direction="buy",
        volume=0.1,
        entry_price=1.1,
        stop_loss=None,
        take_profit=None,
        opened_at=T - timedelta(hours=1),
        profit=profit,
        close_price=1.1,
        closed_at=at,
    )


def test_the_closes_of_one_time_are_one_step_of_the_curve() -> None:
    """A gain (the lower ticket) and a larger loss closed at one time: taken one by one in
    ticket order the line stood at 1,100 in between, a peak the drawdown never counted."""
    at = T + timedelta(hours=1)
    deals = [_deal(2, -150.0, at), _deal(1, 100.0, at), _deal(3, 20.0, at + timedelta(hours=1))]
    curve = balance_curve(1000.0, deals)
    assert curve == [(at, 950.0), (at + timedelta(hours=1), 970.0)]
    assert max(b for _, b in curve) == 970.0  # no 1,100 between the two closes
    assert max_drawdown(1000.0, deals) == (50.0, 5.0)  # from the start, not from 1,100


def test_the_curve_ends_at_the_drawdown_s_last_balance_in_time_order() -> None:
    later, earlier = T + timedelta(hours=2), T + timedelta(hours=1)
    deals = [_deal(1, -30.0, later), _deal(2, 50.0, earlier), _deal(3, 5.0, earlier)]
    assert balance_curve(500.0, deals) == [(earlier, 555.0), (later, 525.0)]
    assert max_drawdown(500.0, deals) == (30.0, round(30 / 555 * 100, 3))
