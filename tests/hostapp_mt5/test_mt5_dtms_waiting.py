"""DTMS on the real MetaTrader broker over the fake terminal: an action of unknown outcome
whose order the trade server still holds is not settled "not applied" (and so not sent
again) while it waits there; when it fills, its outcome is settled done and said.

The probe's case: a partial close timed out (10031) and sat on the server 90 s before it
filled. Once ``actions.unknown_wait_seconds`` had passed, DTMS settled it "not applied:
the broker shows no trace of it" while ``orders_get`` listed it, and its late fill was
never said; had the ladder still owed it, it would have been sent again on top of it.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

import pytest
from hostapp_mt5.test_mt5_dtms_ladder import MAGIC, Mt5Rig, _sent
from support.fake_mt5 import Fault

from hookspecs import DefensiveState, WaitingOrder
from hostapp.brokers.paper import PaperBroker


async def test_a_partial_close_waiting_on_the_server_is_not_settled_nor_sent_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    # settled at the first cycle after its answer (the rig's cycles are 5 minutes apart)
    rig = Mt5Rig(tmp_path / "dtms", hedging=True, actions={"unknown_wait_seconds": 0})
    await rig.start()
    ticket = await rig.buy()
    await rig.reach(ticket, DefensiveState.WARNING_L1)
    # the next order sent is the partial close: it lands 400 s (beyond the next cycle) late
    rig.fake.faults.append(Fault(10031, execute=True, delay=400))
    for _ in range(30):
        await rig.cycles(1)
        if rig.strategy.records[ticket].state is not DefensiveState.WARNING_L1:
            break
    assert rig.fake.faults == deque()  # the partial close met it
    for _ in range(3):
        await rig.cycles(1)
    partials = [s for s in _sent(rig.fake) if s[0] == "close" and s[1] == ticket]
    assert partials == [("close", ticket, 0.5)]  # sent once, never again
    assert rig.fake.positions[ticket].volume == pytest.approx(0.5)
    said = [r.getMessage() for r in caplog.records if r.name == "dtms_plugin.local"]
    waits = [m for m in said if "still waits on the trade server" in m]
    assert len(waits) == 1 and waits[0].startswith(f"DTMS {ticket}: partial_close")
    assert not [m for m in said if "partial_close of unknown outcome settled as not" in m]
    assert f"DTMS {ticket}: partial_close of unknown outcome settled as done" in said
    await rig.stop()


def test_the_broker_lists_the_market_orders_waiting_on_the_server(tmp_path: Path) -> None:
    rig = Mt5Rig(tmp_path / "dtms", hedging=True)
    ticket = rig.fake.add_position("XAUUSD", 0, 1.0, 2000.0, magic=MAGIC, comment="hostapp")
    rig.fake.faults.append(Fault(10031, execute=True, delay=400))
    assert not rig.mt5.close(ticket, 0.4).ok
    (order,) = rig.mt5.waiting_orders("XAUUSD")
    assert (order.symbol, order.direction, order.volume, order.position, order.magic) == (
        "XAUUSD", "sell", 0.4, ticket, MAGIC,
    )  # fmt: skip
    assert rig.mt5.waiting_orders("EURUSD") == []
    rig.fake.advance(400)
    assert rig.mt5.waiting_orders("XAUUSD") == []
    assert rig.fake.positions[ticket].volume == pytest.approx(0.6)


def test_the_paper_broker_has_no_order_waiting() -> None:
    assert PaperBroker.waiting_orders.__doc__
    assert WaitingOrder(1, "XAUUSD", "buy", 0.1).position is None
