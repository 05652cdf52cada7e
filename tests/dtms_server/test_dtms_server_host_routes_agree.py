"""A trading host's DTMS routes (``hostapp run --live --serve``) answer as ``dtms serve``
does and as docs/client.md says: every JSON answer carries ``success`` (the host's
``/dtms/trades``, ``/dtms/status`` and ``/dtms/actions`` had none), ``/health`` ignores
its query (a monitor's ``?t=1`` was a 400 on the host). Real requests to real apps on
loopback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import hosts_routes

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


async def test_every_json_answer_of_a_hosts_routes_carries_success(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    async with hosts_routes(aiohttp_client, tmp_path) as (client, _):
        for url in ("/dtms/trades", "/dtms/status", "/dtms/actions", "/dtms/trade/1", "/health"):
            resp = await client.get(url)
            body = await resp.json()
            assert body.get("success") is (resp.status < 400), (url, resp.status, body)


async def test_a_hosts_health_ignores_a_cache_buster(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    async with hosts_routes(aiohttp_client, tmp_path) as (client, _):
        plain = await client.get("/health")
        for url in ("/health?t=1", "/health?t=1&t=2"):
            resp = await client.get(url)
            assert resp.status == plain.status, (url, await resp.text())
            assert (await client.head(url)).status == plain.status, url
