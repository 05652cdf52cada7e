"""The public client against a server whose ``[plugin.dtms] created_status`` is 200 (set
for the original DTMS's clients): a first registration answered 200 is ``registered``,
not ``already``, one at a time and in a batch (docs/client.md, "Registering")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from support.dtms_server_world import ScriptedStrategy, World

from dtms_plugin.client import AsyncDtmsClient
from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hookspecs import Trade
from hostapp.testing import make_host


def gold_trade(ticket: int) -> Trade:
    return Trade(ticket, "XAUUSD", "buy", 1.0, 2000.0, 1990.0, 2020.0,
                 datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip


async def test_a_first_registration_answered_200_is_registered(
    aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path, world: World
) -> None:
    dtms = DtmsSettings(state_dir=str(tmp_path / "state"), created_status=200)
    settings = ServerSettings(dtms=dtms, token="", monitor_seconds=3600.0)

    def scripted(dtms: DtmsSettings, store: Store) -> Any:
        return ScriptedStrategy(store)

    app = create_app(
        settings, host=make_host(world.broker, world, world), strategy_factory=scripted
    )
    server = await aiohttp_server(app)
    async with AsyncDtmsClient(str(server.make_url("")).rstrip("/")) as client:
        first = await client.register(gold_trade(5))
        assert (first.outcome, first.status, first.ok) == ("registered", 200, True)
        again = await client.register(gold_trade(5))
        assert (again.outcome, again.status) == ("already", 200)
        many = await client.register_many([gold_trade(6), gold_trade(5)])
        assert [(r.ticket, r.outcome, r.status) for r in many] == [
            (6, "registered", 200),
            (5, "already", 200),
        ]
