"""The account defensive mode reaches a host that has no open trade: against a real
``dtms serve`` app on loopback (pytest-aiohttp's server on a random port) whose account is
in defensive mode, the remote strategy learns it from ``GET /dtms/status`` when no batch
refresh brings it, and vetoes a new entry (docs/dtms.md §9)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import ScriptedStrategy, World, service_of
from support.fake_dtms_server import Clock, host_on

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hookspecs import OrderRequest
from hostapp.testing import make_host

Client = TestClient[web.Request, web.Application]
Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]

ORDER = OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1)
REASON = "daily realised loss 2.87% ≥ 2%"


async def _server(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path, world: World
) -> Client:
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(tmp_path / "server")),
        token="",
        monitor_seconds=3600.0,  # the first cycle runs at start (the engine's clock)
    )

    def scripted(dtms: DtmsSettings, store: Store) -> ScriptedStrategy:
        return ScriptedStrategy(store)

    app = create_app(
        settings, host=make_host(world.broker, world, world), strategy_factory=scripted
    )
    return await aiohttp_client(app)


async def test_a_host_without_open_trades_vetoes_entries_in_account_defensive_mode(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    settings_for: Settings,
    started: Start,
) -> None:
    server = await _server(aiohttp_client, tmp_path, world)
    url = str(server.make_url("")).rstrip("/")
    clock = Clock()
    host = host_on(world.now)  # the trading clock the server dates the mode on
    strategy: RemoteStrategy = await started(settings_for(url), clock=clock)
    assert strategy.allow_order(host, ORDER) is None  # the server's account is not defensive

    service_of(server).store.put_account_mode(world.now() + timedelta(hours=1), REASON)
    clock.advance(11)  # past fresh_seconds: the idle host asks again
    await strategy.on_cycle(host, clock())  # no open trade: no batch refresh
    veto = strategy.allow_order(host, ORDER)
    assert veto is not None and REASON in veto.reason
    assert veto.kind == "DTMS account defensive mode"

    service_of(server).store.put_account_mode(world.now(), "over")  # ends now: off
    clock.advance(11)  # past fresh_seconds: the idle host asks again
    await strategy.on_cycle(host, clock())
    assert strategy.allow_order(host, ORDER) is None


async def test_the_mode_is_known_from_start_up_and_stands_while_the_server_is_away(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    settings_for: Settings,
    started: Start,
) -> None:
    """The start-up check already reads it; a server that then stops answering leaves the
    last mode learned in force until its end, on the trading clock (docs/dtms.md §9)."""
    server = await _server(aiohttp_client, tmp_path, world)
    url = str(server.make_url("")).rstrip("/")
    service_of(server).store.put_account_mode(world.now() + timedelta(hours=1), REASON)
    now = world.now()
    trading = Clock(now)
    host = host_on(trading)
    strategy: RemoteStrategy = await started(settings_for(url), clock=Clock())
    assert strategy.allow_order(host, ORDER) is not None  # before any cycle
    await server.close()
    trading.advance(1800)
    await strategy.on_cycle(host, trading())
    assert strategy._health.down
    assert strategy.allow_order(host, ORDER) is not None
    trading.advance(1801)  # past the mode's end
    assert strategy.allow_order(host, ORDER) is None
