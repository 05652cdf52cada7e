"""``dtms serve`` records the broker's own stop or target hit itself (docs/dtms.md §8):
no client's exit, and one no client may report (its host was down), which the account
rails must count. It recorded "position gone" with no profit, so the daily-loss rail
never saw a stop-out and the next entry was allowed. A close the broker cannot name (an
order: ``external``) still waits for the client's report, which brings its reason.

A real server on loopback with the real local engine, over an in-memory paper account
whose bars hit the stop (its deals say why), and a real store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import (
    World,
    engine_server,
    paper_gold_world,
    registration,
    service_of,
)

from hookspecs import Bar, OrderRequest
from hostapp.brokers.paper import PaperBroker

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]
STOP = 20.0  # a stop 20 below the entry, 1 lot of XAUUSD: 2,000 of a 10,000 balance


async def _server(aiohttp_client: AioClient, tmp_path: Path, world: World, broker: Any) -> Client:
    client: Client = await engine_server(aiohttp_client, tmp_path, world, broker)
    return client


async def _open_and_register(client: Client, broker: PaperBroker) -> tuple[int, float]:
    result = broker.open(OrderRequest("XAUUSD", "buy", 1.0))
    assert result.ok and result.new_ticket is not None, result
    pos = broker.position(result.new_ticket)
    assert pos is not None
    stop = round(pos.entry_price - STOP, 2)
    assert broker.modify_sl_tp(pos.ticket, stop, None).ok
    body = registration(
        pos.ticket, entry=pos.entry_price, stop_loss=stop, take_profit=None,
        opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    return pos.ticket, stop


def _hit_stop(world: World, broker: PaperBroker, ticket: int, stop: float) -> float:
    """A bar through the stop: the paper account closes the position there (its deal
    says ``stop_loss``); the profit it booked."""
    last = world.bars("XAUUSD", "M5", 1)[-1]
    bar = Bar(last.time + timedelta(minutes=5), last.close, last.close, stop - 5.0, stop - 4.0, 1.0)
    closed = broker.on_bar("XAUUSD", bar)
    assert [(t.ticket, why) for t, why in closed] == [(ticket, "stop_loss")]
    world.step()
    return closed[0][0].profit


async def _view(client: Client, ticket: int) -> dict[str, Any]:
    resp = await client.get(f"/dtms/trade/{ticket}")
    assert resp.status == 200
    return await resp.json()


async def _account_mode(client: Client) -> dict[str, Any]:
    return (await (await client.get("/dtms/status")).json())["account_mode"]


async def test_a_stop_hit_while_the_server_was_down_is_recorded_at_start_up(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    first = await _server(aiohttp_client, tmp_path, world, broker)
    ticket, stop = await _open_and_register(first, broker)
    await first.close()  # the server stops; nobody reports what happens meanwhile
    profit = _hit_stop(world, broker, ticket, stop)
    assert profit < -1000.0

    client = await _server(aiohttp_client, tmp_path, world, broker)
    info = (await _view(client, ticket))["trade_info"]
    assert info["state"] == "CLOSED"
    assert (info["close_reason"], info["realised_profit"], info["close_price"]) == (
        "stop_loss", profit, stop
    )  # fmt: skip
    mode = await _account_mode(client)
    assert mode["defensive"] is True and "daily realised loss" in mode["reason"]

    # a client's later report (its own words, another profit) changes nothing: the
    # first outcome stands
    late = {"reason": "external", "profit": -1.0}
    body = await (await client.post(f"/dtms/trade/{ticket}/closed", json=late)).json()
    assert body["already_closed"] is True
    info = (await _view(client, ticket))["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("stop_loss", profit)


async def test_a_stop_hit_between_cycles_is_recorded_on_the_next(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await _server(aiohttp_client, tmp_path, world, broker)
    ticket, stop = await _open_and_register(client, broker)
    profit = _hit_stop(world, broker, ticket, stop)
    assert (await _account_mode(client))["defensive"] is False

    await service_of(client).run_cycle()
    info = (await _view(client, ticket))["trade_info"]
    assert (info["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "stop_loss", profit
    )  # fmt: skip
    assert (await _account_mode(client))["defensive"] is True


async def test_a_close_the_broker_cannot_name_waits_for_the_clients_report(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """An order closed it (the client's exit): the server's broker says ``external``,
    which is no reason of the client's, so the report's reason is kept; the money is the
    broker's history's, whatever the report says (docs/client.md)."""
    world, broker = paper_gold_world()
    client = await _server(aiohttp_client, tmp_path, world, broker)
    ticket, _ = await _open_and_register(client, broker)
    assert broker.close(ticket).ok
    closed = broker.closed_trade(ticket)
    assert closed is not None and closed.profit != -12.5
    await service_of(client).run_cycle()
    info = (await _view(client, ticket))["trade_info"]
    assert (info["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "position gone", None
    )  # fmt: skip

    report = {"reason": "exit", "profit": -12.5}
    assert (await client.post(f"/dtms/trade/{ticket}/closed", json=report)).status == 200
    info = (await _view(client, ticket))["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("exit", closed.profit)
