"""A trading host starting while ``dtms serve``'s last monitoring cycle failed (its
broker's positions could not be read: a terminal reconnecting). The server's ``/health``
is then 503 with its own body (``engine_running``, ``problems``): it answers, unhealthy.
The host said "not answering" at ERROR, marked it down and skipped the start-up
``GET /dtms/status``, so it did not learn the account's defensive mode; now it says the
problems once at WARNING and goes on. A 503 without that body (a proxy's) is still "not
answering". A real server on loopback, a real remote host, real stores in ``tmp_path``."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import World, open_position, wavy_path

from dtms_plugin.defensive import ACCOUNT_MODE_VETO
from dtms_plugin.server import SERVICE_KEY, ServerSettings, create_app
from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.settings import DtmsSettings
from hookspecs import BrokerError, OrderRequest, Trade
from hostapp.testing import make_host

from .test_remote_entries_real_server import Rig

ORDER = OrderRequest("XAUUSD", "buy", 0.1)


class Hiccup:
    """The server's broker: the shared account, whose positions cannot be read while
    ``down`` (a MetaTrader terminal reconnecting)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.down = True

    def positions(self) -> list[Trade]:
        if self.down:
            raise BrokerError("terminal reconnecting")
        result: list[Trade] = self.inner.positions()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class HiccupRig(Rig):
    async def start_server(self) -> None:
        settings = ServerSettings(
            dtms=DtmsSettings(state_dir=str(self.tmp_path / "server-state")),
            token="",
            monitor_seconds=3600.0,  # the test drives the cycles
        )
        self.broker = Hiccup(self.world.broker)
        host = make_host(self.broker, self.world, self.world)  # type: ignore[arg-type]
        app = create_app(settings, host=host, strategy_factory=default_strategy_factory)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)
        await self.server.start_server()


async def test_a_host_starting_during_a_failed_cycle_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = HiccupRig(tmp_path, World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000))
    await rig.start_server()
    try:
        assert rig.server is not None
        service = rig.server.app[SERVICE_KEY]
        service.store.put_account_mode(rig.world.now() + timedelta(hours=1), "daily loss")
        await rig.cycle()  # its positions unreadable: the cycle fails
        url = str(rig.server.make_url("/health"))
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            body = await resp.json()
            assert resp.status == 503 and body["problems"], body

        caplog.set_level(logging.INFO, "dtms_plugin")
        remote = await rig.remote()
        host_said = [r for r in caplog.records if r.name == "dtms_plugin.remote"]
        assert not [r for r in host_said if r.levelno >= logging.ERROR], caplog.text
        said = [r for r in host_said if "unhealthy" in r.getMessage()]
        assert len(said) == 1 and said[0].levelno == logging.WARNING
        assert "terminal reconnecting" in said[0].getMessage()
        assert remote.health()[0], remote.health()
        veto = remote.allow_order(rig.host, ORDER)  # learnt at start-up
        assert veto is not None and veto.kind == ACCOUNT_MODE_VETO

        ticket = open_position(rig.world)
        position = rig.world.broker.position(ticket)
        assert position is not None
        await remote.on_trade_executed(rig.host, position)
        await remote.drain()
        assert remote.store.outbox_len() == 0  # delivered, the server still unhealthy
        assert service.store.get_record(ticket) is not None
    finally:
        await rig.stop()


async def test_a_proxys_503_is_still_not_answering(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(tmp_path, World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000))

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="<html>502 Bad Gateway</html>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unavailable)
    rig.server = TestServer(app, host="127.0.0.1", port=rig.port)
    await rig.server.start_server()
    try:
        caplog.set_level(logging.INFO, "dtms_plugin")
        remote = await rig.remote()
        assert "is not answering" in caplog.text
        assert not remote.health()[0]
    finally:
        await rig.stop()
