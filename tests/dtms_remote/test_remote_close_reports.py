"""Closes reported to the server through the outbox, against a real loopback server with
injected faults: only this host's trades, with the broker's outcome, after the
registration when the close came first."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from support.fake_dtms_server import HOST, FakeDtms, trade

from dtms_plugin.settings import DtmsSettings

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]


async def test_a_close_is_reported_through_the_outbox_and_the_trade_kept(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    fake.fail("closed", 1, status=503)
    closed = dataclasses.replace(trade(7, profit=5.0), close_price=2010.5)
    await strategy.on_trade_closed(HOST, closed, "take_profit")
    await strategy.drain()
    assert fake.hits["closed"] == 2 and fake.deleted[7] == 0
    assert 7 in fake.registered  # never erased: the server keeps its history
    report = fake.closed[7]
    # the close price too: the server's P&L in R of a closed trade is its
    assert (report["reason"], report["profit"], report["close_price"]) == (
        "take_profit",
        5.0,
        2010.5,
    )
    assert strategy.store.outbox_len() == 0
    assert strategy.is_defensive(HOST, 7) is False
    assert strategy.report()["states_reached"] == {"CLOSED": 1}


async def test_a_close_of_a_ticket_this_host_never_registered_is_not_reported(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """Two programs on one account: each host sees every position go, the other's too.
    Reporting the other's close would put this host's guess at the reason (the phase
    that found it gone) in the server's record, where it stood when it came first."""
    strategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    await strategy.on_trade_closed(HOST, trade(41, profit=-3.0), "action")  # not ours
    await strategy.on_trade_closed(HOST, trade(7, profit=5.0), "take_profit")
    await strategy.drain()
    assert fake.hits["closed"] == 1 and set(fake.closed) == {7}
    assert strategy.report()["states_reached"] == {"CLOSED": 1}


async def test_a_close_the_server_saw_first_is_still_reported_with_the_brokers_outcome(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """The server's engine saw the position go (CLOSED, "position gone", no profit) and a
    refresh read it before the host's own sweep: the host's report still brings the
    broker's reason and profit, which the account rails count."""
    strategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    fake.states[7] = "CLOSED"
    await strategy.refresh()
    await strategy.on_trade_closed(HOST, trade(7, profit=-42.0), "stop_loss")
    await strategy.drain()
    assert (fake.closed[7]["reason"], fake.closed[7]["profit"]) == ("stop_loss", -42.0)


async def test_a_close_before_the_registration_was_sent_carries_it(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    url = fake.url
    await fake.stop()
    strategy = await started(settings_for(url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.on_trade_closed(HOST, trade(7, profit=-3.0), "stop_loss")
    await strategy.drain()
    ((ticket, entry),) = strategy.store.outbox_items()
    assert (ticket, entry["kind"], entry["register"]["ticket"]) == (7, "closed", 7)
    await fake.start()
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    # registered first, then closed: the server keeps the trade with its outcome
    assert fake.enable_ok[7] == 1 and fake.closed[7]["reason"] == "stop_loss"
    assert strategy.store.outbox_len() == 0


async def test_a_2xx_saying_success_false_is_no_delivery(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """``{"success": false, "error": "database is locked"}`` with a 200 was taken as
    delivered: the close was dropped from the outbox, never recorded by the server."""
    strategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    fake.fail("closed", 1, status=200, message="database is locked")
    await strategy.on_trade_closed(HOST, trade(7, profit=5.0), "take_profit")
    await strategy.drain()
    assert fake.hits["closed"] == 2 and fake.closed[7]["reason"] == "take_profit"
    assert strategy.store.outbox_len() == 0
