"""The spread the paper broker assumes for bars that carry none: the table's for the
symbols it knows, else ten points but at least half a basis point and at most two basis
points of the price, in whole points, never under one point. Ten points alone were 1 % of
a coin quoted at 0.00001 with 8 decimals: every sell's stop fell inside the spread and the
broker refused them all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookspecs import Bar, OrderRequest, SymbolInfo
from hostapp.brokers.paper import PaperBroker
from hostapp.brokers.paper_rules import default_spread


def info(symbol: str, digits: int) -> SymbolInfo:
    return SymbolInfo(symbol, digits, 10.0**-digits, 0.01, 0.01, 100.0)


@pytest.mark.parametrize(
    ("symbol", "digits", "price", "spread"),
    [
        ("XAUUSD", 2, 2000.0, 0.25),  # the table's
        ("USDJPY.m", 3, 150.0, 0.012),  # the table's, under a broker's suffix
        ("AUDCAD", 5, 0.9, 0.0001),  # ten points: under 2 bp of the price
        ("GOOG", 2, 200.0, 0.04),  # 2 bp of the price: under ten points
        ("SHIBUSDT", 8, 0.000011, 1e-8),  # one point: 2 bp is finer than the quote
        ("SOLX", 2, 137.0, 0.02),  # 2 bp is 0.0274: rounded down, not up to 2.2 bp
        ("COINZ", 2, 61_234.0, 3.07),  # half a bp is 3.0617: rounded up, not under it
    ],
)
def test_the_assumed_spread(symbol: str, digits: int, price: float, spread: float) -> None:
    assert default_spread(symbol, info(symbol, digits), price) == pytest.approx(spread)
    assert default_spread("ANY", None, price) == 0.0  # no rules: no point to count in


def test_a_sell_on_a_cheap_coin_is_not_refused_for_a_spread_it_made_up() -> None:
    coin = info("SHIBUSDT", 8)
    broker = PaperBroker(symbols={"SHIBUSDT": coin})
    at = datetime(2024, 1, 2, tzinfo=UTC)
    broker.on_bar("SHIBUSDT", Bar(at, 1.1e-5, 1.102e-5, 1.098e-5, 1.1e-5, 0.0))
    quote = broker.quote("SHIBUSDT")
    assert quote is not None and quote.ask - quote.bid == pytest.approx(1e-8)
    sold = broker.open(OrderRequest("SHIBUSDT", "sell", 1.0, stop_loss=1.107e-5))
    assert sold.ok, sold.message
