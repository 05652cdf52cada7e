"""A registration's stop and target may lie on either side of its entry, on purpose: a
broker checks them against the price the position closes at, never against its entry
(docs/mt5.md; the paper broker as MetaTrader), so a stop moved to breakeven or past it,
and a buy's target moved below its entry to cut a loss once the price fell, are the
position's real levels. A host registering its trades again (a server whose store was
lost, docs/dtms.md §9) sends them; a 400 would leave that position undefended. R is then
taken as without a stop (docs/dtms.md §1); the target is the broker's, adopted at every
cycle.

A real server on loopback with the real local engine, over an in-memory hedging paper
account, and a real store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import engine_server, paper_gold_world, registration, service_of

from hookspecs import OrderRequest

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


async def test_a_buys_target_below_its_entry_at_the_broker_is_registered_as_it_is(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert opened.ok and opened.new_ticket is not None
    pos = broker.position(opened.new_ticket)
    assert pos is not None
    for _ in range(100):  # the price falls below the entry by more than the stops level
        if broker.quote("XAUUSD").bid < pos.entry_price - 2.0:
            break
        world.step()
        broker.on_bar("XAUUSD", world.bars("XAUUSD", "M5", 1)[-1])
    target = round(pos.entry_price - 1.0, 2)  # below the buy's entry, above its bid
    stop = round(pos.entry_price - 10.0, 2)
    assert broker.modify_sl_tp(pos.ticket, stop, target).ok  # the broker takes it
    body = registration(
        pos.ticket, entry=pos.entry_price, volume=0.1, stop_loss=stop,
        take_profit=target, opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    resp = await client.post("/dtms/trade/enable", json=body)
    answer = await resp.json()
    assert resp.status == 201, answer
    info = answer["trade_info"]
    assert (info["stop_loss"], info["take_profit"]) == (stop, target)
    await service_of(client).run_cycle()
    view = await (await client.get(f"/dtms/trade/{pos.ticket}")).json()
    assert view["trade_info"]["take_profit"] == target and view["state"] != "CLOSED", view
