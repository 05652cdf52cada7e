"""AsyncDtmsClient against a real DTMS server on loopback: every call, the registration
retry policy, and the is_defensive cache and fallback rules with an injected clock."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import ScriptedStrategy, World, open_position

from dtms_plugin.client import AsyncDtmsClient, DtmsError, DtmsUnreachable
from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from hookspecs import Trade
from hostapp.testing import make_host

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
        assert set(await client.trades()) == {5}  # the integer ticket, as states() has it
        many = await client.register_many([gold_trade(7), _body(5), {**_body(8), "symbol": "NOPE"}])
        # 5 is kept CLOSED with the same entry: the server's 409 "trade closed", not defended
        assert [r.outcome for r in many] == ["registered", "closed", "refused"]
        assert many[1].ok is False and "DTMS no longer manages it" in many[1].message
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
    async with AsyncDtmsClient(dead_url, sleep=sleeps, rand=lambda: 0.0) as client:
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
        body = {"success": status < 400, "ticket": 9, "already_registered": False,
                "trade_info": {"state": "HEALTHY"}}  # fmt: skip
        return web.json_response(body if status < 400 else {"error": "busy"}, status=status)

    app = web.Application()
    app.router.add_post("/dtms/trade/enable", enable)
    server: TestServer = await aiohttp_server(app)  # type: ignore[operator]
    sleeps = Sleeps()
    async with AsyncDtmsClient(str(server.make_url("")), sleep=sleeps, rand=lambda: 0.0) as client:
        result = await client.register(gold_trade(9))
    assert (result.outcome, sleeps.waits) == ("registered", [1.0, 2.0])


async def test_a_batch_not_answered_in_time_says_the_server_may_have_registered_it(
    aiohttp_server: object,
) -> None:
    """A loaded server registered five batches of 200 whose clients were told only that it
    was "unreachable … did not answer in time": a caller that takes it at its word would
    think them undefended, or give up."""
    registered: list[int] = []

    async def enable_many(request: web.Request) -> web.Response:
        body = await request.json()
        registered.extend(t["ticket"] for t in body["trades"])
        await asyncio.sleep(1.0)  # done, answered too late
        return web.json_response({"results": []})

    app = web.Application()
    app.router.add_post("/dtms/trades", enable_many)
    server: TestServer = await aiohttp_server(app)  # type: ignore[operator]
    url = str(server.make_url("")).rstrip("/")
    async with AsyncDtmsClient(url, register_timeout=0.2) as client:
        results = await client.register_many([gold_trade(5), gold_trade(6)])
    assert registered == [5, 6]
    assert [r.outcome for r in results] == ["unreachable", "unreachable"]
    assert results[0].message == (
        f"DTMS server at {url}: no answer to POST /dtms/trades within 0.2 s; the server may"
        " have done it all the same: registrations and close reports are idempotent by"
        " ticket, sending them again is safe (the remote strategy's outbox does)"
    )


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


async def test_a_refused_question_raises_and_never_reads_as_not_defended(
    aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path, world: World
) -> None:
    """A wrong token: ``is_defensive`` answered False after a warning, so a program with
    a mistyped secret was told every trade was free to touch."""
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(tmp_path / "state")), token="s3cret", monitor_seconds=3600.0
    )
    app = create_app(
        settings,
        host=make_host(world.broker, world, world),
        strategy_factory=lambda dtms, store: ScriptedStrategy(store),
    )
    url = str((await aiohttp_server(app)).make_url("")).rstrip("/")
    async with AsyncDtmsClient(url, token="s3cret") as client:
        assert (await client.register(gold_trade(5))).outcome == "registered"
        assert await client.is_defensive(5) is False
    async with AsyncDtmsClient(url, token="not-the-token") as wrong:
        with pytest.raises(DtmsError) as refused:
            await wrong.is_defensive(5)
        assert refused.value.status == 401


async def test_bad_values_are_errors_naming_them(served: Served) -> None:
    async with AsyncDtmsClient(served.url) as client:
        opened = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)  # a datetime in a mapping: sent
        body = {**_body(9), "opened_at": opened, "volume": Decimal("0.5")}
        assert (await client.register(body)).outcome == "registered"
        naive = {**_body(10), "opened_at": datetime(2024, 3, 4, 9, 30)}  # read as UTC
        assert (await client.register(naive)).outcome == "registered"
        kept = await client.state(10)
        assert kept is not None and kept["trade_info"]["opened_at"] == opened.isoformat()
        with pytest.raises(TypeError, match="closed_at: expected a datetime or ISO 8601 text"):
            await client.report_closed(9, "tp", 1.0, closed_at=20240304)  # type: ignore[arg-type]
        with pytest.raises(DtmsError) as bad:
            await client.report_closed(9, "tp", 1.0, closed_at="yesterday")
        assert bad.value.status == 400 and bad.value.body["field"] == "closed_at"
    with pytest.raises(ValueError) as no_scheme:
        AsyncDtmsClient("127.0.0.1:8001")
    assert str(no_scheme.value) == "url: '127.0.0.1:8001' is not an http:// or https:// URL"


async def test_a_close_report_is_retried_as_a_registration_is(aiohttp_server: object) -> None:
    """It raised at the first 503 (a restarting server), so the trade's outcome was lost
    unless the program kept it; a server that never answers is DtmsUnreachable."""
    answers = [503, 503, 200]

    async def closed(request: web.Request) -> web.Response:
        status = answers.pop(0)
        body = {"ticket": 9, "state": "CLOSED", "success": True} if status == 200 else {
            "error": "restarting"}  # fmt: skip
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/dtms/trade/{ticket}/closed", closed)
    server: TestServer = await aiohttp_server(app)  # type: ignore[operator]
    sleeps = Sleeps()
    async with AsyncDtmsClient(str(server.make_url("")), sleep=sleeps, rand=lambda: 0.0) as client:
        done = await client.report_closed(9, "tp", 5.0)
    assert (done, sleeps.waits) == ({"ticket": 9, "state": "CLOSED", "success": True}, [1.0, 2.0])


async def test_a_close_report_to_no_server_ends_unreachable(dead_url: str) -> None:
    sleeps = Sleeps()
    async with AsyncDtmsClient(dead_url, sleep=sleeps, rand=lambda: 0.0) as client:
        with pytest.raises(DtmsUnreachable, match="not running at"):
            await client.report_closed(9, "tp", 5.0)
    assert sleeps.waits == [1.0, 2.0, 4.0]


async def test_retries_of_many_clients_are_not_in_step(dead_url: str) -> None:
    """Every client waited exactly 1, 2 and 4 s: bots a server's restart failed together
    all retried in the same instant. Each wait now has up to 0.5 s of jitter."""
    waits: list[list[float]] = []
    for ticket in (1, 2):
        sleeps = Sleeps()
        async with AsyncDtmsClient(dead_url, sleep=sleeps) as client:
            assert (await client.register(gold_trade(ticket))).outcome == "unreachable"
            with pytest.raises(DtmsUnreachable):
                await client.report_closed(ticket, "tp")
        waits.append(sleeps.waits)
    for each in waits:
        assert len(each) == 6
        assert all(b <= w <= b + 0.5 for w, b in zip(each, [1.0, 2.0, 4.0] * 2, strict=True))
    assert waits[0] != waits[1] and waits[0] != [1.0, 2.0, 4.0] * 2


def test_a_client_used_in_a_second_event_loop_says_so(dead_url: str) -> None:
    """A chat bot calling ``asyncio.run`` per message got ``Event loop is closed``; one
    closed at the end of each run (``async with``) opens again in the next."""

    async def status(client: AsyncDtmsClient) -> None:
        async with client:
            with pytest.raises(DtmsUnreachable):
                await client.status()

    closed_each_time = AsyncDtmsClient(dead_url)
    asyncio.run(status(closed_each_time))
    asyncio.run(status(closed_each_time))
    left_open = AsyncDtmsClient(dead_url)
    with pytest.raises(DtmsUnreachable):
        asyncio.run(left_open.status())  # the first loop: the session is made in it
    with pytest.raises(RuntimeError, match="bound to the event loop it first ran in"):
        asyncio.run(left_open.status())
    del left_open  # its session, never closed, belongs to a loop gone: aiohttp says so
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_a_trades_magic_number_and_comment_are_registered(served: Served) -> None:
    """A ``hookspecs.Trade`` lost them (the server kept magic 0 and comment ''), while
    the same fields in a mapping were kept."""
    trade = Trade(31, "XAUUSD", "buy", 1.0, 2000.0, 1990.0, 2020.0,
                  datetime(2026, 3, 2, tzinfo=UTC), magic=240617, comment="bot-A")  # fmt: skip
    async with AsyncDtmsClient(served.url) as client:
        assert (await client.register(trade)).outcome == "registered"
    strategy = served.service.strategy
    assert isinstance(strategy, ScriptedStrategy)
    (kept,) = strategy.executed  # the trade the server handed its engine
    assert (kept.magic, kept.comment) == (240617, "bot-A")


async def test_trades_reads_every_page(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server answers GET /dtms/trades a page at a time: trades() reads them all."""
    import dtms_plugin.client.aio as aio

    monkeypatch.setattr(aio, "TRADES_PAGE", 2)
    async with AsyncDtmsClient(served.url) as client:
        assert [r.outcome for r in await client.register_many(
            [gold_trade(t) for t in range(11, 16)]
        )] == ["registered"] * 5  # fmt: skip
        assert set(await client.trades()) == set(range(11, 16))
        assert set(await client.trades("HEALTHY")) == set(range(11, 16))
