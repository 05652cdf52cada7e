"""A store whose database another writer holds past the timeout, under the real local
engine on a real server: the lock is a real one, a second SQLite connection keeping a
write transaction open on ``cache.db`` (any program that opens it could).

``/health`` answered 200 all along: the engine's writes failed and were dropped while its
cycles "succeeded". Now the monitoring cycle fails with the store's error, ``/health`` is
503 naming it while the lock lasts and 200 once a cycle goes through, and what the engine
wrote meanwhile is in the store then (a registration accepted before the lock included).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, open_position, registration, service_of, wavy_path
from support.locked_store import locked

from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]
LOCKED = "database locked by another writer past the timeout"


async def _short_waits(service: Any) -> None:
    """The engine thread's connection waits 0.2 s for a lock, not the store's 5 s."""

    async def change() -> None:
        service.store._cache._con.execute("PRAGMA busy_timeout = 200")

    await service.engine.run(change())


async def test_health_is_503_while_the_store_is_locked_and_the_writes_follow(
    make_client: Any,
) -> None:
    world = World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    service = service_of(client)
    await _short_waits(service)
    ticket = open_position(world)
    body = registration(ticket, entry=world.price("XAUUSD"))
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    world.step()
    await service.run_cycle()
    assert (await client.get("/health")).status == 200
    before = service.store.get_state(ticket)

    directory = Path(service.store.directory)
    with locked(directory):
        for _ in range(2):
            world.step()
            await service.run_cycle()
        health = await client.get("/health")
        problems = (await health.json())["problems"]
        assert health.status == 503, problems
        (problem,) = problems
        assert problem.startswith("the last 2 cycles failed: StoreError: store ")
        assert problem.endswith(LOCKED)
        during = service.store.get_state(ticket)

    world.step()
    await service.run_cycle()
    health = await client.get("/health")
    assert health.status == 200, await health.text()
    after = service.store.get_state(ticket)
    assert before is not None and during == before  # the state cache: not re-stamped
    assert after is not None and after[1] > before[1]  # re-stamped once the lock went
