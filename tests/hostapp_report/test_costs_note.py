"""A paper run says what it charged for trading: the spread only, and for a symbol whose
bars carry none, the spread it assumed and on how many bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookspecs import Bar
from hostapp.brokers.paper import PaperBroker
from hostapp.symbol_rules import costs_note
from hostapp.testing import MemoryBroker

T = datetime(2024, 1, 2, tzinfo=UTC)
CHARGED = "costs: the paper broker charges the spread only, no commission, swap or slippage"


def bars(n: int, spread: float) -> list[Bar]:
    return [Bar(T + timedelta(hours=i), 1.1, 1.1002, 1.0998, 1.1, 0.0, spread) for i in range(n)]


def test_the_bars_own_spreads_are_said_as_such() -> None:
    broker = PaperBroker()
    for bar in bars(3, 0.00012):
        broker.on_bar("EURUSD", bar)
    assert costs_note(broker, ["EURUSD"]) == CHARGED + " (the bars' own spreads)"


def test_an_assumed_spread_is_said_with_its_bars() -> None:
    broker = PaperBroker(spreads={"GBPUSD": 0.0002})
    for bar in [*bars(2, 0.00012), *bars(3, 0.0)]:  # a file whose spreads stop
        broker.on_bar("EURUSD", bar)
    for bar in bars(4, 0.0):
        broker.on_bar("GBPUSD", bar)
    assert costs_note(broker, ["EURUSD", "GBPUSD"]) == (
        f"{CHARGED}; spreads: EURUSD's assumed, 0.00008, on the 3 bars without one; "
        "GBPUSD's from plugins.toml, 0.00020, on the 4 bars without one"
    )


def test_a_broker_that_is_not_the_paper_one_has_no_costs_note() -> None:
    assert costs_note(MemoryBroker(), ["XAUUSD"]) is None


def test_an_assumed_spread_that_follows_the_price_is_said_as_its_range() -> None:
    """A share in a long fall: the spread assumed is a share of each bar's price, so the
    note gave the last bar's alone (0.5 bp of the final price, for a run that paid sixteen
    times that at its start)."""
    from hookspecs import SymbolInfo

    info = SymbolInfo("ACME", 5, 0.00001, 1.0, 1.0, 10_000.0, contract_size=1.0)
    broker = PaperBroker(symbols={"ACME": info})
    for i, price in enumerate((157.0, 80.0, 10.0)):
        broker.on_bar("ACME", Bar(T + timedelta(days=i), price, price, price, price, 0.0, 0.0))
    note = costs_note(broker, ["ACME"])
    assert note is not None
    low, high = broker.assumed_spreads["ACME"]
    assert low < high
    shown = f"from {low:.5f} to {high:.5f} (a share of the price, at most 0.5 basis points of it)"
    assert f"ACME's assumed, {shown}, on the 3 " in note
