"""A Redis record whose version field is no number (a planted or garbled key) through a
real server: it answered 500 on every listing (``/dtms/status``, ``/dtms/trades``, the
dashboard's poll) and on its own ticket, with a traceback in the log, while ``/health``
said healthy (the security probe). The record is damaged now, read as absent: every other
trade answers, the key is listed under ``/health``'s ``damaged``, and a key mended reads
well again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, redis_server_client, registration, service_of
from support.redis_server import RedisServer

Client = TestClient[web.Request, web.Application]


async def test_a_record_whose_version_is_no_number_is_damaged_not_a_500(
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    world: World,
    redis_server: RedisServer,
) -> None:
    client = await redis_server_client(
        aiohttp_client, tmp_path / "state", world, redis_server.url()
    )
    for ticket in (11, 14):
        resp = await client.post("/dtms/trade/enable", json=registration(ticket))
        assert resp.status == 201, await resp.text()
    redis: Any = service_of(client).store.client  # type: ignore[attr-defined]
    version = redis.hget("dtms:trade:14", "v")
    redis.hset("dtms:trade:14", "v", "x")

    for path in ("/dtms/status", "/dtms/trades", "/dtms/trades?tickets=11,14"):
        resp = await client.get(path)
        assert resp.status == 200, (path, await resp.text())
    listed = await (await client.get("/dtms/trades")).json()
    assert list(listed["trades"]) == ["11"]  # the damaged one hidden, only itself
    assert (await client.get("/dtms/trade/14")).status == 404
    health = await (await client.get("/health")).json()
    assert health["damaged"] == ["dtms:trade:14"]

    redis.hset("dtms:trade:14", "v", version)  # mended
    listed = await (await client.get("/dtms/trades")).json()
    assert sorted(listed["trades"]) == ["11", "14"]
    assert (await client.get("/dtms/trade/14")).status == 200
    assert (await (await client.get("/health")).json())["damaged"] == []
