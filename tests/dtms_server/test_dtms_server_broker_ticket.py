"""A registration that would make a new trade of its ticket is checked with the broker,
the truth (docs/dtms.md §8): its open position under the ticket, and its history.

Before: a CLOSED ticket registered again with an entry a little off and no ``opened_at``
(an original client's poller) was a 201 "registered again for a new position", and the
new record took the old position's close from the broker's history: CLOSED before it
opened, its loss exported twice. A buy registered for the broker's open sell after a
``DELETE`` was a 201, steered as a buy for a cycle. A GET of an unregistered ticket said
no trade of it was kept, though its actions and a host's refused registration show it.

A real server on loopback with the real local engine, over an in-memory hedging paper
account, and a real store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
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

from hookspecs import Bar, OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


def _open_sell(broker: PaperBroker) -> Trade:
    """The broker's first position: a sell that gets ticket 1, with a stop 20 above."""
    result = broker.open(OrderRequest("XAUUSD", "sell", 1.0))
    assert result.ok and result.new_ticket == 1, result
    pos = broker.position(1)
    assert pos is not None and broker.modify_sl_tp(1, round(pos.entry_price + 20, 2), None).ok
    return pos


def _sell(pos: Trade, **overrides: Any) -> dict[str, Any]:
    body = registration(
        pos.ticket, direction="sell", entry=pos.entry_price, take_profit=None,
        stop_loss=round(pos.entry_price + 20, 2), opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    body.update(overrides)
    return body


def _hit_stop(world: World, broker: PaperBroker, stop: float) -> Trade:
    last = world.bars("XAUUSD", "M5", 1)[-1]
    bar = Bar(last.time + timedelta(minutes=5), last.close, stop + 5.0, last.close, stop + 4.0, 1.0)
    closed = broker.on_bar("XAUUSD", bar)
    assert [(t.ticket, why) for t, why in closed] == [(1, "stop_loss")]
    world.step()
    return closed[0][0]


async def _view(client: Client, ticket: int) -> dict[str, Any]:
    resp = await client.get(f"/dtms/trade/{ticket}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_closed_ticket_sent_again_with_another_entry_is_closed_not_a_new_trade(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _open_sell(broker)
    assert (await client.post("/dtms/trade/enable", json=_sell(pos))).status == 201
    closed = _hit_stop(world, broker, round(pos.entry_price + 20, 2))
    await service_of(client).run_cycle()
    info = (await _view(client, 1))["trade_info"]
    assert (info["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "stop_loss", closed.profit
    )  # fmt: skip

    # a registration of another position, no opened_at: an entry 10 off
    # (past the slippage a resend of the same trade may have)
    again = _sell(pos, entry=round(pos.entry_price - 10, 2))
    del again["opened_at"]
    resp = await client.post("/dtms/trade/enable", json=again)
    assert resp.status == 409, await resp.text()
    body = await resp.json()
    assert (body["error"], body["field"], body["close_reason"]) == (
        "trade closed", "ticket", "stop_loss"
    )  # fmt: skip
    assert closed.closed_at is not None
    assert body["broker_closed_at"] == closed.closed_at.isoformat()
    assert f"position 1 closed at {closed.closed_at.isoformat()}" in body["message"]

    await service_of(client).run_cycle()
    view = await _view(client, 1)
    assert view.get("archived", []) == []  # the one trade, its loss once
    assert (view["trade_info"]["entry_price"], view["trade_info"]["realised_profit"]) == (
        pos.entry_price, closed.profit
    )  # fmt: skip


async def test_a_ticket_first_registered_after_its_close_does_not_get_that_close(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """No record at all (nothing to refuse by): the record opens at its registration,
    and the broker's close of the ticket, dated before, is an earlier position's."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _open_sell(broker)
    closed = _hit_stop(world, broker, round(pos.entry_price + 20, 2))
    world.step()  # registered a bar after the close
    body = _sell(pos)
    del body["opened_at"]
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    for _ in range(3):  # past the wait for a close the history does not show
        await service_of(client).run_cycle()
        world.step()
    info = (await _view(client, 1))["trade_info"]
    # gone, with no result: the broker keeps no close of this record's position
    assert (info["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "position gone", None
    )  # fmt: skip
    assert datetime.fromisoformat(info["closed_at"]) >= datetime.fromisoformat(info["opened_at"])
    assert closed.profit != 0.0


async def test_a_registration_of_the_other_side_of_an_open_position_is_a_409(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _open_sell(broker)
    assert (await client.post("/dtms/trade/enable", json=_sell(pos))).status == 201
    assert (await client.delete("/dtms/trade/1")).status == 200
    buy = _sell(pos, direction="buy", stop_loss=round(pos.entry_price - 20, 2))
    del buy["opened_at"]
    resp = await client.post("/dtms/trade/enable", json=buy)
    assert resp.status == 409, await resp.text()
    body = await resp.json()
    assert body["field"] == "direction"
    assert "the broker's position 1 is a sell on XAUUSD" in body["message"]
    assert (await client.get("/dtms/trade/1")).status == 404  # nothing registered

    other = _sell(pos, symbol="EURUSD")
    resp = await client.post("/dtms/trade/enable", json=other)
    assert resp.status in (400, 409), await resp.text()  # never a 201

    # the position's own side is taken again
    assert (await client.post("/dtms/trade/enable", json=_sell(pos))).status == 201
    await service_of(client).run_cycle()
    view = await _view(client, 1)
    assert (view["trade_info"]["direction"], view["state"]) == ("sell", "HEALTHY")


async def test_a_get_of_an_unregistered_ticket_says_when_it_was_unregistered(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _open_sell(broker)
    assert (await client.post("/dtms/trade/enable", json=_sell(pos))).status == 201
    assert (await client.delete("/dtms/trade/1")).status == 200
    resp = await client.get("/dtms/trade/1")
    assert resp.status == 404
    body = await resp.json()
    at = world.now().isoformat()
    assert (body["error"], body["ticket"], body["success"]) == ("trade not found", 1, False)
    assert body["unregistered_at"] == at
    assert f"trade 1 was unregistered at {at}" in body["message"]

    # registered again, it is found; a ticket never kept still says so
    assert (await client.post("/dtms/trade/enable", json=_sell(pos))).status == 201
    assert (await client.get("/dtms/trade/1")).status == 200
    resp = await client.get("/dtms/trade/2")
    assert resp.status == 404
    body = await resp.json()
    assert "unregistered_at" not in body
    assert body["message"] == "no trade with ticket 2 is kept here"


def test_a_closed_trades_resend_at_the_price_it_asked_is_that_trade() -> None:
    """The record keeps the broker's fill (1940.79); an original client resending the
    closed trade sends the price it asked (1940.29) and no opened_at. With the position
    gone from the broker's list, that read as another position under the ticket: the
    closed trade archived, its loss counted twice, a new one registered. Within the
    slippage a resend has, it is the same trade."""
    from dtms_plugin.server.registered_ticket import reused
    from dtms_plugin.server.validation import Registration

    record = {"state": "CLOSED", "direction": "buy", "symbol": "XAUUSD", "entry_price": 1940.79}
    resend = Registration(7, "XAUUSD", "buy", 1940.29, 0.1, 1930.0, None, None)
    assert not reused(record, resend, lambda: None)
    another = Registration(7, "XAUUSD", "buy", 1951.0, 0.1, 1930.0, None, None)
    assert reused(record, another, lambda: None)
