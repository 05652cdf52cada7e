"""The routes a trading host serves for its local engine (``web_routes``) answer
``GET /dtms/trades`` as ``dtms serve`` does, through the same function: a list of
tickets, a page, the 400 of ``?ticket=`` (the host's copy once answered every trade to
``?tickets=1,2``). A real aiohttp server on loopback over a diskcache store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.e2e_procs import dtms_verb

from dtms_plugin.client import AsyncDtmsClient
from dtms_plugin.local import LocalStrategy
from dtms_plugin.server.metrics import ServerMetrics
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from dtms_plugin.web import EngineWatch, routes

Client = TestClient[web.Request, web.Application]


async def test_the_hosts_trades_route_is_the_servers(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        for ticket in (1, 2, 3):
            state = "CLOSED" if ticket == 1 else "HEALTHY"
            store.put_record(ticket, {"ticket": ticket, "state": state, "symbol": "XAUUSD"})
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings))
        client = await aiohttp_client(app)

        async def get(query: str) -> tuple[int, Any]:
            resp = await client.get("/dtms/trades" + query)
            return resp.status, await resp.json()

        status, body = await get("?tickets=1,2,9")
        assert status == 200 and sorted(body["trades"]) == ["1", "2"]
        assert body["unknown"] == [9] and set(body["trades"]["1"]) >= {"state", "defensive"}
        status, body = await get("?limit=2")
        assert (status, list(body["trades"]), body["total"]) == (200, ["3", "2"], 3)
        status, body = await get("?ticket=1")
        assert (status, body["field"]) == (400, "ticket")
        head = await client.head("/health")  # uptime monitors ask with HEAD
        assert (head.status, await head.read()) == (200, b"")


async def test_a_program_asking_the_hosts_server_is_told_the_truth(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    """``hostapp run --serve`` beside a program that asks before it touches a trade: the
    host had no ``GET /dtms/trade/{ticket}``, and the client read its 404 as "not
    managed", so ``is_defensive`` was False for a HEDGED trade. A registration is told
    where to go, never a plain 404."""
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        for ticket, state in ((5, "HEDGED"), (6, "HEALTHY")):
            record = {"ticket": ticket, "state": state, "symbol": "XAUUSD", "direction": "buy"}
            store.put_record(ticket, {**record, "entry_price": 2000.0, "r": 5.0})
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings))
        client = await aiohttp_client(app)
        url = str(client.make_url("/")).rstrip("/")
        async with AsyncDtmsClient(url, token="") as dtms:
            assert await dtms.is_defensive(5) is True
            assert await dtms.is_defensive(6) is False
            shown = await dtms.state(5)
            assert shown is not None and shown["state"] == "HEDGED"
            result = await dtms.register(
                {"ticket": 7, "symbol": "XAUUSD", "direction": "buy", "volume": 0.1,
                 "entry_price": 2000.0, "stop_loss": 1990.0}
            )  # fmt: skip
        assert (result.outcome, result.status) == ("refused", 501)
        assert "dtms serve" in result.message
        gone = await client.delete("/dtms/trade/5")  # an unregistration: the same answer
        assert gone.status == 501 and "dtms serve" in (await gone.json())["message"]
        missing = await client.get("/dtms/trade/9")
        assert (missing.status, (await missing.json())["error"]) == (404, "trade not found")
        document = await (await client.get("/openapi.json")).json()
        assert "/dtms/trade/{ticket}" in document["paths"]
        assert {method for ops in document["paths"].values() for method in ops} == {
            "get",
            "head",
        }


async def test_the_engine_badge_of_the_hosts_page_follows_its_cycles(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    """``/dtms/status``'s ``engine.healthy`` (the page's badge) said healthy while the
    engine's cycles failed and ``/health`` answered 503."""
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        watch = EngineWatch(ServerMetrics(lambda: store))
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings, watch=watch))
        client = await aiohttp_client(app)

        async def badge() -> tuple[bool, int]:
            status = await (await client.get("/dtms/status")).json()
            return status["engine"]["healthy"], (await client.get("/health")).status

        assert await badge() == (True, 200)
        watch.status.failed(RuntimeError("the broker went away"))
        assert await badge() == (False, 503)


async def test_dtms_status_against_the_hosts_server_says_its_engine_time(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    """``dtms status`` against a host's server showed "local / None" and an engine time
    of "–": the host's status named no clock, and an unknown broker was printed as None."""
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    played = datetime(2024, 3, 1, 12, 5, tzinfo=UTC)  # a paper run's data time
    with Store(tmp_path / "dtms") as store:
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings, now=lambda: played))
        client = await aiohttp_client(app)
        status = await (await client.get("/dtms/status")).json()
        assert status["engine"]["engine_time"] == "2024-03-01T12:05:00+00:00"
        url = str(client.make_url("/")).rstrip("/")
        done = await asyncio.to_thread(dtms_verb, "status", url=url, token=None)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in
            done.stdout.splitlines() if line.count("│") == 3}  # fmt: skip
    assert rows["strategy / broker"] == "local"
    assert rows["engine time"] == "2024-03-01T12:05:00+00:00"
