"""``dtms serve`` whose store was lost while a trade it defends is HEDGED (docs/dtms.md §8).

The server adopts nothing at start-up: its hosts register their trades again (the remote
strategy hands a ticket the server no longer knows again, from the broker's position).
Registered HEALTHY beside its open hedge, the trade walked the ladder again (a second
partial close, a second hedge) and at its close the first hedge was left open. Now the
registration takes the trade back HEDGED with its hedge, and the hedge is never a trade
of the server's. A real server app on loopback with the real engine, a real paper account
file and a store in ``tmp_path``, deleted between the two servers."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import engine_server, service_of
from support.hedged_paper import PaperMarket, open_buy

from hookspecs import Trade

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


def _registration(trade: Trade) -> dict[str, Any]:
    """What a host's remote strategy sends for a position (dtms_plugin/remote.py)."""
    return {
        "ticket": trade.ticket, "symbol": trade.symbol, "direction": trade.direction,
        "entry": trade.entry_price, "volume": trade.volume, "stop_loss": trade.stop_loss,
        "take_profit": trade.take_profit, "magic": trade.magic, "comment": trade.comment,
        "opened_at": trade.opened_at.isoformat(), "automatic": True,
    }  # fmt: skip


async def _trade(client: Client, ticket: int) -> tuple[int, dict[str, Any]]:
    reply = await client.get(f"/dtms/trade/{ticket}")
    return reply.status, await reply.json()


async def test_a_trade_registered_again_after_a_lost_store_is_taken_back_hedged(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    broker = market.broker()
    client = await engine_server(aiohttp_client, tmp_path, market, broker)
    service = service_of(client)
    trade = open_buy(broker)
    assert (await client.post("/dtms/trade/enable", json=_registration(trade))).status == 201
    for _ in range(60):  # the server's engine walks it down to HEDGED
        market.step(broker)
        await service.run_cycle()
        if (await _trade(client, trade.ticket))[1]["state"] == "HEDGED":
            break
    hedge_ticket = (await _trade(client, trade.ticket))[1]["trade_info"]["hedge_ticket"]
    hedge = broker.position(hedge_ticket)
    assert hedge is not None and hedge.comment == f"DTMS_HEDGE_{trade.ticket}"
    await client.close()
    shutil.rmtree(tmp_path / "state")  # the server's store is lost

    caplog.set_level(logging.WARNING, logger="dtms_plugin")
    again = await engine_server(aiohttp_client, tmp_path, market, broker)
    parent = broker.position(trade.ticket)
    assert parent is not None
    reply = await again.post("/dtms/trade/enable", json=_registration(parent))
    assert reply.status == 201, await reply.text()
    status, body = await _trade(again, trade.ticket)
    assert (status, body["state"], body["defensive"]) == (200, "HEDGED", True)
    assert body["trade_info"]["hedge_ticket"] == hedge.ticket
    assert body["trade_info"]["hedge_volume"] == hedge.volume
    assert (await _trade(again, hedge.ticket))[0] == 404  # no trade of its own
    said = [r.getMessage() for r in caplog.records if "open hedge" in r.getMessage()]
    risk = parent.entry_price - (parent.stop_loss or 0.0)
    assert said == [
        f"DTMS registered {trade.ticket} buy XAUUSD (R {risk:.5g}), "
        f"adopted HEDGED with its open hedge {hedge.ticket}: the record that knew of it "
        "was lost; flat deadline counted from now"
    ]  # fmt: skip

    service = service_of(again)
    for _ in range(20):  # falling on: the flat deadline (15 bars) closes all
        market.step(broker)
        await service.run_cycle()
    history = (await (await again.get(f"/dtms/actions?ticket={trade.ticket}")).json())["actions"]
    kinds = [a["kind"] for a in history if a["type"] == "action"]
    assert kinds == ["close"]  # no second partial close or hedge
    assert broker.positions() == []  # the hedge closed with its trade
    await again.close()
    broker.release()
