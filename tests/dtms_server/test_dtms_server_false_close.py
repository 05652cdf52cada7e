"""A false close report does not end the defence of an open position, and the result
recorded is the broker's (docs/dtms.md §8). A client reported ``{"reason": "typo",
"profit": 100}`` for a position the server's broker (the paper account file it shares
with the host) still listed open: the record went CLOSED for good, the broker later
stopped the position out at a loss, and the record kept +100, so the account rails
counted a win for a loss. Now a listing that lasts :data:`UNCONFIRMED_CLOSE_SECONDS`
(a client's own terminal may show a close a moment before the server's) reopens the
record at HEALTHY, and its close is then the broker's word, whatever the broker names.

A real server on loopback with the real local engine, over a real paper account file in
``tmp_path`` that a second connection (the host's) trades; a real store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, engine_server, registration, service_of, wavy_path

from hookspecs import Bar, OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]
STOP = 20.0


def _account(tmp_path: Path, world: World) -> PaperBroker:
    settings = PaperSettings(account_file=str(tmp_path / "account.db"))
    return PaperBroker(clock=world.now, settings=settings)


async def _setup(aiohttp_client: AioClient, tmp_path: Path) -> tuple[Client, World, PaperBroker]:
    world = World({"XAUUSD": wavy_path(2000.0, 400)}, visible=300)
    host_broker = _account(tmp_path, world)  # the host's connection: it trades and feeds
    for bar in world.bars("XAUUSD", "M5", 50):
        host_broker.on_bar("XAUUSD", bar)
    server_broker = _account(tmp_path, world)  # dtms serve's own, on the same file
    client: Client = await engine_server(aiohttp_client, tmp_path, world, server_broker)
    return client, world, host_broker


async def _info(client: Client, ticket: int) -> dict[str, Any]:
    reply = await client.get(f"/dtms/trade/{ticket}")
    assert reply.status == 200
    return (await reply.json())["trade_info"]


def _feed(world: World, broker: PaperBroker, bars: int = 1) -> None:
    """The market moves on, and the host feeds the account file its bars (quotes)."""
    for _ in range(bars):
        world.step()
        broker.on_bar("XAUUSD", world.bars("XAUUSD", "M5", 1)[-1])


def _outcome(info: dict[str, Any]) -> tuple[Any, ...]:
    return info["state"], info["close_reason"], info["realised_profit"]


@pytest.mark.parametrize("end", ["stop_loss", "an order"])
async def test_a_false_close_report_is_reopened_and_the_brokers_result_recorded(
    aiohttp_client: AioClient, tmp_path: Path, end: str
) -> None:
    client, world, broker = await _setup(aiohttp_client, tmp_path)
    service = service_of(client)
    opened = broker.open(OrderRequest("XAUUSD", "buy", 1.0))
    assert opened.ok and opened.new_ticket is not None
    ticket = opened.new_ticket
    pos = broker.position(ticket)
    assert pos is not None
    stop = round(pos.entry_price - STOP, 2)
    assert broker.modify_sl_tp(ticket, stop, None).ok
    body = registration(
        ticket, entry=pos.entry_price, stop_loss=stop, take_profit=None,
        opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201

    typo = {"reason": "typo", "profit": 100}
    assert (await client.post(f"/dtms/trade/{ticket}/closed", json=typo)).status == 200
    assert _outcome(await _info(client, ticket)) == ("CLOSED", "typo", 100)
    await service.run_cycle()  # listed open, but a moment's listing proves nothing yet
    assert _outcome(await _info(client, ticket)) == ("CLOSED", "typo", 100)
    _feed(world, broker)  # five minutes on: still listed, the same position, fresh quotes
    await service.run_cycle()
    info = await _info(client, ticket)
    assert _outcome(info) == ("HEALTHY", "", None)
    assert any("listed open again after its close (typo" in w for w in info["warnings"])
    stored = service.store.get_record(ticket)
    assert stored is not None and stored["reopened_at"]  # kept: its close is the broker's now

    if end == "stop_loss":  # the broker stops it out: its loss is the result
        last = world.bars("XAUUSD", "M5", 1)[-1]
        through = Bar(
            last.time + timedelta(minutes=5), last.close, last.close, stop - 5, stop - 4, 1.0
        )
        [(closed, why)] = broker.on_bar("XAUUSD", through)
        assert why == "stop_loss"
    else:  # an order closes it (``external``): the spent report will not come again
        assert broker.close(ticket).ok
        closed = broker.closed_trade(ticket)
        assert closed is not None
    world.step()
    await service.run_cycle()
    reason = "stop_loss" if end == "stop_loss" else "external"
    assert _outcome(await _info(client, ticket)) == ("CLOSED", reason, closed.profit)
    assert closed.profit != 100
    # the host's own report of the close, after: the broker's result stands
    late = {"reason": reason, "profit": closed.profit}
    reply = await (await client.post(f"/dtms/trade/{ticket}/closed", json=late)).json()
    assert reply["already_closed"] is True
    assert _outcome(await _info(client, ticket)) == ("CLOSED", reason, closed.profit)
    broker.release()


async def test_a_stale_listing_is_not_reopened_a_fresh_one_is(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The server's broker lists the closed position for long, but its quotes do not
    move (a MetaTrader terminal reconnecting lists what it last knew; here the host
    stopped feeding the file): no proof the listing is the account's now, so the trade
    stays CLOSED with the client's outcome. Once a quote newer than the close comes, the
    listing is fresh and the trade is reopened."""
    client, world, broker = await _setup(aiohttp_client, tmp_path)
    service = service_of(client)
    opened = broker.open(OrderRequest("XAUUSD", "buy", 1.0))
    assert opened.ok and opened.new_ticket is not None
    ticket = opened.new_ticket
    pos = broker.position(ticket)
    assert pos is not None
    body = registration(
        ticket, entry=pos.entry_price, stop_loss=round(pos.entry_price - STOP, 2),
        take_profit=None, opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    report = {"reason": "exit", "profit": 12.5}
    assert (await client.post(f"/dtms/trade/{ticket}/closed", json=report)).status == 200
    for _ in range(6):  # half an hour of the server's clock, the quotes standing still
        world.step()
        await service.run_cycle()
        assert _outcome(await _info(client, ticket)) == ("CLOSED", "exit", 12.5)
    _feed(world, broker)  # a fresh quote, after the close: the listing is the account's
    await service.run_cycle()
    assert _outcome(await _info(client, ticket)) == ("HEALTHY", "", None)
    broker.release()
