"""A new trade takes its entry, volume and opening from the broker's open position under
its ticket, the truth (docs/dtms.md §8), and the server says which sent fields it
replaced.

Before: a buy of 0.10 lots filled at the market, registered with ``entry`` 19.40 and
``volume`` 50, was kept so for the trade's life: its stop read as past the entry, so R
was one ATR instead of the stop's distance, and its first cycle "adopted" a volume
change (50 → 0.1) that never happened, with 50 kept as its initial volume.

A real server on loopback with the real local engine, over an in-memory hedging paper
account, and a real store in ``tmp_path``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import engine_server, paper_gold_world, registration, service_of

from hookspecs import OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


def _buy(broker: PaperBroker, volume: float) -> Trade:
    """A buy of ``volume`` at the market, with a stop 10.79 below its fill."""
    result = broker.open(OrderRequest("XAUUSD", "buy", volume))
    assert result.ok and result.new_ticket is not None, result
    pos = broker.position(result.new_ticket)
    assert pos is not None
    assert broker.modify_sl_tp(pos.ticket, round(pos.entry_price - 10.79, 2), None).ok
    return pos


async def _info(client: Client, ticket: int) -> dict[str, Any]:
    resp = await client.get(f"/dtms/trade/{ticket}")
    assert resp.status == 200, await resp.text()
    return dict((await resp.json())["trade_info"])


def _said(caplog: pytest.LogCaptureFixture, ticket: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.getMessage().startswith(f"ticket {ticket}: ")
    ]


async def test_a_new_trade_is_kept_with_its_broker_positions_entry_and_volume(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _buy(broker, 0.1)
    stop = round(pos.entry_price - 10.79, 2)
    body = registration(pos.ticket, entry=19.40, volume=50, stop_loss=stop, take_profit=None)
    with caplog.at_level(logging.DEBUG, logger="dtms_plugin"):
        resp = await client.post("/dtms/trade/enable", json=body)
        answer = await resp.json()
        assert resp.status == 201, answer
        info = answer["trade_info"]  # the values kept, in the original's shape
        assert (info["entry_price"], info["volume"]) == (pos.entry_price, 0.1)
        assert info["r"] == pytest.approx(pos.entry_price - stop)  # the stop's, not an ATR
        assert info["opened_at"] == pos.opened_at.isoformat()  # none sent: the broker's
        await service_of(client).run_cycle()
    kept = await _info(client, pos.ticket)
    assert (kept["volume"], kept["initial_volume"]) == (0.1, 0.1)
    assert kept["entry_price"] == pos.entry_price
    assert not [w for w in kept["warnings"] if "changed outside DTMS" in str(w)]
    replaced = f"entry 19.4 → {pos.entry_price:.10g}, volume 50 → 0.1, from the broker's position"
    assert _said(caplog, pos.ticket) == [f"ticket {pos.ticket}: {replaced}"]  # said once


async def test_slippage_is_taken_without_a_word_and_a_ticket_no_broker_holds_as_sent(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The price asked against the fill, or a rounded one (the original's clients send
    either), is the same fill: taken, with no WARNING. A ticket the broker lists no
    position of keeps what was sent, as before."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _buy(broker, 0.2)
    asked = round(pos.entry_price - 0.5, 2)
    opened = "2024-01-01T00:00:00+00:00"
    with caplog.at_level(logging.DEBUG, logger="dtms_plugin"):
        body = registration(pos.ticket, entry=asked, volume=0.2, opened_at=opened)
        resp = await client.post("/dtms/trade/enable", json=body)
        assert resp.status == 201, await resp.text()
        info = (await resp.json())["trade_info"]
        assert (info["entry_price"], info["volume"]) == (pos.entry_price, 0.2)
        assert info["opened_at"] == opened  # sent: kept
        assert _said(caplog, pos.ticket) == []
        assert [
            r.levelno for r in caplog.records if f"ticket {pos.ticket}: " in r.getMessage()
        ] == [logging.DEBUG]
        unheld = registration(880001, entry=19.40, volume=50)
        resp = await client.post("/dtms/trade/enable", json=unheld)
        assert resp.status == 201, await resp.text()
        info = (await resp.json())["trade_info"]
        assert (info["entry_price"], info["volume"]) == (19.40, 50.0)
        assert _said(caplog, 880001) == []


async def test_a_batch_item_takes_its_own_position_and_a_repeat_says_what_differs(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """In a batch each new trade takes its own position's figures; a repeat of one changes
    nothing and lists the sent entry and volume as not applied, as a repeat's always were."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    first, second = _buy(broker, 0.1), _buy(broker, 0.3)
    items = [registration(p.ticket, entry=19.40, volume=50) for p in (first, second)]
    resp = await client.post("/dtms/trades", json={"trades": items})
    assert [r["status"] for r in (await resp.json())["results"]] == [201, 201]
    for pos in (first, second):
        info = await _info(client, pos.ticket)
        assert (info["entry_price"], info["volume"]) == (pos.entry_price, pos.volume)
    again = await client.post("/dtms/trade/enable", json=items[0])
    answer = await again.json()
    assert (again.status, answer["already_registered"]) == (200, True), answer
    assert answer["not_applied"]["entry_price"] == {"sent": 19.4, "kept": first.entry_price}
    assert answer["not_applied"]["volume"] == {"sent": 50.0, "kept": 0.1}


async def test_a_closed_trades_retry_with_the_price_it_asked_is_that_trade(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The trade kept its fill, not the price its client asked: a retry of the closed
    trade with the same body (a client that missed the close) named another entry than
    the record, and was taken for a new position under a reused ticket while the broker
    listed the same one: the closed trade archived, and registered again."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _buy(broker, 0.1)
    body = registration(pos.ticket, entry=round(pos.entry_price - 0.5, 2), volume=0.1)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    closed = await client.post(f"/dtms/trade/{pos.ticket}/closed", json={"reason": "tp"})
    assert closed.status == 200, await closed.text()
    again = await client.post("/dtms/trade/enable", json=body)
    answer = await again.json()
    assert (again.status, answer["error"]) == (409, "trade closed"), answer
    view = await (await client.get(f"/dtms/trade/{pos.ticket}")).json()
    assert view["state"] == "CLOSED" and not view.get("archived"), view
