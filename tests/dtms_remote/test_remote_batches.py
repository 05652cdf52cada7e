"""The outbox sends pending registrations in batches (POST /dtms/trades), keeps each
registration's own outcome, falls back to one by one on a server without the batch
route, and counts the states its trades reached on the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from support.fake_dtms_server import HOST, FakeDtms, trade

from dtms_plugin.settings import DtmsSettings

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]


async def test_a_thousand_pending_registrations_go_in_five_requests(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    url = fake.url
    await fake.stop()
    strategy = await started(settings_for(url))
    for ticket in range(1, 1001):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()  # down: everything stays
    await fake.start()
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    assert fake.batch_sizes[-5:] == [200] * 5
    assert set(fake.enable_ok.values()) == {1} and len(fake.enable_ok) == 1000
    assert strategy.store.outbox_len() == 0


async def test_one_refused_registration_does_not_hold_back_the_batch(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.on_trade_executed(HOST, trade(8))
    fake.fail("enable", 1, status=422, message="the engine declined it")
    fake.fail("batch", 1, status=503)  # the whole first request: retried
    await strategy.drain()
    assert fake.hits["batch"] == 2
    assert 7 not in fake.registered and fake.enable_ok[8] == 1
    assert strategy.store.outbox_len() == 0  # 7 dropped as refused, 8 delivered


async def test_a_server_without_the_batch_route_gets_them_one_by_one(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    fake.fail("batch", 1, status=404, message="not found")
    strategy = await started(settings_for(fake.url))
    for ticket in (1, 2, 3):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    assert fake.enable_ok == {1: 1, 2: 1, 3: 1}
    assert fake.hits["enable"] == 3 and fake.hits["batch"] == 1


async def test_the_report_counts_states_reached_on_the_server(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy = await started(settings_for(fake.url))
    for ticket in (1, 2):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    fake.states[1] = "WARNING_L2"
    await strategy.refresh()
    fake.states[1] = "HEDGED"
    await strategy.refresh()
    await strategy.on_trade_closed(HOST, trade(2, profit=1.0), "take_profit")
    assert strategy.report()["states_reached"] == {"CLOSED": 1, "HEDGED": 1, "WARNING_L2": 1}


async def test_a_registration_is_one_commit_and_a_delivered_batch_one_more(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    url = fake.url
    await fake.stop()
    strategy = await started(settings_for(url))
    statements: list[str] = []
    strategy.store._cache._con.set_trace_callback(statements.append)
    for ticket in range(1, 6):
        await strategy.on_trade_executed(HOST, trade(ticket))
    commits = [s for s in statements if s == "COMMIT"]
    assert len(commits) == 5  # its outbox entry and the open set together
    await strategy.drain()  # down: everything stays
    await fake.start()
    statements.clear()
    await strategy.drain()
    strategy.store._cache._con.set_trace_callback(None)
    assert fake.batch_sizes[-1:] == [5] and strategy.store.outbox_len() == 0
    assert len([s for s in statements if s == "COMMIT"]) == 1  # the five forgotten at once


async def test_a_host_forgets_the_oldest_closed_tickets_but_counts_them(
    fake: FakeDtms, settings_for: Settings, started: Start, monkeypatch: Any
) -> None:
    """A host that runs for months: beyond CLOSED_KEPT closed tickets the oldest leave
    memory and the state cache; the report still counts every one, once."""
    from dtms_plugin import remote_states

    monkeypatch.setattr(remote_states, "CLOSED_KEPT", 5)
    strategy = await started(settings_for(fake.url))
    for ticket in range(1, 13):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    fake.states[1] = "HEDGED"
    await strategy.refresh()
    for ticket in range(1, 13):
        await strategy.on_trade_closed(HOST, trade(ticket, profit=1.0), "take_profit")
    store = strategy.store
    assert [t for t in range(1, 13) if store.get_state(t) is not None] == list(range(8, 13))
    assert len(strategy._closed) == 5 and set(strategy._reached_by) <= set(range(8, 13))
    await strategy.refresh()  # the newest closed ones are not asked about again
    assert strategy.report()["states_reached"] == {"CLOSED": 12, "HEDGED": 1}


async def test_activity_is_the_trades_the_server_took_not_the_closes_it_never_heard(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """A run whose server never answered did nothing for its A/B (exit 3), however many
    trades the host closed meanwhile; a server that took them counts each once."""
    url = fake.url
    await fake.stop()
    strategy = await started(settings_for(url))
    for ticket in (1, 2, 3):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.on_trade_closed(HOST, trade(3, profit=1.0), "take_profit")
    await strategy.drain()
    report = strategy.report()
    assert report["activity"] == 0 and report["outbox_pending"] == 3
    await fake.start()
    await strategy.drain()  # 1 and 2 in a batch; 3's close carries its registration
    assert strategy.report()["activity"] == 3 and strategy.store.outbox_len() == 0
    await strategy.on_trade_closed(HOST, trade(1, profit=1.0), "take_profit")
    await strategy.drain()
    assert strategy.report()["activity"] == 3  # a close is no new trade
