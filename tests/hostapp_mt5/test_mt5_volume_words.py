"""An order's message names the volume sent and filled: the adapter floors a volume to the
symbol's step before sending, and said the volume asked ("open buy 0.019 XAUUSD: 10009
TRADE_RETCODE_DONE" of a 0.01 deal). Now the volume sent, with the one asked beside it
when the step made it smaller."""

from __future__ import annotations

import pytest
from support.fake_mt5 import FakeMT5

from hookspecs import OrderRequest
from hostapp.brokers.mt5 import Mt5Broker

ROUNDED = "(asked {}: the volume step 0.01 rounds it down): 10009 TRADE_RETCODE_DONE"


def test_an_open_names_the_volume_it_sent(broker: Mt5Broker, fake: FakeMT5) -> None:
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.019))
    assert (r.ok, r.filled_volume, fake.requests[-1]["volume"]) == (True, 0.01, 0.01)
    assert r.message.startswith(f"open buy 0.01 XAUUSD {ROUNDED.format(0.019)}")
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.02))  # on the step: nothing to add
    assert r.message.startswith("open buy 0.02 XAUUSD: 10009 TRADE_RETCODE_DONE")


def test_a_hedge_and_a_partial_close_name_the_volume_they_sent(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = broker.open(OrderRequest("XAUUSD", "buy", 0.03)).new_ticket
    assert ticket is not None
    hedge = broker.hedge(ticket, 0.015)
    assert (hedge.filled_volume, fake.requests[-1]["volume"]) == (0.01, 0.01)
    assert hedge.message.startswith(f"open sell 0.01 XAUUSD {ROUNDED.format(0.015)}")
    part = broker.close(ticket, 0.015)
    assert (part.filled_volume, fake.requests[-1]["volume"]) == (0.01, 0.01)
    assert part.message.startswith(f"close {ticket} 0.01 of 0.03 {ROUNDED.format(0.015)}")
    assert broker.position(ticket).volume == pytest.approx(0.02)  # type: ignore[union-attr]
