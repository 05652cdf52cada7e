"""``GET /dtms/trades``'s ``symbol`` filter reads a name as registration does, on ``dtms
serve`` and on a trading host's routes: ``?symbol=xauusd`` answered ``total: 0`` for the
trade registered as ``xauusd`` (kept as the broker's ``XAUUSD``), while ``?state=healthy``
worked. Real requests to real apps on loopback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import hosts_routes, registration

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


async def test_the_symbol_filter_reads_a_name_as_registration_does(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(7, symbol="xauusd"))
    assert resp.status == 201, await resp.text()
    for spelling in ("xauusd", "XAUUSD", "xauusd,EURUSD"):
        body = await (await client.get("/dtms/trades", params={"symbol": spelling})).json()
        assert (body["total"], list(body["trades"])) == (1, ["7"]), spelling
    listed = await (await client.get("/dtms/trades?tickets=7&symbol=xauusd")).json()
    assert list(listed["trades"]) == ["7"]
    none = await (await client.get("/dtms/trades", params={"symbol": "eurusd"})).json()
    assert none["total"] == 0


async def test_a_hosts_symbol_filter_reads_it_alike(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    async with hosts_routes(aiohttp_client, tmp_path) as (client, _):
        body = await (await client.get("/dtms/trades?symbol=xauusd")).json()
        assert (body["total"], list(body["trades"])) == (1, ["1"])
