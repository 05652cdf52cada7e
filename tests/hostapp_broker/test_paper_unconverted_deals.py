"""Deals booked before the symbol that converts their money has a price are booked
unconverted, and now counted: on a EUR account with XAUUSD's file from 00:00 and
EURUSD's from 03:35, gold's target hit at 03:30 booked ``98.00 EUR`` that were dollars,
and the note said "(until that symbol has a price, unconverted)" on every run, whether
any deal was or not. It now says how many, their sum and the last one's time, only when
there were any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookspecs import Bar, OrderRequest
from hostapp.app import build_sim_app
from hostapp.brokers.paper import PaperBroker
from hostapp.config import config_from_dict
from hostapp.symbol_rules import guessed_rules_note

T0 = datetime(2024, 1, 2, tzinfo=UTC)
M5 = timedelta(minutes=5)


def flat(price: float, start: datetime, n: int, spread: float) -> list[Bar]:
    return [Bar(start + i * M5, price, price, price, price, spread=spread) for i in range(n)]


GOLD = flat(2000.0, T0, 60, 0.3)
#: EURUSD's file begins at 03:35, after gold's target is hit
EURUSD_LATE = flat(1.1, T0 + timedelta(hours=3, minutes=35), 10, 0.0002)
EURUSD_EARLY = flat(1.1, T0, 60, 0.0002)


def euro_account(eurusd: list[Bar]) -> PaperBroker:
    config = config_from_dict({"host": {"broker": "paper", "paper": {"currency": "EUR"}}})
    series = {"XAUUSD": GOLD, "EURUSD": eurusd}
    broker = build_sim_app(config, series, base_timeframe="M5").broker
    assert isinstance(broker, PaperBroker)
    return broker


def two_targets(broker: PaperBroker, eurusd: list[Bar]) -> None:
    """Two buys of 0.05 lots at 2000.30, their target 2010 hit by the bar that closes at
    03:30: 48.50 dollars each."""
    with broker.step():
        broker.on_bar("XAUUSD", GOLD[0])
        if eurusd[0].time == T0:
            broker.on_bar("EURUSD", eurusd[0])
    for _ in range(2):
        assert broker.open(OrderRequest("XAUUSD", "buy", 0.05, take_profit=2010.0)).ok
    for i in range(1, 41):
        with broker.step():
            broker.on_bar("XAUUSD", GOLD[i])
            if eurusd[0].time == T0:
                broker.on_bar("EURUSD", eurusd[i])
    with broker.step():
        broker.on_bar("XAUUSD", Bar(T0 + 41 * M5, 2000.0, 2011.0, 2000.0, 2000.0))
    assert broker.positions() == []
    assert max(t.closed_at for t in broker.closed_trades() if t.closed_at) == T0 + timedelta(
        hours=3, minutes=30
    )


def test_deals_booked_before_the_rate_symbol_has_a_price_are_counted_and_said() -> None:
    broker = euro_account(EURUSD_LATE)
    two_targets(broker, EURUSD_LATE)
    assert broker.realised_pnl() == 97.0  # dollars, booked as they were
    note = guessed_rules_note(broker, ["XAUUSD", "EURUSD"]) or ""
    assert (
        "XAUUSD's (USD) at EURUSD's (2 deals of XAUUSD, 97.00 USD in all, booked "
        "unconverted until EURUSD had a price, the last at 2024-01-02 03:30)"
    ) in note, note
    seen = broker.unconverted["XAUUSD"]
    assert (seen.deals, seen.total, seen.last) == (2, 97.0, T0 + timedelta(hours=3, minutes=30))


def test_with_every_deal_converted_the_note_says_nothing_of_unconverted_ones() -> None:
    broker = euro_account(EURUSD_EARLY)
    two_targets(broker, EURUSD_EARLY)
    assert broker.realised_pnl() == round(2 * round(48.5 / 1.1001, 2), 2)  # euros
    note = guessed_rules_note(broker, ["XAUUSD", "EURUSD"]) or ""
    assert "XAUUSD's (USD) at EURUSD's" in note
    assert "unconverted" not in note, note
    assert broker.unconverted == {}
