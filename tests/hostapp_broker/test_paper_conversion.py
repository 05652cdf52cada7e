"""A profit in a third currency is turned into the account's at the price of the run's
symbol of the two: XAUUSD's dollars on a EUR account at EURUSD's, EURUSD's on a JPY
account at USDJPY's. Before, they were booked unconverted (a EURUSD stop-out of 0.43 lots
booked −99.03 "yen", really −109.22 dollars, about −16,400 yen), and so were the risk
sizing, the drawdown % and the daily-loss rail."""

from __future__ import annotations

import pytest
from hostapp_broker.test_paper_broker import M5, T0

from hookspecs import Bar, OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.market.synthetic import generate_bars
from hostapp.symbol_rules import guessed_rules_note, symbol_infos


def account(currency: str, *symbols: str) -> PaperBroker:
    bars = generate_bars("XAUUSD", T0, 5, seed=1)
    infos = symbol_infos(dict.fromkeys(symbols, bars))
    return PaperBroker(symbols=infos, settings=PaperSettings(currency=currency))


def test_gold_on_a_euro_account_is_booked_in_euros_at_eurusd() -> None:
    b = account("EUR", "XAUUSD", "EURUSD")
    b.set_quote("EURUSD", 1.1, 1.1002, T0)  # mid 1.1001
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    ticket = b.open(OrderRequest("XAUUSD", "buy", 1.0)).new_ticket
    assert ticket is not None
    b.set_quote("XAUUSD", 2010.3, 2010.6, T0 + M5)
    dollars = 1000.0  # 10.0 × 100 oz
    assert b.calc_profit("XAUUSD", "buy", 1.0, 2000.3, 2010.3) == round(dollars / 1.1001, 2)
    assert b.close(ticket).ok
    assert b.realised_pnl() == 909.01


def test_eurusd_on_a_yen_account_is_booked_in_yen_at_usdjpy() -> None:
    b = account("JPY", "EURUSD", "USDJPY")
    b.set_quote("USDJPY", 150.0, 150.01, T0)
    b.set_quote("EURUSD", 1.10035, 1.10043, T0)
    loss = b.calc_profit("EURUSD", "sell", 0.43, 1.10035, 1.10289)
    assert loss == pytest.approx(-0.00254 * 43_000 * 150.005, abs=0.01)  # −16,383.55 yen
    note = guessed_rules_note(b, ["EURUSD", "USDJPY"]) or ""
    assert "profits turned into JPY at the price, at the time" in note
    assert "EURUSD's (USD) at USDJPY's" in note and "counted as" not in note


def test_without_a_price_of_the_rate_symbol_the_profit_is_unconverted_and_said() -> None:
    """No EURUSD quote yet (its first bar still to come): XAUUSD's dollars as before; a
    run with no such symbol at all is named as counting them as euros."""
    b = account("EUR", "XAUUSD", "EURUSD")
    assert b.calc_profit("XAUUSD", "buy", 1.0, 2000.3, 2010.3) == 1000.0
    alone = account("EUR", "XAUUSD")
    alone.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    assert alone.calc_profit("XAUUSD", "buy", 1.0, 2000.3, 2010.3) == 1000.0
    note = guessed_rules_note(alone, ["XAUUSD"]) or ""
    assert "XAUUSD's profits are in USD, counted as EUR" in note


def test_usdjpy_on_a_euro_account_goes_through_dollars_at_eurusd() -> None:
    """No EURJPY among the run's symbols: USDJPY's yen are turned into dollars at its own
    price, then into euros at EURUSD's, not counted as euros once in dollars."""
    b = account("EUR", "USDJPY", "EURUSD")
    b.set_quote("EURUSD", 1.1, 1.1002, T0)
    profit = b.calc_profit("USDJPY", "buy", 1.0, 150.01, 151.0)
    assert profit == round(99_000 / 151.0 / 1.1001, 2)  # 595.97 euros, not 655.63
    note = guessed_rules_note(b, ["USDJPY", "EURUSD"]) or ""
    assert "USDJPY's (JPY) at EURUSD's, after its own price into USD" in note


@pytest.mark.parametrize("order", [("XAUUSD", "EURUSD"), ("EURUSD", "XAUUSD")])
def test_a_steps_stops_convert_at_the_rates_as_the_step_began_whatever_the_feed_order(
    order: tuple[str, str],
) -> None:
    """XAUUSD's target hit in the bar where EURUSD moves from 1.1 to 1.2: the deal was
    89.09 EUR with gold's file first and 81.66 with it second (``hostapp replay
    XAUUSD.csv EURUSD.csv`` against ``EURUSD.csv XAUUSD.csv``)."""
    b = account("EUR", "XAUUSD", "EURUSD")
    b.set_quote("EURUSD", 1.1, 1.1, T0)
    b.set_quote("XAUUSD", 2000.0, 2000.2, T0)
    opened = b.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0, take_profit=2010.0))
    assert opened.ok, opened
    bars = {
        "XAUUSD": Bar(T0, 2000.0, 2012.0, 1999.0, 2011.0, 10.0, 0.2),
        "EURUSD": Bar(T0, 1.1, 1.2, 1.1, 1.2, 10.0, 0.00001),
    }
    with b.step():
        closed = [hit for symbol in order for hit in b.on_bar(symbol, bars[symbol])]
    ((trade, reason),) = closed
    assert reason == "take_profit"
    assert trade.profit == round((2010.0 - 2000.2) * 10 / 1.1, 2)  # 89.09: 1.1 as it began
    assert b.realised_pnl() == trade.profit
