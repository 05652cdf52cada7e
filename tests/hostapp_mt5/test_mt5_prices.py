"""Prices sent to the server sit on the symbol's tick grid (``trade_tick_size``), which
can be coarser than its ``digits``: stops, breakeven and closes are snapped to it."""

from __future__ import annotations

import pytest
from hostapp_mt5.mt5_helpers import connect
from support.fake_mt5 import FakeMT5, FakeSymbol

from hookspecs import Direction, OrderRequest
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.brokers.mt5_rules import snap_level, snap_price


@pytest.fixture
def index(fake: FakeMT5) -> Mt5Broker:
    """An index CFD quoted with 2 digits that moves in steps of 0.25."""
    fake.add_symbol(
        FakeSymbol("US500", bid=5000.25, ask=5000.75, digits=2, tick_size=0.25, stops_level=100)
    )
    return connect(fake, magic=777, time_symbols=("US500",))


def test_stops_of_an_open_are_snapped_to_the_tick(index: Mt5Broker, fake: FakeMT5) -> None:
    r = index.open(OrderRequest("US500", "buy", 1.0, stop_loss=4990.10, take_profit=5050.4))
    assert r.ok, r.message
    assert (fake.requests[0]["sl"], fake.requests[0]["tp"]) == (4990.0, 5050.5)


def test_breakeven_on_an_entry_between_ticks_is_snapped(index: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("US500", 1, 1.0, 5010.0, sl=5020.0)
    r = index.modify_sl_tp(ticket, 5012.13, None)  # e.g. entry plus costs
    assert r.ok, r.message
    assert fake.positions[ticket].sl == 5012.25


def test_hedge_and_close_prices_are_on_the_grid(index: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("US500", 0, 1.0, 4990.0, magic=777)
    assert index.hedge(ticket, 0.5).ok
    assert index.close(ticket).ok
    assert [q["price"] for q in fake.requests] == [5000.25, 5000.25]


@pytest.mark.parametrize(
    ("price", "tick", "digits", "expected"),
    [(4990.10, 0.25, 2, 4990.0), (4990.13, 0.25, 2, 4990.25), (1.085123, 0.00001, 5, 1.08512),
     (18012.4, 5.0, 1, 18010.0), (2000.126, 0.0, 2, 2000.13)],
)  # fmt: skip
def test_snap_price(price: float, tick: float, digits: int, expected: float) -> None:
    assert snap_price(price, tick, digits) == expected


def test_a_stop_moved_out_to_the_stops_level_stays_outside_it_on_the_grid(fake: FakeMT5) -> None:
    """NQ moves in 0.25 and keeps stops 10 points (0.10) from the price. A buy's stop
    moved out to the level, 4999.90, is on no tick: the nearest, 5000.00, is the price
    itself (refused, invalid_stops); rounded away from the price it is 4999.75. A sell's
    stop and both targets go away from the price likewise."""
    fake.add_symbol(
        FakeSymbol("NQ", bid=5000.00, ask=5000.50, digits=2, tick_size=0.25, stops_level=10)
    )
    broker = connect(fake, magic=777, time_symbols=("NQ",))
    buy = fake.add_position("NQ", 0, 1.0, 4990.0, magic=777)
    sell = fake.add_position("NQ", 1, 1.0, 5010.0, magic=777)
    r = broker.modify_sl_tp(buy, 4999.90, 5000.10)
    assert r.ok, r.message
    assert (fake.positions[buy].sl, fake.positions[buy].tp) == (4999.75, 5000.25)
    r = broker.modify_sl_tp(sell, 5000.60, 5000.40)
    assert r.ok, r.message
    assert (fake.positions[sell].sl, fake.positions[sell].tp) == (5000.75, 5000.25)
    opened = broker.open(OrderRequest("NQ", "sell", 1.0, stop_loss=5000.60, take_profit=4990.1))
    assert opened.ok, opened.message
    assert (fake.requests[-1]["sl"], fake.requests[-1]["tp"]) == (5000.75, 4990.0)


@pytest.mark.parametrize(
    ("level", "direction", "target", "expected"),
    [(4999.90, "buy", False, 4999.75), (4999.90, "buy", True, 5000.0),
     (5000.60, "sell", False, 5000.75), (5000.60, "sell", True, 5000.50),
     (4999.75, "buy", False, 4999.75), (5000.75, "sell", False, 5000.75)],
)  # fmt: skip
def test_snap_level_rounds_away_from_the_price(
    level: float, direction: Direction, target: bool, expected: float
) -> None:
    assert snap_level(level, direction, 0.25, 2, target=target) == expected
