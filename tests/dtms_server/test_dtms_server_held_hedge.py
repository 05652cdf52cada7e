"""``dtms serve`` says a hedge the spread rail held back as a host's engine does
(docs/dtms.md §5 and §7): its monitor runs the local strategy's cycles, so the hold is one
WARNING when it begins and one line with its count when it ends, and the trade's record
(``/dtms/trade/{ticket}``) keeps it among its warnings. Before, the server's log had no
line of it. A real server app with the real engine, a real paper account file and a store
in ``tmp_path``; the data's spread is 1.0 (0.2 elsewhere) for 25 bars around the bar at
which the buy reaches the hedge threshold."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_kit import T0
from support.dtms_server_world import engine_server, service_of
from support.hedged_paper import M5, PaperMarket, open_buy

Client = TestClient[web.Request, web.Application]
AioClient = Callable[..., Awaitable[Client]]


def _registration(ticket: int, trade: Any) -> dict[str, Any]:
    """What a host's remote strategy sends for a position (dtms_plugin/remote.py)."""
    return {
        "ticket": ticket, "symbol": trade.symbol, "direction": trade.direction,
        "entry": trade.entry_price, "volume": trade.volume, "stop_loss": trade.stop_loss,
        "take_profit": trade.take_profit, "magic": trade.magic, "comment": trade.comment,
        "opened_at": trade.opened_at.isoformat(), "automatic": True,
    }  # fmt: skip


async def test_the_servers_engine_says_a_held_hedge_once_with_its_end(
    aiohttp_client: AioClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    wide = (T0 + M5 * 19, T0 + M5 * 44)
    market.fast[:] = [
        replace(b, spread=1.0) if wide[0] <= b.time < wide[1] else b for b in market.fast
    ]
    broker = market.broker()
    client = await engine_server(aiohttp_client, tmp_path, market, broker)
    service = service_of(client)
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    trade = open_buy(broker)
    reply = await client.post("/dtms/trade/enable", json=_registration(trade.ticket, trade))
    assert reply.status == 201
    states = []
    for _ in range(50):
        market.step(broker)
        await service.run_cycle()
        body = await (await client.get(f"/dtms/trade/{trade.ticket}")).json()
        states.append(body["state"])
    said = [
        r.getMessage()
        for r in caplog.records
        if "held back" in r.getMessage() and r.levelno == logging.WARNING
    ]
    assert len(said) == 2, said
    begun, ended = said
    assert begun.startswith(f"DTMS {trade.ticket} (XAUUSD): hedge held back (")
    assert "spread above the limit; it stays WARNING_L2" in begun
    assert ended.startswith(f"DTMS {trade.ticket}: hedge no longer held back (WARNING_L2→HEDGED")
    assert "after 9 cycles since 2026-01-05 13:00 (held back 9 times" in ended
    assert states.count("WARNING_L2") > 10 and states[-1] == "HEDGED"
    assert any("hedge held back" in w for w in body["warnings"])
    await client.close()
    broker.release()
