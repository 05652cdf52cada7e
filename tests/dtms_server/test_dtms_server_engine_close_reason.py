"""A close the server's own engine made keeps its reason when the client reports it.

The client's host reports every close it sees, with a reason named after the phase of
its loop that found the position gone: ``external`` when none of its plugins acted,
which is the case for a close the server made on its own broker connection. That report
set the record's ``close_reason`` to ``external``; it now keeps ``action``, what the
local strategy records for its own close, while the report's profit fills in the
outcome the engine's close lacked. A real server on loopback with the real local engine
over the scripted market, and a real store in ``tmp_path``."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import (
    World,
    falling_path,
    open_position,
    registration,
    service_of,
    wavy_path,
)

from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]


async def _closed_by_the_engine(client: Client, world: World, ticket: int) -> dict[str, Any]:
    service = service_of(client)
    for _ in range(300):
        world.step()
        await service.run_cycle()
        view = await (await client.get(f"/dtms/trade/{ticket}")).json()
        journal = view["trade_info"]["journal"]
        if any(e["kind"] == "close" and e["status"] == "done" for e in journal):
            return view
    raise AssertionError(f"the engine never closed the trade: {view['state']}")


async def test_the_clients_report_of_the_engines_close_keeps_action(make_client: Any) -> None:
    base = wavy_path(2000.0, 1000)
    world = World({"XAUUSD": base + falling_path(base[-1], 600, step=1.5)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    body = registration(ticket, entry=entry, stop_loss=entry - 20.0, take_profit=None)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201

    view = await _closed_by_the_engine(client, world, ticket)
    assert view["state"] == "CLOSED"
    assert world.broker.position(ticket) is None
    assert view["trade_info"]["realised_profit"] is None  # no outcome of its own yet

    report = {"reason": "external", "profit": -321.5, "close_price": 1901.0}
    resp = await client.post(f"/dtms/trade/{ticket}/closed", json=report)
    assert resp.status == 200
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("action", -321.5)

    again = await client.post(f"/dtms/trade/{ticket}/closed", json={"reason": "exit"})
    answer = await again.json()
    assert answer["already_closed"] is True
    assert "not_applied" not in answer  # the engine's reason is kept by rule, not over it
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("action", -321.5)


async def test_a_close_the_engine_did_not_make_keeps_the_reports_reason(
    make_client: Any,
) -> None:
    world = World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    ticket = open_position(world)
    body = registration(ticket, entry=world.price("XAUUSD"), take_profit=None)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    report = {"reason": "external", "profit": 12.0}
    assert (await client.post(f"/dtms/trade/{ticket}/closed", json=report)).status == 200
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("external", 12.0)
