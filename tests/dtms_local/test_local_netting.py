"""A netting account keeps one position per symbol under one ticket: an order the other
way shrinks it, and a bigger one turns it (sell 0.5, then buy 1.5: a buy of 1.0). DTMS
must see the trade it defended end there and the new side begin, never score a buy as
the sell it was."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.local import LocalStrategy
from hookspecs import DefensiveState


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path / "dtms", hedging=False)
    await r.start()
    yield r
    await r.stop()


def _turned(rig: Rig, ticket: int, volume: float) -> None:
    """At the broker, position ``ticket`` is now a sell at the market."""
    mid = round(rig.broker.mids["XAUUSD"], 2)
    rig.broker.open_positions[ticket] = trade(
        ticket=ticket, direction="sell", volume=volume, entry=mid, sl=mid + 50.0,
        opened_at=rig.clock.now(),
    )  # fmt: skip


async def test_a_position_turned_at_the_broker_ends_the_trade_and_starts_the_other(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.open_buy(ticket=7, volume=1.0)
    await rig.cycles(3)
    assert rig.strategy.records[7].direction == "buy"
    _turned(rig, 7, 0.5)
    with caplog.at_level(logging.WARNING):
        await rig.cycles(1)
    rec = rig.strategy.records[7]
    assert (rec.direction, rec.volume, rec.state) == ("sell", 0.5, DefensiveState.HEALTHY)
    assert rec.entry_price == rig.broker.open_positions[7].entry_price
    closed = [c for c in rig.host.state_changes if c[0] == 7 and c[2] is DefensiveState.CLOSED]
    assert len(closed) == 1 and closed[0][3] == "position closed (reversed)"
    assert any("turned buy 1 → sell 0.5" in r.getMessage() for r in caplog.records)
    history = rig.strategy.store.archived(7)  # the buy, kept as it closed
    assert [(r["direction"], r["close_reason"]) for r in history] == [("buy", "reversed")]
    await rig.cycles(2)  # the sell is defended as a sell from now on
    assert rig.strategy.records[7].direction == "sell"


async def test_an_order_that_turns_the_position_is_a_new_trade_at_once(rig: Rig) -> None:
    """The host reports the turned position through ``on_trade_executed`` (same ticket,
    other side): it used to be ignored as already registered."""
    await rig.open_buy(ticket=8, volume=1.0)
    await rig.cycles(2)
    _turned(rig, 8, 0.3)
    await rig.strategy.on_trade_executed(rig.host, rig.broker.open_positions[8])
    rec = rig.strategy.records[8]
    assert (rec.direction, rec.volume) == ("sell", 0.3)


async def test_a_position_turned_while_the_host_was_down_is_seen_at_recovery(rig: Rig) -> None:
    await rig.open_buy(ticket=9, volume=1.0)
    await rig.cycles(2)
    await rig.strategy.shutdown(rig.host)
    _turned(rig, 9, 2.0)
    rig.strategy = LocalStrategy(rig.settings)
    await rig.strategy.startup(rig.host)
    await rig.cycles(1)
    assert rig.strategy.records[9].direction == "sell"
    assert replace(rig.strategy.records[9], journal=()).volume == 2.0


async def test_a_closed_ticket_registered_for_the_other_side_is_a_new_trade(rig: Rig) -> None:
    """Same ticket, entry and opening time, the other direction, after the close: another
    position (the server's registrations judge it so too); it used to be skipped as the
    closed trade, so the server archived the record and the engine kept none."""
    buy = await rig.open_buy(ticket=11, volume=1.0)
    await rig.strategy.on_trade_closed(rig.host, buy, "take_profit")
    assert rig.strategy.records[11].state is DefensiveState.CLOSED
    sell = replace(buy, direction="sell", stop_loss=buy.entry_price + 50.0)
    await rig.strategy.register_many(rig.host, [sell])
    rec = rig.strategy.records[11]
    assert (rec.direction, rec.state) == ("sell", DefensiveState.HEALTHY)
    assert [r["direction"] for r in rig.strategy.store.archived(11)] == ["buy"]
