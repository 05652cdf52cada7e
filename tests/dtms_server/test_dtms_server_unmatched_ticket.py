"""A registration for a ticket the broker does not hold yet (a made-up one, as
docs/client.md's examples register; a paper account numbers its tickets from 1) must
not take over the real position that later gets the ticket: the broker is the truth
(docs/dtms.md §8). Before, the host's registration of the real position was a 409
against the made-up record, and the made-up record was closed with the real position's
close and profit. Now the made-up record is closed as never matched, with no result,
said once at WARNING, and the real position is registered and managed.

A real server on loopback with the real local engine, over an in-memory paper account,
and a real store in ``tmp_path``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
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
NEVER = "never matched the broker's position"


async def _made_up(client: Client) -> None:
    """Ticket 1, a sell no broker holds yet: accepted (201), as it always was."""
    body = registration(1, direction="sell", entry=2000.0, stop_loss=2020.0, take_profit=None)
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.text()


def _open_real(broker: PaperBroker) -> Trade:
    """The broker's first position: a buy that gets ticket 1, with a stop 20 below."""
    result = broker.open(OrderRequest("XAUUSD", "buy", 1.0))
    assert result.ok and result.new_ticket == 1, result
    pos = broker.position(1)
    assert pos is not None and broker.modify_sl_tp(1, round(pos.entry_price - 20, 2), None).ok
    return pos


def _real_registration(pos: Trade) -> dict[str, Any]:
    return registration(
        pos.ticket, direction="buy", entry=pos.entry_price, take_profit=None,
        stop_loss=round(pos.entry_price - 20, 2), opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip


async def _view(client: Client, ticket: int) -> dict[str, Any]:
    resp = await client.get(f"/dtms/trade/{ticket}")
    assert resp.status == 200
    return await resp.json()


def _hit_stop(world: World, broker: PaperBroker, stop: float) -> float:
    last = world.bars("XAUUSD", "M5", 1)[-1]
    bar = Bar(last.time + timedelta(minutes=5), last.close, last.close, stop - 5.0, stop - 4.0, 1.0)
    closed = broker.on_bar("XAUUSD", bar)
    assert [(t.ticket, why) for t, why in closed] == [(1, "stop_loss")]
    world.step()
    return closed[0][0].profit


async def test_the_cycle_closes_a_made_up_record_the_broker_gives_another_side(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    await _made_up(client)
    pos = _open_real(broker)
    with caplog.at_level(logging.WARNING):
        await service_of(client).run_cycle()
        await service_of(client).run_cycle()
    said = [r.getMessage() for r in caplog.records if "never matched" in r.getMessage()]
    assert len(said) == 1, said  # once
    assert "position 1 is a buy" in said[0] and "not the sell on XAUUSD" in said[0]
    info = (await _view(client, 1))["trade_info"]
    assert (info["state"], info["close_reason"], info["direction"]) == ("CLOSED", NEVER, "sell")
    assert (info["realised_profit"], info["close_price"]) == (None, None)

    # the host's registration of the real position is taken and managed
    resp = await client.post("/dtms/trade/enable", json=_real_registration(pos))
    assert resp.status == 201, await resp.text()
    view = await _view(client, 1)
    assert (view["trade_info"]["direction"], view["state"]) == ("buy", "HEALTHY")
    (old,) = view["archived"]
    assert (old["direction"], old["close_reason"], old["realised_profit"]) == ("sell", NEVER, None)


async def test_a_registration_matching_the_broker_takes_the_ticket_from_a_made_up_record(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The host registers the real position before the server's cycle saw it: it was a
    409 ("ticket 1 is a live sell trade"), and the host dropped it as undeliverable."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    await _made_up(client)
    pos = _open_real(broker)
    resp = await client.post("/dtms/trade/enable", json=_real_registration(pos))
    assert resp.status == 201, await resp.text()
    view = await _view(client, 1)
    assert view["trade_info"]["direction"] == "buy"
    (old,) = view["archived"]
    assert (old["direction"], old["close_reason"], old["realised_profit"]) == ("sell", NEVER, None)

    # its stop hit: the real trade's close and profit are the real trade's
    profit = _hit_stop(world, broker, round(pos.entry_price - 20, 2))
    await service_of(client).run_cycle()
    view = await _view(client, 1)
    info = view["trade_info"]
    assert (info["direction"], info["close_reason"], info["realised_profit"]) == (
        "buy", "stop_loss", profit
    )  # fmt: skip
    assert view["archived"][0]["realised_profit"] is None


async def test_the_real_positions_close_is_not_credited_to_a_made_up_record(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The real position opened and hit its stop between two of the server's cycles:
    the made-up record was closed "position closed (stop_loss)" with its profit."""
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    await _made_up(client)
    pos = _open_real(broker)
    _hit_stop(world, broker, round(pos.entry_price - 20, 2))
    await service_of(client).run_cycle()
    info = (await _view(client, 1))["trade_info"]
    assert (info["state"], info["close_reason"]) == ("CLOSED", NEVER)
    assert (info["realised_profit"], info["close_price"]) == (None, None)


async def test_a_conflicting_registration_against_the_brokers_own_position_is_a_409(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    world, broker = paper_gold_world()
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    pos = _open_real(broker)
    assert (await client.post("/dtms/trade/enable", json=_real_registration(pos))).status == 201
    body = registration(1, direction="sell", entry=2000.0, stop_loss=2020.0, take_profit=None)
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 409
    assert (await resp.json())["field"] == "direction"
    await service_of(client).run_cycle()
    info = (await _view(client, 1))["trade_info"]
    assert (info["direction"], info["state"]) == ("buy", "HEALTHY")


async def test_the_start_up_recovery_closes_a_made_up_record_the_broker_gives_another_side(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The real position opened while the server was down: its recovery finds it."""
    world, broker = paper_gold_world()
    first = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    await _made_up(first)
    await first.close()
    pos = _open_real(broker)
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    info = (await _view(client, 1))["trade_info"]
    assert (info["state"], info["close_reason"], info["realised_profit"]) == ("CLOSED", NEVER, None)
    resp = await client.post("/dtms/trade/enable", json=_real_registration(pos))
    assert resp.status == 201, await resp.text()


async def test_the_start_up_recovery_credits_no_made_up_record_with_the_real_close(
    aiohttp_client: AioClient, tmp_path: Path
) -> None:
    """The real position opened and hit its stop while the server was down."""
    world, broker = paper_gold_world()
    first = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    await _made_up(first)
    await first.close()
    pos = _open_real(broker)
    _hit_stop(world, broker, round(pos.entry_price - 20, 2))
    client = await engine_server(aiohttp_client, tmp_path, world, broker, cycled=True)
    info = (await _view(client, 1))["trade_info"]
    assert (info["state"], info["close_reason"]) == ("CLOSED", NEVER)
    assert (info["realised_profit"], info["close_price"]) == (None, None)
