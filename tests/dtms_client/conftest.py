"""A real DTMS server on 127.0.0.1 (the API app over the scripted world) for the public
client's tests, and a port where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from support.dtms_server_world import ScriptedStrategy, World

from dtms_plugin.server import SERVICE_KEY, DtmsService, ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hostapp.testing import make_host


@dataclass
class Served:
    url: str
    world: World
    service: DtmsService
    server: TestServer


@pytest.fixture
async def served(
    aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path, world: World
) -> Served:
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(tmp_path / "state")), token="", monitor_seconds=3600.0
    )

    def scripted(dtms: DtmsSettings, store: Store) -> Any:
        return ScriptedStrategy(store)

    app = create_app(
        settings, host=make_host(world.broker, world, world), strategy_factory=scripted
    )
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    return Served(url, world, app[SERVICE_KEY], server)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
