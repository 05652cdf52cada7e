"""Fixtures: a real DTMS server on loopback (pytest-aiohttp's test server on a random
port) over the scripted world, with the scripted strategy unless a test asks otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import ScriptedStrategy, World

from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hostapp.testing import make_host

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path, world: World
) -> MakeClient:
    """``await make_client(token=..., strategy=...)``: a started server and a client
    (``dashboard=True``: with the page and ``/metrics``, as ``dtms serve`` runs it)."""

    async def make(
        *,
        token: str | None = "",
        strategy_factory: Any = None,
        token_env: str = "DTMS_TOKEN",
        world: World = world,
        dashboard: bool = False,
        cors_origins: tuple[str, ...] = (),
        created_status: int = 201,
        **overrides: Any,
    ) -> Client:
        dtms = DtmsSettings(
            state_dir=str(tmp_path / "state"),
            token_env=token_env,
            cors_origins=cors_origins,
            created_status=created_status,
        )
        settings = ServerSettings(
            dtms=dtms,
            token=token,
            # the first cycle runs at start; tests drive the rest
            **{"monitor_seconds": 3600.0, **overrides},
        )

        def scripted(dtms: DtmsSettings, store: Store) -> ScriptedStrategy:
            return ScriptedStrategy(store)

        app = create_app(
            settings,
            host=make_host(world.broker, world, world),
            strategy_factory=strategy_factory or scripted,
            dashboard=dashboard,
        )
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()
