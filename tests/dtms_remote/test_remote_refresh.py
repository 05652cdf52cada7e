"""State refresh and ``is_defensive`` of the remote strategy, on a real loopback server
with an injected clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from support.fake_dtms_server import HOST, T0, Clock, FakeDtms, Sleeps, host_on, trade

from dtms_plugin.remote import BATCH_SIZE, RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hookspecs import HostView, OrderRequest

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]


async def _registered(strategy: RemoteStrategy, tickets: range) -> None:
    for ticket in tickets:
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()


async def _settle(strategy: RemoteStrategy) -> None:
    """Let a refresh scheduled from ``is_defensive`` run to its end."""
    task = strategy._refresh_task
    if task is not None:
        await task


async def test_cycle_refreshes_all_open_tickets_in_one_request(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await _registered(strategy, range(1, 51))
    fake.states.update({3: "HEDGED", 4: "WARNING_L2", 5: "WARNING_L1"})
    await strategy.on_cycle(HOST, clock())
    assert fake.hits["trades"] == 1
    assert sorted(fake.batch_tickets[0]) == list(range(1, 51))
    assert strategy.store.get_state(3) == ("HEDGED", T0)
    assert strategy.store.get_state(1) == ("HEALTHY", T0)
    assert [strategy.is_defensive(HOST, t) for t in (3, 4, 5, 1)] == [True, True, False, False]
    assert fake.hits["trades"] == 1  # fresh answers: no refresh scheduled


async def test_large_sets_are_chunked(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    await _registered(strategy, range(1, BATCH_SIZE + 2))
    await strategy.on_cycle(HOST, strategy._now())
    assert [len(b) for b in fake.batch_tickets] == [BATCH_SIZE, 1]


async def test_unknown_tickets_cache_not_managed(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await _registered(strategy, range(1, 3))
    del fake.registered[2]  # the server forgot it
    await strategy.on_cycle(HOST, clock())
    assert strategy.store.get_state(2) == (None, T0)
    assert strategy.is_defensive(HOST, 2) is False
    assert strategy._refresh_task is None  # fresh "not managed": nothing to refresh


async def test_closed_tickets_are_dropped_from_later_refreshes(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    await _registered(strategy, range(1, 4))
    fake.states[2] = "CLOSED"
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.on_cycle(HOST, strategy._now())
    assert sorted(fake.batch_tickets[0]) == [1, 2, 3]
    assert sorted(fake.batch_tickets[1]) == [1, 3]


async def test_pending_registrations_are_not_queried(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    await _registered(strategy, range(1, 3))
    fake.fail("enable", 100, status=500, message="engine error")
    await strategy.on_trade_executed(HOST, trade(3))
    await strategy.drain()
    assert strategy.store.outbox_len() == 1
    await strategy.on_cycle(HOST, strategy._now())
    assert sorted(fake.batch_tickets[-1]) == [1, 2]
    assert strategy.store.get_state(3) is None  # not cached as "not managed"


async def test_is_defensive_freshness_and_one_coalesced_refresh(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await _registered(strategy, range(1, 11))
    fake.states.update({t: "HEDGED" for t in range(1, 11)})
    await strategy.on_cycle(HOST, clock())
    assert fake.hits["trades"] == 1

    clock.advance(10)  # still fresh
    assert all(strategy.is_defensive(HOST, t) for t in range(1, 11))
    assert strategy._refresh_task is None

    clock.advance(15)  # last known: the cached answer, plus one refresh for the burst
    assert all(strategy.is_defensive(HOST, t) for t in range(1, 11))
    await _settle(strategy)
    assert fake.hits["trades"] == 2

    clock.advance(31)  # stale: not defensive; one refresh
    fake.states.update({t: "HEALTHY" for t in range(1, 11)})
    assert not any(strategy.is_defensive(HOST, t) for t in range(1, 11))
    await _settle(strategy)
    assert fake.hits["trades"] == 3
    assert strategy.store.get_state(1) == ("HEALTHY", clock())


async def test_unknown_ticket_asked_about_is_fetched(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    fake.states[77] = "HEDGED"  # registered by someone else, e.g. a previous run
    assert strategy.is_defensive(HOST, 77) is False  # absent: the conservative fallback
    await _settle(strategy)
    assert fake.batch_tickets == [[77]]
    assert strategy.is_defensive(HOST, 77) is True


async def test_refreshes_from_the_hot_path_are_rate_limited_when_failing(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    fake.fail("trades", 100, status=503)
    for _ in range(5):
        strategy.is_defensive(HOST, 5)
        await _settle(strategy)
    assert fake.hits["trades"] == 1
    clock.advance(1.5)
    strategy.is_defensive(HOST, 5)
    await _settle(strategy)
    assert fake.hits["trades"] == 2


async def test_without_a_running_loop_the_ticket_waits_for_the_next_cycle(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    fake.states[9] = "WARNING_L2"
    answer = await asyncio.to_thread(strategy.is_defensive, HOST, 9)  # no loop in that thread
    assert answer is False
    assert strategy._refresh_task is None
    await strategy.on_cycle(HOST, strategy._now())
    assert fake.batch_tickets == [[9]]
    assert strategy.is_defensive(HOST, 9) is True


async def test_refresh_failure_keeps_the_last_known_state(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await _registered(strategy, range(1, 2))
    fake.states[1] = "HEDGED"
    await strategy.on_cycle(HOST, clock())
    fake.drop("trades", 2)  # aiohttp itself retries an idempotent GET once on a drop
    clock.advance(20)
    await strategy.on_cycle(HOST, clock())
    assert strategy.store.get_state(1) == ("HEDGED", T0)
    assert fake.hits["trades"] == 3
    assert strategy.is_defensive(HOST, 1) is True  # last known, within 30 s


async def test_account_mode_from_the_server_vetoes_orders(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    host = host_on(clock)
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    order = OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1)
    assert strategy.allow_order(host, order) is None
    until = T0 + timedelta(hours=2)
    fake.account_mode = {"until": until.isoformat(), "reason": "daily loss 2.3%"}
    await _registered(strategy, range(1, 2))
    await strategy.on_cycle(host, clock())
    veto = strategy.allow_order(host, order)
    assert veto is not None and "daily loss 2.3%" in veto.reason
    assert veto.kind == "DTMS account defensive mode"
    assert strategy.is_defensive(host, 1) is True
    clock.advance(3 * 3600)
    assert strategy.allow_order(host, order) is None


async def test_the_account_mode_ends_on_the_trading_clock_not_today(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """A paper account replays 2024's bars today: the server dates the mode's end on the
    account's clock, and the host must judge it on its own trading clock, not on this
    process's wall clock (which is years past every such end)."""
    data_time = Clock(datetime(2024, 1, 4, 15, 0, tzinfo=UTC))
    host = host_on(data_time)
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=Clock())
    until = datetime(2024, 1, 5, tzinfo=UTC)
    fake.account_mode = {"until": until.isoformat(), "reason": "daily realised loss 2.05%"}
    await _registered(strategy, range(1, 2))
    await strategy.on_cycle(host, data_time())
    order = OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1)
    veto = strategy.allow_order(host, order)
    assert veto is not None and "daily realised loss 2.05%" in veto.reason
    assert strategy.is_defensive(host, 1) is True
    data_time.advance(9 * 3600 + 1)  # past midnight of the data: the mode has ended
    assert strategy.allow_order(host, order) is None


