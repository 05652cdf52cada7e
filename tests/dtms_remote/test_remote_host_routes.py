"""The routes a trading host with the remote strategy serves (``hostapp run --serve``):
``/health`` says whether the DTMS server answers this host, as an uptime monitor reads it
(503 while it does not, naming the server and since when), beside the redirect to the
server's dashboard. A real aiohttp server on loopback for the host, and the fake DTMS
server for the other side, stopped to take it away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.fake_dtms_server import HOST, Clock, FakeDtms, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.web import routes

Client = TestClient[web.Request, web.Application]


async def test_the_hosts_health_follows_the_dtms_server(
    fake: FakeDtms,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Awaitable[RemoteStrategy]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    clock = Clock()
    settings = settings_for(fake.url)
    strategy = await started(settings, clock=clock)
    app = web.Application()
    app.add_routes(routes(strategy, settings))
    client = await aiohttp_client(app)

    async def health() -> tuple[int, Any]:
        resp = await client.get("/health")
        return resp.status, await resp.json()

    status, body = await health()
    assert (status, body["status"], body["server_answering"]) == (200, "healthy", True)
    assert (body["api_url"], body["problems"], body["outbox_pending"]) == (fake.url, [], 0)
    busted = await client.get("/health?t=123")  # a monitor's cache buster: not read
    assert busted.status == 200 and (await busted.json())["status"] == "healthy"

    await fake.stop()
    await strategy.on_trade_executed(HOST, trade(1))
    await strategy.on_cycle(HOST, clock())  # the outbox cannot deliver: the server is away
    status, body = await health()
    assert (status, body["status"], body["server_answering"]) == (503, "degraded", False)
    assert body["outbox_pending"] == 1 and body["down_since"] is not None
    (problem,) = body["problems"]
    assert problem.startswith(f"DTMS server {fake.url} is not answering since ")

    await fake.start()  # the same port
    clock.advance(60)
    await strategy.on_cycle(HOST, clock())
    await strategy.drain()
    status, body = await health()
    assert (status, body["server_answering"], body["outbox_pending"]) == (200, True, 0)
