"""One trade's unexpected failure is that trade's alone (docs/dtms.md §8). A registration
of ticket 2**63 (the API takes tickets up to 2**64 - 1) on a server whose broker is a
shared paper account file made every monitoring cycle fail with ``OverflowError``: no
trade of the account was evaluated or defended, and after a restart ``dtms serve``
refused to start. Now the trade is skipped, said once, kept, and named under
``failing_trades`` in ``/health`` and ``/dtms/status``; the other trades are managed.

The paper account file no longer raises for such a ticket (tests/hostapp_broker/
test_paper_file_big_tickets.py): here a broker that raises for one ticket as it did (the
real SQLite ``OverflowError``) stands for any failure of one trade's step. A real server
on loopback with the real local engine, a real account file and store in ``tmp_path``."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, engine_server, registration, service_of, wavy_path

from hookspecs import CloseReason, OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker, PaperSettings

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]
BIG = 2**63


class RaisingBroker(PaperBroker):
    """The paper account file as it was: a ticket SQLite cannot hold raised from the
    question DTMS asks of a trade it does not see listed (how did it close?)."""

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        sqlite3.connect(":memory:").execute("SELECT ?", (ticket,))  # OverflowError
        return super().closed_with_reason(ticket)


def _world(tmp_path: Path) -> tuple[World, RaisingBroker]:
    world = World({"XAUUSD": wavy_path(2000.0, 400)}, visible=300)
    account = PaperSettings(account_file=str(tmp_path / "account.db"))
    broker = RaisingBroker(clock=world.now, settings=account)
    for bar in world.bars("XAUUSD", "M5", 50):
        broker.on_bar("XAUUSD", bar)
    return world, broker


async def _server(aiohttp_client: AioClient, tmp_path: Path, world: World, broker: Any) -> Client:
    client: Client = await engine_server(aiohttp_client, tmp_path, world, broker)
    return client


async def _health(client: Client) -> tuple[int, dict[str, Any]]:
    reply = await client.get("/health")
    return reply.status, await reply.json()


async def test_one_trade_failing_leaves_the_others_defended_and_is_named(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    world, broker = _world(tmp_path)
    client = await _server(aiohttp_client, tmp_path, world, broker)
    opened = broker.open(OrderRequest("XAUUSD", "buy", 1.0, stop_loss=1980.0))
    assert opened.ok and opened.new_ticket is not None
    good = broker.position(opened.new_ticket)
    assert good is not None
    body = registration(
        good.ticket, entry=good.entry_price, stop_loss=1980.0, take_profit=None,
        opened_at=good.opened_at.isoformat(),
    )  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    big = registration(BIG, entry=2000.0, volume=0.1, stop_loss=None, take_profit=None)
    assert (await client.post("/dtms/trade/enable", json=big)).status == 201

    service = service_of(client)
    for _ in range(4):  # past the arming age: the good trade is scored
        world.step()
        await service.run_cycle()
    assert service.monitor.failures == 0, service.monitor.last_error
    assert good.ticket in service.strategy.evaluated
    status, health = await _health(client)
    assert (status, health["status"], health["problems"]) == (200, "healthy", [])
    [failing] = health["failing_trades"]
    assert failing.startswith(f"trade {BIG}: its cycle failed 4 times in a row (OverflowError")
    engine = (await (await client.get("/dtms/status")).json())["engine"]
    assert engine["failing_trades"] == health["failing_trades"]
    # counted by what failed, not one entry per ticket that ever did (a server runs months)
    assert service.strategy.problems == {"a trade's step failed (OverflowError)": 4}
    said = [r for r in caplog.records if r.levelno >= logging.WARNING and str(BIG) in r.message]
    assert len(said) == 1 and said[0].levelno == logging.ERROR  # once for the episode
    kept = await client.get(f"/dtms/trade/{BIG}")
    assert kept.status == 200 and (await kept.json())["state"] == "HEALTHY"
    await client.close()

    # a restart: the start-up recovery skips it too, and the server starts
    again = await _server(aiohttp_client, tmp_path, world, broker)
    status, health = await _health(again)
    assert status == 200, health
    [failing] = health["failing_trades"]
    assert failing.startswith(f"trade {BIG}: its ") and "OverflowError" in failing
    assert (await again.get(f"/dtms/trade/{good.ticket}")).status == 200
    await service_of(again).run_cycle()
    assert service_of(again).monitor.failures == 0
    broker.release()
