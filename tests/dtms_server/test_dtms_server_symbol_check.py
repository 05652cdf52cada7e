"""POST /dtms/trade/enable for a symbol the broker does not trade is a 400 naming the
field; a broker that cannot answer the question is a 503 (the client's outbox retries)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import ScriptedStrategy, World, registration, service_of

from hookspecs import BrokerError, SymbolInfo

Client = TestClient[web.Request, web.Application]


async def test_a_symbol_the_broker_does_not_trade_is_refused(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(7, symbol="NOPE"))
    assert resp.status == 400
    assert await resp.json() == {
        "error": "invalid field",
        "field": "symbol",
        "message": "symbol 'NOPE': the broker does not trade it",
        "success": False,
    }
    assert (await client.get("/dtms/trade/7")).status == 404
    strategy = service_of(client).strategy
    assert isinstance(strategy, ScriptedStrategy)
    assert strategy.executed == []
    # Refused, not remembered: a later valid registration of the ticket is created.
    again = await client.post("/dtms/trade/enable", json=registration(7))
    assert again.status == 201


async def test_a_broker_error_while_checking_is_503_not_400(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(symbol: str) -> SymbolInfo | None:
        raise BrokerError("terminal disconnected")

    monkeypatch.setattr(world.broker, "symbol_info", broken)
    resp = await client.post("/dtms/trade/enable", json=registration(8))
    assert resp.status == 503
    body = await resp.json()
    assert body["error"] == "service unavailable"
    assert "terminal disconnected" in body["message"]
    assert (await client.get("/dtms/trade/8")).status == 404


async def test_a_traded_symbol_is_still_registered(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(9, symbol="EURUSD"))
    assert resp.status == 201