async def test_shutdown_closes_everything_and_store_reopens(
    fake: FakeDtms, settings_for: Settings, tmp_path: Path
) -> None:
    strategy = RemoteStrategy(settings_for(fake.url))
    await strategy.startup(HOST)
    await strategy.on_trade_executed(HOST, trade(1))
    await strategy.drain()
    await strategy.shutdown(HOST)
    await strategy.shutdown(HOST)  # idempotent
    assert strategy._tasks == set()
    with Store(tmp_path / "dtms") as store:
        assert store.get_value("remote:open") == [1]


async def test_session_is_pooled_bounded_timed_and_closed(
    fake: FakeDtms, settings_for: Settings
) -> None:
    settings = settings_for(fake.url, register_timeout_seconds=5.0, query_timeout_seconds=2.0)
    strategy = RemoteStrategy(settings)
    await strategy.startup(HOST)
    client = strategy._client
    assert client is not None and client._session is not None
    session = client._session
    assert session.timeout.total == 5.0
    assert client._query_timeout == 2.0
    assert session.connector is not None
    assert session.connector.limit == 8 and session.connector.limit_per_host == 8
    await strategy.on_trade_executed(HOST, trade(1))
    await strategy.on_cycle(HOST, strategy._now())
    assert strategy._client is client and client._session is session  # one session, reused
    await strategy.shutdown(HOST)
    assert session.closed
    assert strategy._client is None


async def test_server_account_mode_seen_through_the_defensive_flags(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    clock = Clock()
    HOST = host_on(clock)  # the module's name, on this test's clock
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await _registered(strategy, range(1, 3))
    fake.account_defensive = True  # states stay HEALTHY, but every trade is defensive
    await strategy.on_cycle(HOST, clock())
    assert strategy.is_defensive(HOST, 1) is True
    order = OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1)
    assert strategy.allow_order(HOST, order) is not None
    fake.account_defensive = False
    clock.advance(11)  # the cached verdict lapses after fresh_seconds
    assert strategy.allow_order(HOST, order) is None
    assert strategy.is_defensive(HOST, 1) is False


@dataclass
class _Positions:
    """The broker side of a host: the open positions, by ticket."""

    open: dict[int, Any]

    def position(self, ticket: int) -> Any:
        return self.open.get(ticket)


@dataclass
class _HostWithBroker:
    clock: Any
    broker: _Positions


async def test_trades_a_replaced_server_no_longer_knows_are_registered_again(
    fake: FakeDtms, settings_for: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The server was restarted on an empty store: its answer lists this host's open
    trades as unknown. They are registered again from the broker's positions, once, in
    one WARNING; a trade that closed meanwhile is not."""
    positions = _Positions({t: trade(t) for t in (1, 2, 3)})
    host = cast(HostView, _HostWithBroker(HOST.clock, positions))
    strategy = RemoteStrategy(settings_for(fake.url), sleep=Sleeps(), rand=lambda: 0.5)
    await strategy.startup(host)
    try:
        for ticket in (1, 2, 3):
            await strategy.on_trade_executed(host, trade(ticket))
        await strategy.drain()
        fake.registered.clear()  # a fresh store behind the same address
        fake.states.clear()
        del positions.open[3]  # closed while the server was away (no report reached it)
        with caplog.at_level(logging.WARNING):
            await strategy.refresh()
            await strategy.drain()
        assert set(fake.registered) == {1, 2}
        said = [r.getMessage() for r in caplog.records if "no longer knows" in r.getMessage()]
        assert said == [
            f"DTMS server {fake.url} no longer knows 2 open trades this host handed it "
            "(tickets 1, 2): registered again"
        ]
        assert strategy.report()["trades_handed_again"] == 2
        await strategy.refresh()  # known again: nothing more
        assert strategy.report()["trades_handed_again"] == 2
    finally:
        await strategy.shutdown(host)
