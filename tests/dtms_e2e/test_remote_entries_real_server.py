"""The remote strategy's ``allow_order`` and registrations against the real DTMS server
(its real local engine, on loopback at a port of its own, over the scripted market whose
memory broker both sides share, as a host and ``dtms serve`` share an account), with
real stores in ``tmp_path``.

- A losing close queued while the server is unreachable vetoes new entries until the
  server has it (it let an entry through right after a 50 % loss: the host read only the
  account mode the server last said); then the server's answer rules again.
- A symbol with a HEDGED trade takes no new entries, as with the local strategy.
- A registration carries the trade's magic number and comment (the server's trade_info
  showed magic 0 and an empty comment).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support.dtms_server_world import World, falling_path, open_position, wavy_path
from support.e2e_procs import free_port

from dtms_plugin.defensive import ACCOUNT_MODE_VETO, HEDGED_SYMBOL_VETO
from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.remote_entries import UNCOUNTED_VETO
from dtms_plugin.server import SERVICE_KEY, ServerSettings, create_app
from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.settings import DtmsSettings
from hookspecs import HostView, OrderRequest
from hostapp.testing import make_host

ORDER = OrderRequest("XAUUSD", "buy", 0.1)


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


class Rig:
    def __init__(self, tmp_path: Path, world: World) -> None:
        self.tmp_path = tmp_path
        self.world = world
        self.port = free_port()
        #: the trading host: the same account as the server's, on the market's clock
        self.host: HostView = make_host(world.broker, world, world)
        self.server: TestServer | None = None
        self.remotes: list[RemoteStrategy] = []
        self.settings = DtmsSettings(
            strategy="remote",
            api_url=f"http://127.0.0.1:{self.port}",
            state_dir=str(tmp_path / "host-state"),
            token_env="DTMS_TEST_TOKEN_UNSET",
            register_timeout_seconds=2.0,
            query_timeout_seconds=2.0,
        )

    async def start_server(self) -> None:
        settings = ServerSettings(
            dtms=DtmsSettings(state_dir=str(self.tmp_path / "server-state")),
            token="",
            monitor_seconds=3600.0,  # the test drives the cycles
        )
        host = make_host(self.world.broker, self.world, self.world)
        app = create_app(settings, host=host, strategy_factory=default_strategy_factory)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)
        await self.server.start_server()

    async def cycle(self) -> None:
        assert self.server is not None
        await self.server.app[SERVICE_KEY].run_cycle()

    async def remote(self) -> RemoteStrategy:
        remote = RemoteStrategy(self.settings, sleep=_no_wait, flush_wait_seconds=0.1)
        await remote.startup(self.host)
        self.remotes.append(remote)
        return remote

    async def stop(self) -> None:
        for remote in self.remotes:
            await remote.shutdown(self.host)
        if self.server is not None:
            await self.server.close()

    async def trade_info(self, ticket: int) -> dict[str, Any]:
        assert self.server is not None
        url = self.server.make_url(f"/dtms/trade/{ticket}")
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            assert resp.status == 200
            return (await resp.json())["trade_info"]


@pytest.fixture
async def calm(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = Rig(tmp_path, World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000))
    yield rig
    await rig.stop()


@pytest.fixture
async def falling(tmp_path: Path) -> AsyncIterator[Rig]:
    base = wavy_path(2000.0, 1000)  # enough M15 bars for the engine's warm-up
    rig = Rig(
        tmp_path, World({"XAUUSD": base + falling_path(base[-1], 200, step=1.5)}, visible=1000)
    )
    yield rig
    await rig.stop()


async def test_a_close_the_unreachable_server_has_not_counted_vetoes_entries(
    calm: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig = calm
    remote = await rig.remote()  # no server at its URL
    ticket = open_position(rig.world)
    position = rig.world.broker.position(ticket)
    assert position is not None
    await remote.on_trade_executed(rig.host, position)
    assert rig.world.broker.close(ticket).ok
    lost = dataclasses.replace(
        position, profit=-5000.0, close_price=position.entry_price - 50.0,
        closed_at=rig.world.now(),
    )  # fmt: skip
    await remote.on_trade_closed(rig.host, lost, "exit")
    await remote.drain()
    assert remote.store.outbox_len() == 1

    caplog.set_level(logging.INFO, "dtms_plugin.remote")
    vetoes = [remote.allow_order(rig.host, ORDER) for _ in range(3)]
    for veto in vetoes:
        assert veto is not None and veto.kind == UNCOUNTED_VETO
        assert veto.reason == (
            "DTMS server not answering with 1 close(s) it has not counted: entries wait until "
            "it has them"
        )
    said = [r for r in caplog.records if "it has not counted" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING  # once per episode

    # a restart of the host while the server is still down: the outbox says it
    await remote.shutdown(rig.host)
    rig.remotes.remove(remote)
    remote = await rig.remote()
    veto = remote.allow_order(rig.host, ORDER)
    assert veto is not None and veto.kind == UNCOUNTED_VETO

    await rig.start_server()
    await remote.flush()  # delivered: the server counts the loss
    assert remote.store.outbox_len() == 0
    info = await rig.trade_info(ticket)
    assert (info["state"], info["realised_profit"]) == ("CLOSED", -5000.0)
    await remote.refresh()  # the server's answer rules again: its account mode
    veto = remote.allow_order(rig.host, ORDER)
    assert veto is not None and veto.kind == ACCOUNT_MODE_VETO
    assert "daily realised loss" in veto.reason


async def test_a_close_delivered_at_once_vetoes_nothing_of_its_own(calm: Rig) -> None:
    rig = calm
    await rig.start_server()
    remote = await rig.remote()
    ticket = open_position(rig.world)
    position = rig.world.broker.position(ticket)
    assert position is not None
    await remote.on_trade_executed(rig.host, position)
    assert rig.world.broker.close(ticket).ok
    won = dataclasses.replace(position, profit=5.0, closed_at=rig.world.now())
    await remote.on_trade_closed(rig.host, won, "exit")
    await remote.drain()
    assert remote.allow_order(rig.host, ORDER) is None


async def test_a_symbol_with_a_hedged_trade_takes_no_new_entries(falling: Rig) -> None:
    rig = falling
    await rig.start_server()
    remote = await rig.remote()
    ticket = open_position(rig.world)
    position = rig.world.broker.position(ticket)
    assert position is not None
    await remote.on_trade_executed(rig.host, position)
    await remote.drain()
    state = None
    for _ in range(60):
        rig.world.step()
        await rig.cycle()
        await remote.refresh()
        state = (await rig.trade_info(ticket))["state"]
        if state == "HEDGED":
            break
        assert remote.allow_order(rig.host, ORDER) is None  # WARNING_L2 vetoes nothing
    assert state == "HEDGED"
    veto = remote.allow_order(rig.host, ORDER)
    assert veto is not None
    assert (veto.reason, veto.kind) == (
        f"DTMS: XAUUSD has a hedged trade (ticket {ticket})", HEDGED_SYMBOL_VETO
    )  # fmt: skip
    assert remote.allow_order(rig.host, OrderRequest("EURUSD", "buy", 0.1)) is None

    # a restarted host judges its first entries before any refresh, from its state cache
    # (the ticket's symbol from the broker: it was handed in the earlier run)
    await remote.shutdown(rig.host)
    rig.remotes.remove(remote)
    again = await rig.remote()
    veto = again.allow_order(rig.host, ORDER)
    assert veto is not None and veto.kind == HEDGED_SYMBOL_VETO


async def test_a_registration_carries_the_magic_and_comment(calm: Rig) -> None:
    rig = calm
    await rig.start_server()
    remote = await rig.remote()
    opened = rig.world.broker.open(
        OrderRequest("XAUUSD", "buy", 0.1, magic=777, comment="grid bot")
    )
    assert opened.new_ticket is not None
    position = rig.world.broker.position(opened.new_ticket)
    assert position is not None and (position.magic, position.comment) == (777, "grid bot")
    await remote.on_trade_executed(rig.host, position)
    await remote.drain()
    info = await rig.trade_info(position.ticket)
    assert (info["magic"], info["comment"]) == (777, "grid bot")
