"""``dtms serve`` judges the daily loss as the host's engine does (docs/dtms.md §7): a
partial close's loss counts on the day it was realised, while its trade stays open, and
``/dtms/status`` shows the account mode it calls for.

Before: the server's engine counted a trade's result only when the trade closed, so a
partial close's loss and another trade's stop, over 2 % of the day together, left the
account out of defensive mode. A real server with the real local engine, over a paper
account file whose gold market falls, and a real store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import engine_server, registration, service_of
from support.hedged_paper import PaperMarket

from hookspecs import DefensiveState, OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker

Client = TestClient[web.Request, web.Application]


async def _buy(client: Client, broker: PaperBroker, volume: float, stop_below: float) -> Trade:
    quote = broker.quote("XAUUSD")
    assert quote is not None
    order = OrderRequest("XAUUSD", "buy", volume, stop_loss=round(quote.bid - stop_below, 2))
    opened = broker.open(order)
    assert opened.ok and opened.new_ticket is not None, opened
    pos = broker.position(opened.new_ticket)
    assert pos is not None
    body = registration(
        pos.ticket, entry=pos.entry_price, volume=volume, stop_loss=pos.stop_loss,
        take_profit=None, opened_at=pos.opened_at.isoformat(),
    )  # fmt: skip
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    return pos


async def _state(client: Client, ticket: int) -> str:
    resp = await client.get(f"/dtms/trades?tickets={ticket}")
    return str((await resp.json())["trades"][str(ticket)]["state"])


async def test_a_partial_close_and_a_stop_over_the_days_limit_show_on_the_status(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    broker = market.broker()
    client = await engine_server(aiohttp_client, tmp_path, market, broker, cycled=True)
    service = service_of(client)

    async def cycle() -> None:
        market.step(broker)
        await service.run_cycle()

    first = await _buy(client, broker, 0.06, 400.0)
    for _ in range(60):
        if await _state(client, first.ticket) == DefensiveState.WARNING_L2.value:
            break
        await cycle()
    [partial] = [d for d in broker.closed_trades() if d.ticket == first.ticket]
    assert -200.0 < partial.profit < -100.0  # under 2 % of the 10,000 alone
    status = await (await client.get("/dtms/status")).json()
    assert status["account_mode"]["defensive"] is False
    second = await _buy(client, broker, 0.12, 10.0)
    for _ in range(30):
        if broker.position(second.ticket) is None:
            break
        await cycle()
    await cycle()  # the server's engine reads the stop from the broker's history
    stopped = sum(d.profit for d in broker.closed_trades() if d.ticket == second.ticket)
    assert -stopped < 200.0  # under 2 % alone
    assert (partial.profit + stopped) / 10_000.0 * 100.0 <= -2.0
    assert await _state(client, first.ticket) == DefensiveState.WARNING_L2.value
    mode = (await (await client.get("/dtms/status")).json())["account_mode"]
    assert mode["defensive"] is True and "daily realised loss" in mode["reason"]
