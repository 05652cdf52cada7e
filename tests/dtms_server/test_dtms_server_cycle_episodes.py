"""A monitoring cycle of ``dtms serve`` that fails the same way every cycle (a broker
adapter that raises on its positions read) is said once for the episode, with its
traceback, and once more with the count when a cycle succeeds; ``/health`` names it
meanwhile (docs/dtms.md §8). Each failed cycle was an ERROR line with its traceback.
A real server app on loopback with the real engine, a paper account file and a store in
``tmp_path``; the broker's fault is switched on by the test (tests/support/served_host.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import engine_server, service_of
from support.hedged_paper import PaperMarket, open_buy
from support.served_host import troubled_broker

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


async def test_a_cycle_failing_every_time_is_one_traceback_and_a_count(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    broker = troubled_broker(market)
    client = await engine_server(aiohttp_client, tmp_path, market, broker)
    service = service_of(client)
    trade = open_buy(broker)
    body: dict[str, Any] = {
        "ticket": trade.ticket, "symbol": "XAUUSD", "direction": "buy",
        "entry": trade.entry_price, "volume": trade.volume, "stop_loss": trade.stop_loss,
        "opened_at": trade.opened_at.isoformat(),
    }  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")

    def said() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno >= logging.WARNING]

    broker.positions_raise = RuntimeError("adapter bug")
    for _ in range(4):
        market.step(broker)
        await service.run_cycle()
    [first] = said()
    assert first.getMessage().endswith(
        "failed: RuntimeError: adapter bug (said once until a cycle succeeds)"
    )
    assert first.exc_info is not None  # its traceback, once
    reply = await client.get("/health")
    health = await reply.json()
    assert (reply.status, health["problems"]) == (
        503, ["the last 4 cycles failed: RuntimeError: adapter bug"]
    )  # fmt: skip

    # another kind of error within the episode is said too, once
    broker.positions_raise = KeyError("another")
    for _ in range(2):
        market.step(broker)
        await service.run_cycle()
    assert [r.getMessage().split(": ", 1)[1] for r in said()[1:]] == [
        "KeyError: 'another' (said once until a cycle succeeds)"
    ]

    broker.positions_raise = None
    market.step(broker)
    await service.run_cycle()
    assert said()[-1].getMessage() == "monitoring cycles succeed again, after 6 failed"
    assert len(said()) == 3
    reply = await client.get("/health")
    assert (reply.status, (await reply.json())["problems"]) == (200, [])
    await client.close()
    broker.release()
