"""One order of one time's closes (hostapp/close_times.py) for the trades of the figures
and the rows of deals.csv: by close time, then as they opened, then symbol and ticket."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hookspecs import Trade
from hostapp.close_times import close_order
from hostapp.deal_rows import deal_rows
from hostapp.outcomes import Outcome, metrics

T = datetime(2024, 1, 2, 10, tzinfo=UTC)
CLOSED = T + timedelta(hours=5)

#: (ticket, symbol, hours after T it opened, profit): closed at one time; 2 and 3 opened
#: together, so AUDUSD's comes before EURUSD's
ROWS = [(1, "USDJPY", 0, -10.0), (2, "EURUSD", 1, -5.0), (3, "AUDUSD", 1, 20.0)]


def _deal(ticket: int, symbol: str, hours: int, profit: float) -> Trade:
    return Trade(
        ticket=ticket, symbol=symbol, direction="buy", volume=0.1, entry_price=1.0,
        stop_loss=None, take_profit=None, opened_at=T + timedelta(hours=hours),
        profit=profit, close_price=1.0, closed_at=CLOSED,
    )  # fmt: skip


def _trade(ticket: int, symbol: str, hours: int, profit: float) -> Outcome:
    return Outcome(
        ticket, symbol, "buy", 0.1, T + timedelta(hours=hours), 1.0, 0.99, None, "s",
        CLOSED, 1.0, "stop_loss", profit, profit / 10,
    )  # fmt: skip


def test_a_deal_and_a_trade_of_the_same_fields_close_in_the_same_place() -> None:
    deals = sorted((_deal(*row) for row in ROWS), key=close_order)
    trades = sorted((_trade(*row) for row in ROWS), key=close_order)
    assert [d.ticket for d in deals] == [t.ticket for t in trades] == [1, 3, 2]


def test_deals_csv_and_the_losing_streak_read_the_closes_in_that_order() -> None:
    rows = deal_rows("", "run", [_deal(*row) for row in ROWS])
    assert [r["ticket"] for r in rows] == [1, 3, 2]
    # a loss, AUDUSD's gain, EURUSD's loss: no two losses in a row (in ticket order two)
    assert metrics([_trade(*row) for row in ROWS])["longest_losing_streak"] == 1


def test_one_without_a_close_time_counts_at_its_opening() -> None:
    open_deal = replace(_deal(4, "EURUSD", 0, 0.0), closed_at=None, close_price=None)
    assert close_order(open_deal) == (open_deal.opened_at, open_deal.opened_at, "EURUSD", 4)
