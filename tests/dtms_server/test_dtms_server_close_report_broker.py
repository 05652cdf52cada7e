"""A close a client reports is the broker's close when the broker's history has it (the
broker is the truth: docs/dtms.md §8), whenever the report arrives.

Before: a bot watching the account sent ``POST /dtms/trade/{t}/closed`` with no body the
moment a position's stop was hit, before the server's engine had read the close. The
record kept reason ``closed``, no close price and a profit of 0 for a stop-out, for the
account's daily-loss rail and ``dtms export``; the host's own report with the real
profit came second and was answered ``already_closed``.

A real server on loopback with the real local engine, over an in-memory hedging paper
account, and a real store in ``tmp_path``."""

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

from hookspecs import Bar, OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


async def _registered_buy(client: Client, broker: PaperBroker) -> float:
    """The broker's first position, a buy (ticket 1) with a stop 20 below, registered as
    its host would; its stop."""
    result = broker.open(OrderRequest("XAUUSD", "buy", 1.0))
    assert result.ok and result.new_ticket == 1, result
    pos = broker.position(1)
    assert pos is not None
    stop = round(pos.entry_price - 20, 2)
    assert broker.modify_sl_tp(1, stop, None).ok
    body = registration(
        1, direction="buy", entry=pos.entry_price, stop_loss=stop, take_profit=None,
        opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    return stop


def _hit_stop(world: World, broker: PaperBroker, stop: float) -> Trade:
    last = world.bars("XAUUSD", "M5", 1)[-1]
    bar = Bar(last.time + timedelta(minutes=5), last.close, last.close, stop - 5.0, stop - 4.0, 1.0)
    closed = broker.on_bar("XAUUSD", bar)
    assert [(t.ticket, why) for t, why in closed] == [(1, "stop_loss")]
    return closed[0][0]


async def _info(client: Client) -> dict[str, Any]:
    resp = await client.get("/dtms/trade/1")
    assert resp.status == 200, await resp.text()
    info: dict[str, Any] = (await resp.json())["trade_info"]
    return info


async def test_an_empty_report_before_the_engine_read_the_stop_keeps_the_brokers_close(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    stop = await _registered_buy(client, broker)
    closed = _hit_stop(world, broker, stop)
    assert closed.profit < 0 and closed.closed_at is not None

    resp = await client.post("/dtms/trade/1/closed")  # what an original client sends
    assert resp.status == 200, await resp.text()
    info = await _info(client)
    assert (info["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "stop_loss", closed.profit
    )  # fmt: skip
    assert info["close_price"] == closed.close_price
    assert info["closed_at"] == closed.closed_at.isoformat()

    # the host's own report, second, changes nothing; nor does the engine's next cycle
    late = {"reason": "stop_loss", "profit": closed.profit}
    resp = await client.post("/dtms/trade/1/closed", json=late)
    assert (await resp.json()).get("already_closed") is True
    await service_of(client).run_cycle()
    assert (await _info(client))["realised_profit"] == closed.profit


async def test_a_report_of_a_position_the_broker_still_lists_keeps_its_own_figures(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The broker lists it open, half of it closed: its history's newest deal is that
    partial close, not the trade's end, so the report is all there is (what follows,
    the trade reopened when the broker lists it, is docs/dtms.md §8's)."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    await _registered_buy(client, broker)
    assert broker.close(1, 0.5).ok
    resp = await client.post("/dtms/trade/1/closed", json={"reason": "manual", "profit": 12.5})
    assert resp.status == 200, await resp.text()
    info = await _info(client)
    assert (info["close_reason"], info["realised_profit"]) == ("manual", 12.5)
