"""The largest MetaTrader ticket (an unsigned 64-bit integer) through a real server on
each store; and a close time the server picks is never before the trade opened, whatever
the broker's clock says (docs/client.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, redis_server_client, registration, service_of
from support.redis_server import RedisServer

from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]
BIGGEST = 2**64 - 1


async def _round_trip(client: Client, ticket: int) -> None:
    """Registered, queried, listed, closed and listed again, as ``ticket`` each time."""
    resp = await client.post("/dtms/trade/enable", json=registration(str(ticket)))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["ticket"] == ticket
    view = await client.get(f"/dtms/trade/{ticket}")
    assert view.status == 200 and (await view.json())["ticket"] == ticket
    listed = await (await client.get(f"/dtms/trades?tickets={ticket}")).json()
    assert list(listed["trades"]) == [str(ticket)], listed
    closed = await client.post(f"/dtms/trade/{ticket}/closed", json={"reason": "tp", "profit": 5})
    assert closed.status == 200, await closed.text()
    assert (await closed.json())["state"] == "CLOSED"
    every = await (await client.get("/dtms/trades")).json()
    assert every["trades"][str(ticket)]["state"] == "CLOSED"
    assert (await client.get(f"/dtms/trade/{ticket + 1}")).status == 400  # past the largest


async def test_the_largest_ticket_on_the_diskcache_store(client: Client) -> None:
    await _round_trip(client, BIGGEST)
    assert service_of(client).store.get_record(BIGGEST)["state"] == "CLOSED"


async def test_the_largest_ticket_on_the_redis_store(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    redis_server: RedisServer,
) -> None:
    client = await redis_server_client(
        aiohttp_client, tmp_path / "state", world, redis_server.url()
    )
    await _round_trip(client, BIGGEST)


def _time(text: Any) -> datetime:
    assert isinstance(text, str), text
    return datetime.fromisoformat(text)


async def test_a_close_the_engine_dates_is_not_before_the_opening(make_client: Any) -> None:
    """A paper broker's clock is its data's (here January 2026) while a program dates the
    opening by the wall clock (June): the position gone, the close used to be dated
    January, before the trade opened."""
    client: Client = await make_client(strategy_factory=default_strategy_factory)
    opened = "2026-06-01T00:00:00+00:00"  # after the data clock, not ahead of the wall's
    body = registration(9001, opened_at=opened)  # no such position at the broker
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    service = service_of(client)
    await service.run_cycle()
    record = service.store.get_record(9001)
    assert record["state"] == "CLOSED" and record["close_reason"] == "position gone"
    assert _time(record["closed_at"]) >= _time(opened)


async def test_a_reported_close_without_a_time_is_not_before_the_opening(
    client: Client, world: World
) -> None:
    opened = "2026-06-01T00:00:00+00:00"
    assert world.now() < _time(opened)
    body = registration(9002, opened_at=opened)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    closed = await client.post("/dtms/trade/9002/closed", json={"reason": "manual"})
    assert closed.status == 200, await closed.text()
    info = (await closed.json())["trade_info"]
    assert _time(info["closed_at"]) >= _time(opened)
