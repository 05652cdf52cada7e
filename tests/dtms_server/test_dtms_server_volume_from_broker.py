"""A registration without a volume (absent, null or 0: the original's default, which its
example client sends) takes the volume of the server's broker position, on a real server
on loopback; without such a position it is a 409 naming volume, never a trade kept with
no volume to close or hedge half of."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import World, open_position, registration

from dtms_plugin.server.openapi import document
from hookspecs import OrderRequest

Client = TestClient[web.Request, web.Application]


def _position(world: World, volume: float, direction: str = "buy") -> int:
    result = world.broker.open(OrderRequest("XAUUSD", direction, volume))  # type: ignore[arg-type]
    assert result.ok and result.new_ticket is not None
    return result.new_ticket


def _documented(status: int, body: Any) -> None:
    doc = document()
    response = doc["paths"]["/dtms/trade/enable"]["post"]["responses"][str(status)]
    assert errors(body, response["content"]["application/json"]["schema"], doc) == []


async def test_the_original_example_clients_body_takes_the_brokers_volume(
    client: Client, world: World
) -> None:
    ticket = _position(world, 0.3)
    body = registration(ticket, volume=0, stop_loss=0, take_profit=0, action="enable")
    resp = await client.post("/dtms/trade/enable", json=body)
    answer = await resp.json()
    assert resp.status == 201, answer
    _documented(201, answer)
    info = answer["trade_info"]
    assert info["volume"] == 0.3
    assert (info["stop_loss"], info["take_profit"]) == (None, None)
    assert "action" in answer["ignored"]


async def test_absent_null_or_text_zero_volume_alike(client: Client, world: World) -> None:
    for sent in ({}, {"volume": None}, {"volume": "0.00"}):
        ticket = _position(world, 0.2)
        body = {k: v for k, v in registration(ticket).items() if k != "volume"} | sent
        resp = await client.post("/dtms/trade/enable", json=body)
        assert resp.status == 201, (sent, await resp.text())
        assert (await resp.json())["trade_info"]["volume"] == 0.2


async def test_without_a_broker_position_it_is_a_409_naming_volume(
    client: Client, world: World
) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(424242, volume=0))
    body = await resp.json()
    assert resp.status == 409 and body["field"] == "volume", body
    assert "no position 424242" in body["message"] and body["success"] is False
    _documented(409, body)
    assert (await client.get("/dtms/trade/424242")).status == 404  # nothing kept
    sold = open_position(world, direction="sell")  # the broker's position is the other side
    resp = await client.post("/dtms/trade/enable", json=registration(sold, volume=0))
    assert resp.status == 409 and "is a sell on XAUUSD" in (await resp.json())["message"]
    assert (await client.post("/dtms/trade/enable", json=registration(5, volume=-1))).status == 400


async def test_a_batch_item_without_volume_is_taken_or_refused_alone(
    client: Client, world: World
) -> None:
    ticket = _position(world, 0.4)
    items = [registration(ticket, volume=0), registration(535353, volume=0)]
    resp = await client.post("/dtms/trades", json={"trades": items})
    body = await resp.json()
    assert [r["status"] for r in body["results"]] == [201, 409]
    assert body["results"][1]["field"] == "volume"
    assert (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]["volume"] == 0.4


async def test_a_repeat_without_volume_is_answered_by_the_kept_trade(
    client: Client, world: World
) -> None:
    """The original's clients send volume 0 on every registration: a repeat of a kept
    trade whose position has gone from the broker was a 409 on volume, and one whose
    position was partly closed reported its volume "not applied", which it never sent."""
    ticket = _position(world, 0.4)
    held = world.broker.position(ticket)
    assert held is not None  # its entry sent as the broker has it: the kept trade's
    body = registration(ticket, volume=0, entry=held.entry_price)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    assert world.broker.close(ticket, 0.1).ok  # partly closed at the broker
    again = await client.post("/dtms/trade/enable", json=body)
    answer = await again.json()
    assert (again.status, answer["already_registered"]) == (200, True)
    assert "not_applied" not in answer
    assert world.broker.close(ticket).ok  # gone from the broker, the trade still kept
    gone = await client.post("/dtms/trade/enable", json=body)
    answer = await gone.json()
    assert (gone.status, answer["already_registered"]) == (200, True), answer


async def test_a_reused_closed_ticket_without_volume_is_still_a_409(
    client: Client, world: World
) -> None:
    """The kept trade answers a repeat only while it is live and the same trade: a
    CLOSED ticket registered for a new position the broker does not have took the old
    trade's volume and was registered (a 201 for a trade the engine would find gone)."""
    ticket = _position(world, 0.4)
    assert (await client.post("/dtms/trade/enable", json=registration(ticket, volume=0))).ok
    assert world.broker.close(ticket).ok
    closed = await client.post(f"/dtms/trade/{ticket}/closed", json={"reason": "tp"})
    assert closed.status in (200, 202), await closed.text()
    again = registration(ticket, volume=0, entry=2100.0)
    resp = await client.post("/dtms/trade/enable", json=again)
    body = await resp.json()
    assert (resp.status, body["field"]) == (409, "volume"), body
    sell = registration(ticket + 1000, volume=0, direction="sell")
    assert (await client.post("/dtms/trade/enable", json=sell)).status == 409
