"""A PC clock off by more than the deal search's slack against the trade server: an order
that timed out yet executed is still found among the deals (hostapp/brokers/mt5_orders.py,
``_sent_at``). The server offset is rounded to 30 minutes, so it cannot absorb a clock
that drifted; the search began at the local clock's reading of the send less 30 s, and a
PC clock 45 s fast put it after the deal: the open was reported of unknown outcome and
flagged, with the position open on the server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hostapp_mt5.mt5_helpers import make_fake
from support.fake_mt5 import Fault

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Settings, create_mt5_broker


@pytest.mark.parametrize("skew", [0, 45, 170, -45])
def test_an_open_that_timed_out_is_found_whatever_the_pc_clock_says(skew: int) -> None:
    fake = make_fake(margin_mode=0)  # retail netting: the deal, not a new position, says it
    broker = create_mt5_broker(
        Mt5Settings(), module=fake,
        clock=lambda: fake.now + timedelta(seconds=skew), sleep=fake.advance,
    )  # fmt: skip
    fake.faults.append(Fault(10012, execute=True))  # timed out, yet the server executed it
    result = broker.open(OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1))
    assert result.ok and result.code is not ResultCode.UNKNOWN_OUTCOME, result.message
    (position,) = fake.positions.values()
    assert result.new_ticket == position.ticket
    assert broker.needs_attention == []
