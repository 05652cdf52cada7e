"""AsyncDtmsClient against a real DTMS server on loopback: every call, the registration
retry policy, and the is_defensive cache and fallback rules with an injected clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import open_position

from dtms_plugin.client import AsyncDtmsClient, DtmsUnreachable
from hookspecs import Trade

from .conftest import Served


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def gold_trade(ticket: int, entry: float = 2000.0) -> Trade:
    return Trade(ticket, "XAUUSD", "buy", 1.0, entry, entry - 10, entry + 20,
                 datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip


async def test_every_call_against_a_real_server(served: Served) -> None:
    async with AsyncDtmsClient(served.url) as client:
        first = await client.register(gold_trade(5))
        assert (first.outcome, first.status, first.ok) == ("registered", 201, True)
        assert (await client.register({**_body(5)})).outcome == "already"
        refused = await client.register({**_body(6), "volume": -1})
        assert (refused.outcome, refused.status, refused.ok) == ("refused", 400, False)
        assert "volume" in refused.message
        state = await client.state(5)
        assert state is not None and state["trade_info"]["state"] == "HEALTHY"
        assert await client.state(99) is None
        assert set(await client.states([5, 99])) == {5}
        assert await client.is_defensive(5) is False
        assert (await client.status())["trades"] == 1
        closed = await client.report_closed(5, "tp", 12.5)
        assert closed is not None and closed["state"] == "CLOSED"
        assert await client.report_closed(99, "tp") is None
        assert [a["to"] for a in await client.actions(5)] == ["CLOSED"]
        assert set(await client.trades()) == {"5"}
        many = await client.register_many([gold_trade(7), _body(5), {**_body(8), "symbol": "NOPE"}])
        assert [r.outcome for r in many] == ["registered", "already", "refused"]
        assert await client.unregister(7) is True
        assert await client.unregister(7) is False


def _body(ticket: int) -> dict[str, object]:
    return {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
            "volume": 1.0, "stop_loss": 1990.0, "take_profit": 2020.0}  # fmt: skip


async def test_registration_retries_after_1_2_4_s_then_says_unreachable(
    dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    caplog.set_level(logging.WARNING, "dtms_plugin.client")
    async with AsyncDtmsClient(dead_url, sleep=sleeps) as client:
        result = await client.register(gold_trade(41))
    assert (result.outcome, result.ok) == ("unreachable", False)
    assert sleeps.waits == [1.0, 2.0, 4.0]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "ticket 41" in errors[-1]
    with pytest.raises(DtmsUnreachable, match="not running at"):
        async with AsyncDtmsClient(dead_url) as client:
            await client.status()


async def test_a_transient_503_is_retried_and_then_registers(aiohttp_server: object) -> None:
    answers = [503, 503, 201]

    async def enable(request: web.Request) -> web.Response:
        status = answers.pop(0)
        body = {"success": status < 400, "ticket": 9, "already_registered": False}
        return web.json_response(body if status < 400 else {"error": "busy"}, status=status)

    app = web.Application()
    app.router.add_post("/dtms/trade/enable", enable)
    server: TestServer = await aiohttp_server(app)  # type: ignore[operator]
    sleeps = Sleeps()
    async with AsyncDtmsClient(str(server.make_url("")), sleep=sleeps) as client:
        result = await client.register(gold_trade(9))
    assert (result.outcome, sleeps.waits) == ("registered", [1.0, 2.0])


async def test_is_defensive_cache_and_fallback_rules(served: Served) -> None:
    world = served.world
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    clock, sleeps = Clock(), Sleeps()
    client = AsyncDtmsClient(served.url, clock=clock, sleep=sleeps)
    try:
        assert await client.is_defensive(404404) is False  # not managed
        assert (await client.register(gold_trade(ticket, entry))).ok
        assert await client.is_defensive(ticket) is False  # asked: HEALTHY
        world.broker.set_price("XAUUSD", entry - 10.0)
        await served.service.run_cycle()  # now WARNING_L2 on the server
        clock.now += 9
        assert await client.is_defensive(ticket) is False  # fresh cache (≤ 10 s)
        clock.now += 2
        assert await client.is_defensive(ticket) is True  # stale: asked again
        await served.server.close()  # the server goes away
        clock.now += 25  # 25 s old: last known
        assert await client.is_defensive(ticket) is True
        assert sleeps.waits == [0.5]  # one retry after 0.5 s
        clock.now += 10  # 35 s old: nothing known any more
        assert await client.is_defensive(ticket) is False
        assert await client.is_defensive(777) is False  # never known, server down
    finally:
        await client.close()
