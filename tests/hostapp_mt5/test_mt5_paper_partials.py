"""The paper broker and the MetaTrader adapter agree on a partial close. MetaTrader
checks the volume of a request (at least SYMBOL_VOLUME_MIN, on SYMBOL_VOLUME_STEP, 10014
invalid volume otherwise), not what it leaves open: a part leaving less than the minimum
is done on both, and said, and the rest closes whole. A volume off the step is floored by
both (never sent off the step), and their messages say the volume traded and the one
asked. Before, the paper broker refused the part ("would leave 0.05") the adapter closed,
and floored 0.015 to 0.01 silently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake
from support.fake_mt5 import FakeSymbol

from hookspecs import Broker, OrderRequest, SymbolInfo
from hostapp.brokers.paper import PaperBroker

T0 = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)


def _both(min_lot: float) -> dict[str, Broker]:
    """A paper broker and the adapter on the fake terminal, one US500 with ``min_lot``."""
    fake = make_fake()
    fake.add_symbol(
        FakeSymbol("US500", 5000.0, 5000.5, digits=1, volume_min=min_lot, contract_size=1.0)
    )
    info = SymbolInfo("US500", 1, 0.1, min_lot, 0.01, 100.0, 0.0, 0.0, 1.0)
    paper = PaperBroker(symbols={"US500": info})
    paper.set_quote("US500", 5000.0, 5000.5, T0)
    return {"paper": paper, "mt5": connect(fake, magic=777, time_symbols=("XAUUSD",))}


@pytest.mark.parametrize("which", ["paper", "mt5"])
def test_a_part_leaving_less_than_the_minimum_is_closed_and_said(which: str) -> None:
    broker = _both(0.1)[which]
    ticket = broker.open(OrderRequest("US500", "buy", 0.15)).new_ticket
    assert ticket is not None
    r = broker.close(ticket, 0.1)
    assert (r.ok, r.filled_volume or 0.1) == (True, 0.1), r.message
    assert broker.position(ticket).volume == pytest.approx(0.05)  # type: ignore[union-attr]
    if which == "paper":  # the adapter's words are the terminal's retcode
        assert "0.05 left open, below the minimum 0.1: only a full close" in r.message
    assert broker.close(ticket).ok and broker.position(ticket) is None


@pytest.mark.parametrize("which", ["paper", "mt5"])
def test_a_part_off_the_step_is_floored_and_said(which: str) -> None:
    broker = _both(0.01)[which]
    ticket = broker.open(OrderRequest("US500", "buy", 0.03)).new_ticket
    assert ticket is not None
    r = broker.close(ticket, 0.015)
    assert r.ok, r.message
    assert broker.position(ticket).volume == pytest.approx(0.02)  # type: ignore[union-attr]
    assert "0.01" in r.message and "(asked 0.015: the volume step 0.01 rounds it down)" in r.message
