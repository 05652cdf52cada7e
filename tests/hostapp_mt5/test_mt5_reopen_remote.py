"""The same re-open through a DTMS server (docs/mt5.md, "A DTMS server on a MetaTrader
account"): ``dtms serve``'s engine on its own connection to the account (here the real
MetaTrader broker on the fake terminal, the real local strategy, a real server on
loopback) defends the trade a live host registered with its remote strategy. After the
re-open the server's stop moves asked for the trade's old ticket, found no such position
and moved nothing, and the host, a minute later, reported the trade closed
(``external``, its floating profit): the server kept it CLOSED with that outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hostapp_mt5.reopen_kit import (
    MAGIC,
    OFFSET,
    Trader,
    after,
    cycle,
    live,
    quote,
    rates,
    sltp,
    start_time,
    stop,
    terminal,
)
from support.dtms_server_world import service_of
from support.fake_mt5 import FakeMT5

from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.settings import DtmsSettings
from hostapp.brokers.mt5 import Mt5Market, Mt5Settings, create_mt5_broker
from hostapp.testing import make_host


class _Clock:
    """The server's clock: the terminal's (the host's cycles move it)."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake

    def now(self) -> datetime:
        return self.fake.now


async def _server(aiohttp_client: Callable[..., Awaitable[Any]], fake: FakeMT5, state: Path) -> Any:
    """``dtms serve`` on its own connection to the account; its cycles run when asked."""
    broker = create_mt5_broker(
        Mt5Settings(magic=MAGIC, server_utc_offset_minutes=OFFSET // 60),
        module=fake,
        clock=lambda: fake.now,
        sleep=fake.advance,
    )
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(state)), token="", monitor_seconds=3600.0
    )
    host = make_host(broker, Mt5Market(broker), _Clock(fake))
    client = await aiohttp_client(
        create_app(settings, host=host, strategy_factory=default_strategy_factory)
    )
    await service_of(client).run_cycle()  # after the one it runs at start
    return client


async def _view(client: Any, ticket: int) -> dict[str, Any]:
    for _ in range(200):  # the host's outbox delivers in the background
        resp = await client.get(f"/dtms/trade/{ticket}")
        if resp.status == 200:
            return dict(await resp.json())
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server never had trade {ticket}")


async def test_a_dtms_server_defends_a_re_opened_position(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DTMS_TOKEN", raising=False)
    t0 = start_time()
    fake = terminal(t0)
    client = await _server(aiohttp_client, fake, tmp_path / "server")
    engine = service_of(client)
    url = str(client.make_url("/")).rstrip("/")
    trader = Trader()
    app = live(fake, trader, tmp_path / "host", strategy="remote", api_url=url)
    await app.plugins.startup(app.host)
    await cycle(app, fake, t0, propose=True)  # the buy, registered with the server
    ticket = trader.ticket
    assert (await _view(client, ticket))["state"] == "HEALTHY"
    await engine.run_cycle()  # the server's engine trails the stop
    [(named, trailed)] = sltp(fake)
    assert named == ticket and trailed > 1990.0
    quote(fake, 2008.0)
    new = fake.reopen(ticket, swap=-2.0)
    rates(fake, after(t0, 300), lift=(after(t0, -10), 6.0))
    for seconds in (300, 330, 360, 390):
        await cycle(app, fake, after(t0, seconds))
        await engine.run_cycle()
    (moved, level) = sltp(fake)[-1]
    assert moved == new and level > trailed and fake.positions[new].sl == level
    assert trader.closed == []
    view = await _view(client, ticket)
    assert view["state"] != "CLOSED" and view["trade_info"]["sl"] == level
    quote(fake, round(level - 0.5, 2))
    for seconds in (420, 450):
        await cycle(app, fake, after(t0, seconds))
        await engine.run_cycle()
    await stop(app)
    booked = round(sum(d.profit + d.swap for d in fake.deals), 2)
    assert trader.closed == [(ticket, "stop_loss", booked, round(level - 0.5, 2))]
    info = (await _view(client, ticket))["trade_info"]
    assert (info["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "stop_loss", booked,
    )  # fmt: skip
    assert (await (await client.get(f"/dtms/trade/{new}")).json())["success"] is False
