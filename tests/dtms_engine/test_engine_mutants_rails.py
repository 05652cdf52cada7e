"""The account rails of docs/dtms.md §7 at their thresholds: the daily loss against the
day's starting balance, the UTC day boundary, the losing-stop streak and how long the
mode lasts. Each boundary is tested at, just below and just above it, because a rail
that trips a little late (or never) is exactly the failure nobody notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from support.dtms_kit import SETTINGS, T0, minutes, trade

from dtms_plugin.engine import TradeRecord, check_account, register
from dtms_plugin.settings import DtmsSettings, Rails
from hookspecs import DefensiveState

MIDNIGHT = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)


def closed(ticket: int, profit: float | None, at: datetime, reason: str = "exit") -> TradeRecord:
    """A trade DTMS defended, closed at ``at`` with ``profit`` realised."""
    return replace(
        register(trade(ticket), None, T0),
        state=DefensiveState.CLOSED,
        closed_at=at,
        close_reason=reason,
        realised_profit=profit,
    )


def rails(**changes: object) -> DtmsSettings:
    return replace(SETTINGS, rails=replace(Rails(), **changes))  # type: ignore[arg-type]


# --- the daily loss ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "defensive"),
    [
        (9800.0, True),  # day started at 10,000: a loss of exactly 2 %
        (9810.0, False),  # started at 10,010: 1.998 %, just below
        (9790.0, True),  # started at 9,990: 2.002 %
    ],
)
def test_daily_loss_is_measured_against_the_balance_the_day_started_with(
    balance: float, defensive: bool
) -> None:
    rs = [closed(1, -120.0, T0), closed(2, -80.0, T0 + minutes(30))]
    mode = check_account(rs, balance, T0 + minutes(60), SETTINGS)
    assert (mode is not None) is defensive
    if mode is not None:
        assert mode.until == MIDNIGHT
        assert "2.00% ≥ 2% of balance" in mode.reason


def test_a_breakeven_trade_adds_nothing_to_the_days_loss() -> None:
    """A trade closed at exactly 0 leaves the day's loss (and its starting balance) as it
    was: the rail still trips at exactly 2 %."""
    rs = [closed(1, -200.0, T0), closed(2, 0.0, T0 + minutes(10))]
    assert check_account(rs, 9800.0, T0 + minutes(20), SETTINGS) is not None


def test_yesterdays_losses_do_not_count_today() -> None:
    yesterday = closed(1, -500.0, MIDNIGHT - timedelta(microseconds=1))
    today = closed(2, -100.0, MIDNIGHT + minutes(30))
    # today: -100 on a day started at 10,000: 1 %; with yesterday's it would be 6 %
    assert check_account([yesterday, today], 9900.0, MIDNIGHT + minutes(60), SETTINGS) is None


def test_a_loss_closed_on_the_stroke_of_midnight_belongs_to_the_new_day() -> None:
    rs = [closed(1, -200.0, MIDNIGHT)]
    mode = check_account(rs, 9800.0, MIDNIGHT + timedelta(hours=2, minutes=3, seconds=4), SETTINGS)
    assert mode is not None and mode.until == MIDNIGHT + timedelta(days=1)


def test_a_wiped_out_account_does_not_break_the_rails() -> None:
    """A day that started with nothing (balance now equals today's losses) has no loss
    percentage; the rails answer instead of dividing by zero."""
    rs = [closed(1, -100.0, T0)]
    assert check_account(rs, -100.0, T0 + minutes(10), SETTINGS) is None


def test_a_small_account_is_protected_too() -> None:
    """The rail works on any positive starting balance, however small."""
    rs = [closed(1, -0.1, T0)]
    assert check_account(rs, 0.4, T0 + minutes(10), SETTINGS) is not None  # 20 % of 0.5


def test_a_day_without_a_loss_never_trips_the_daily_rail() -> None:
    """Even at a 0 % limit (any loss trips it), a flat day is no loss."""
    rs = [closed(1, 0.0, T0)]
    assert check_account(rs, 10000.0, T0 + minutes(10), rails(daily_loss_pct=0.0)) is None
    losing = [closed(1, -0.01, T0)]
    assert check_account(losing, 10000.0, T0 + minutes(10), rails(daily_loss_pct=0.0))


# --- the losing-stop streak ---------------------------------------------------------------------


def stops(*profits: float) -> list[TradeRecord]:
    """Trades closed at their stop, 10 minutes apart, the last one at T0 + 30 min."""
    start = 30 - 10 * len(profits)
    return [
        closed(i, p, T0 + minutes(start + 10 * i), "stop_loss")
        for i, p in enumerate(profits, start=1)
    ]


def test_two_losing_stops_are_no_streak_of_three() -> None:
    assert check_account(stops(-1.0, -1.0), 100000.0, T0 + minutes(31), SETTINGS) is None


def test_a_streak_of_one_when_configured() -> None:
    one = rails(stop_streak=1)
    mode = check_account(stops(-1.0), 100000.0, T0 + minutes(31), one)
    assert mode is not None and mode.until == T0 + minutes(90)
    assert mode.reason == "1 consecutive trades closed at their stop"


@pytest.mark.parametrize("profit", [0.0, 0.5])
def test_a_stop_taken_at_breakeven_or_in_profit_breaks_the_streak(profit: float) -> None:
    rs = stops(-1.0, -1.0, profit)
    assert check_account(rs, 100000.0, T0 + minutes(31), SETTINGS) is None


def test_a_close_whose_result_is_not_known_yet_does_not_break_the_streak() -> None:
    """A record closed but without its realised result is not yet a closed trade for the
    rails: it neither counts in the streak nor interrupts it."""
    rs = [*stops(-1.0, -1.0, -1.0), closed(9, None, T0 + minutes(35), "exit")]
    mode = check_account(rs, 100000.0, T0 + minutes(36), SETTINGS)
    assert mode is not None and mode.until == T0 + minutes(90)


@pytest.mark.parametrize(
    ("after", "defensive"),
    [(59.0, True), (60.0, False), (61.0, False)],
)
def test_the_streak_mode_lasts_exactly_twelve_fast_bars(after: float, defensive: bool) -> None:
    rs = stops(-1.0, -1.0, -1.0)  # the last stop at T0 + 30 min
    mode = check_account(rs, 100000.0, T0 + minutes(30 + after), SETTINGS)
    assert (mode is not None) is defensive
