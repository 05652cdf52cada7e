"""The remote strategy against a real ``dtms serve`` app on loopback whose ``[plugin.dtms]
created_status`` is 200 (set for the original DTMS's clients): its first registrations
answered 200 are delivered, in a batch and one by one (a server without the batch
route), never kept in the outbox or said as a failure."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import ScriptedStrategy, World, service_of
from support.fake_dtms_server import HOST, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hostapp.testing import make_host

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "one_by_one"])
async def test_first_registrations_answered_200_are_delivered(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    batch: bool,
) -> None:
    dtms = DtmsSettings(state_dir=str(tmp_path / "server"), created_status=200)
    settings = ServerSettings(dtms=dtms, token="", monitor_seconds=3600.0)

    def scripted(dtms: DtmsSettings, store: Store) -> ScriptedStrategy:
        return ScriptedStrategy(store)

    app = create_app(
        settings, host=make_host(world.broker, world, world), strategy_factory=scripted
    )
    server = await aiohttp_client(app)
    url = str(server.make_url("")).rstrip("/")
    strategy: RemoteStrategy = await started(settings_for(url))
    strategy._client.batch_supported = batch  # False: as against a server without it
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    for ticket in (7, 8):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    assert strategy.store.outbox_len() == 0
    kept = service_of(server).store
    assert kept.get_record(7) is not None and kept.get_record(8) is not None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
