"""A trade's opening is its broker's (docs/dtms.md §8), as its entry and volume are.

Before: a registration's ``opened_at`` won over the broker's position's, so a client's
wall-clock time (2026) was kept for a position the paper account opened in 2024; the
host's close, reported at the account's time, was then refused as "before the trade
opened", and the host's outbox dropped it: its loss reached neither the server's history
nor its daily-loss rail. Now the broker's opening is kept (a sent one more than a minute
off is named in the WARNING line of the replaced fields), and a close reported before a
kept opening is taken when the broker's history dates the position's opening before it.

A real server on loopback with the real local engine over a real paper broker, a real
store in ``tmp_path``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import (
    engine_server,
    paper_gold_world,
    registration,
    service_of,
)

from hookspecs import OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


def _sell(broker: PaperBroker) -> Trade:
    result = broker.open(OrderRequest("XAUUSD", "sell", 0.2))
    assert result.ok and result.new_ticket is not None, result
    pos = broker.position(result.new_ticket)
    assert pos is not None
    return pos


async def _info(client: Client, ticket: int) -> dict[str, Any]:
    resp = await client.get(f"/dtms/trade/{ticket}")
    assert resp.status == 200, await resp.text()
    return dict((await resp.json())["trade_info"])


def _lines(caplog: pytest.LogCaptureFixture, ticket: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.getMessage().startswith(f"ticket {ticket}: ")
    ]


async def test_the_brokers_opening_wins_and_the_warning_names_it(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _sell(broker)
    sent = pos.opened_at + timedelta(hours=5)  # a client's clock in another zone
    body = registration(pos.ticket, direction="sell", entry=pos.entry_price, volume=0.2,
                        stop_loss=None, take_profit=None, opened_at=sent.isoformat())  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="dtms_plugin"):
        resp = await client.post("/dtms/trade/enable", json=body)
        assert resp.status == 201, await resp.text()
    assert (await _info(client, pos.ticket))["opened_at"] == pos.opened_at.isoformat()
    replaced = f"opened_at {sent.isoformat()} → {pos.opened_at.isoformat()}"
    assert _lines(caplog, pos.ticket) == [
        f"ticket {pos.ticket}: {replaced}, from the broker's position"
    ]


@pytest.mark.parametrize("backend", ["diskcache", "redis"])
async def test_a_close_before_a_wrong_kept_opening_is_taken_from_the_brokers_history(
    aiohttp_client: AioClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """On a Redis store too, a single replica's: its check of a close left for another
    replica's owner ran first, and refused it before the broker was asked."""
    store = request.getfixturevalue("redis_server").url() if backend == "redis" else ""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True, store=store)
    first = _sell(broker)
    # an expert advisor registers the ticket its order was given at once, before the
    # broker lists the position, with its own clock's time: kept as sent
    ticket = first.ticket + 1
    wrong = first.opened_at + timedelta(hours=6)
    body = registration(ticket, direction="sell", entry=first.entry_price, volume=0.2,
                        stop_loss=None, take_profit=None, opened_at=wrong.isoformat())  # fmt: skip
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.text()
    assert (await _info(client, ticket))["opened_at"] == wrong.isoformat()  # as sent
    pos = _sell(broker)
    assert pos.ticket == ticket

    world.step()
    assert broker.close(pos.ticket).ok  # the host closes it, at the account's time
    closed = broker.closed_trade(pos.ticket)
    assert closed is not None and closed.closed_at is not None and closed.closed_at < wrong
    for _ in range(3):  # the engine finds it gone, as the probe's server had
        world.step()
        await service_of(client).run_cycle()
    gone = await _info(client, pos.ticket)
    assert (gone["state"], gone["realised_profit"]) == ("CLOSED", None), gone
    report = {"reason": "sl", "profit": closed.profit, "closed_at": closed.closed_at.isoformat()}
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        resp = await client.post(f"/dtms/trade/{pos.ticket}/closed", json=report)
        assert resp.status == 200, await resp.text()
    info = await _info(client, pos.ticket)
    assert (info["state"], info["realised_profit"]) == ("CLOSED", closed.profit)
    if backend == "redis":  # the money is kept; the record's opening (and so the close's
        return  # time, kept not before it) is not corrected there yet: left, said so
    assert datetime.fromisoformat(info["closed_at"]) == closed.closed_at
    assert datetime.fromisoformat(info["opened_at"]) == pos.opened_at
    [said] = _lines(caplog, pos.ticket)
    assert f"opened_at {wrong.isoformat()} → {pos.opened_at.isoformat()}, from the broker" in said


async def test_a_close_before_the_opening_of_a_ticket_the_broker_never_had_is_a_409(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    opened = world.now()
    body = registration(880777, volume=0.2, opened_at=opened.isoformat())
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    early = (opened - timedelta(hours=1)).isoformat()
    resp = await client.post("/dtms/trade/880777/closed", json={"reason": "sl", "closed_at": early})
    answer = await resp.json()
    assert (resp.status, answer["field"]) == (409, "closed_at"), answer
    assert "before the trade opened" in answer["message"]
