"""A store that cannot write (its disk full), under the real local engine on a real server:
a registration is a 503 naming the store and why (retryable: the client sends it again),
not a final 422 "the engine kept no record"; ``/health`` lists the failure meanwhile; and
once there is room again the same registration goes through (the disk full as SQLite
sees one: :mod:`support.full_disk`)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, open_position, registration, service_of, wavy_path
from support.full_disk import FULL, disk

from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.server.store_health import WRITE_FAILURE_SHOWN_SECONDS, store_problems

Client = TestClient[web.Request, web.Application]


async def _served(make_client: Any) -> tuple[Client, World, Any]:
    world = World({"XAUUSD": wavy_path(2000.0, 1000)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    return client, world, service_of(client)


async def test_a_registration_the_full_store_cannot_keep_is_a_503_then_goes_through(
    make_client: Any,
) -> None:
    client, world, service = await _served(make_client)
    ticket = open_position(world)
    body = registration(ticket, entry=world.price("XAUUSD"))
    await disk(service, full=True)
    resp = await client.post("/dtms/trade/enable", json=body)
    answer = await resp.json()
    assert resp.status == 503, answer  # was a final 422 "the engine kept no record"
    assert (answer["error"], answer["success"]) == ("service unavailable", False)
    where = str(service.store.directory)
    assert answer["message"].startswith(f"store {where}: writing ") and FULL in answer["message"]
    assert ticket not in service.strategy.records  # not defended from memory meanwhile

    health = await client.get("/health")
    problems = (await health.json())["problems"]
    assert health.status == 503 and any(p.startswith(f"store {where}") for p in problems)
    assert any(FULL in p and "s ago" in p for p in problems), problems

    await disk(service, full=False)
    again = await client.post("/dtms/trade/enable", json=body)  # the client's retry
    assert again.status == 201, await again.text()
    assert ticket in service.strategy.records
    assert (await client.get(f"/dtms/trade/{ticket}")).status == 200


async def test_a_batch_the_full_store_cannot_keep_is_a_503_for_the_request(
    make_client: Any,
) -> None:
    """Not one "refused" 422 per item, final to the client: the batch is sent again."""
    client, world, service = await _served(make_client)
    entry = world.price("XAUUSD")
    items = [registration(open_position(world), entry=entry) for _ in range(3)]
    await disk(service, full=True)
    resp = await client.post("/dtms/trades", json={"trades": items})
    answer = await resp.json()
    assert resp.status == 503 and FULL in answer["message"], answer
    await disk(service, full=False)
    resp = await client.post("/dtms/trades", json={"trades": items})
    counts = (await resp.json())["counts"]
    assert counts["refused"] == 0 and counts["registered"] + counts["already_registered"] == 3


async def test_a_failed_write_is_listed_for_a_while_then_no_more(make_client: Any) -> None:
    _, _, service = await _served(make_client)
    assert store_problems(service.store, None) == []
    await disk(service, full=True)
    (problem,) = store_problems(service.store, None)
    assert FULL in problem
    later = time.time() + WRITE_FAILURE_SHOWN_SECONDS + 1
    assert store_problems(service.store, None, now=later) == []
