"""A remote host's own engine settings are not used: the server's engine decides. Against
a real ``dtms serve`` app on loopback started on M5 with ``thresholds.to_hedge = -3``, a
host whose ``[plugin.dtms]`` says H1 and -8 says so at start-up, once, in one WARNING
naming each of its settings that differs and the server's value (docs/client.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import ScriptedStrategy, World
from support.fake_dtms_server import Clock

from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings, Thresholds
from dtms_plugin.store import Store
from hostapp.testing import make_host

Client = TestClient[web.Request, web.Application]


async def _server(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path, world: World, **dtms: Any
) -> Client:
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(tmp_path / "server"), **dtms),
        token="",
        monitor_seconds=3600.0,
    )

    def scripted(dtms: DtmsSettings, store: Store) -> ScriptedStrategy:
        return ScriptedStrategy(store)

    app = create_app(
        settings, host=make_host(world.broker, world, world), strategy_factory=scripted
    )
    return await aiohttp_client(app)


def _unused(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "are not used" in r.getMessage()
    ]


async def test_a_remote_host_says_which_of_its_settings_the_server_does_not_use(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await _server(
        aiohttp_client,
        tmp_path,
        world,
        fast_timeframe="M5",
        thresholds=Thresholds(to_l1=-1.0, l2_recover=-1.0, to_l2=-2.0, to_hedge=-3.0),
    )
    url = str(server.make_url("")).rstrip("/")
    status = await (await server.get("/dtms/status")).json()
    assert status["settings"]["thresholds.to_hedge"] == -3.0
    assert status["settings"]["fast_timeframe"] == "M5"
    assert "state_dir" not in status["settings"]  # the server's folders are its own
    ours = settings_for(url, fast_timeframe="H1", thresholds=Thresholds(to_hedge=-8.0))
    with caplog.at_level(logging.INFO, logger="dtms_plugin"):
        await started(ours, clock=Clock(), log=logging.getLogger("dtms_plugin"))
    [said] = _unused(caplog)
    assert "the server's are in force" in said
    assert 'fast_timeframe = "H1" (the server\'s: "M5")' in said
    assert 'signal_timeframe = "H4" (the server\'s: "M15")' in said
    assert "thresholds.to_hedge = -8.0 (the server's: -3.0)" in said
    # the host's own process settings differ by design and are not named
    assert "api_url" not in said and "query_timeout" not in said


async def test_a_remote_host_with_the_servers_settings_says_nothing(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await _server(aiohttp_client, tmp_path, world, fast_timeframe="H1")
    url = str(server.make_url("")).rstrip("/")
    with caplog.at_level(logging.INFO, logger="dtms_plugin"):
        await started(
            settings_for(url, fast_timeframe="H1"),
            clock=Clock(),
            log=logging.getLogger("dtms_plugin"),
        )
    assert _unused(caplog) == []
