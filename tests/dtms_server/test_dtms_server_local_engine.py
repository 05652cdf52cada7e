"""The real local engine inside the server: an adverse price path moves a registered
trade down the ladder, and the API shows each step, its actions and the broker's side."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import (
    World,
    falling_path,
    open_position,
    registration,
    service_of,
    wavy_path,
)

from dtms_plugin.local import LocalStrategy
from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]


async def test_an_adverse_path_moves_the_trade_and_the_api_follows(make_client: Any) -> None:
    base = wavy_path(2000.0, 1000)  # enough M15 bars for the engine's warm-up
    world = World({"XAUUSD": base + falling_path(base[-1], 200, step=1.5)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    service = service_of(client)
    assert isinstance(service.strategy, LocalStrategy)

    ticket = open_position(world)
    entry = world.price("XAUUSD")
    body = registration(ticket, entry=entry, stop_loss=entry - 20.0, take_profit=None)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201

    seen: list[str] = []
    for _ in range(40):
        world.step()
        await service.run_cycle()
        view = await (await client.get(f"/dtms/trade/{ticket}")).json()
        if not seen or seen[-1] != view["state"]:
            seen.append(view["state"])
        if view["state"] == "HEDGED":
            break
    assert seen == ["HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED"]
    assert view["defensive"] is True
    assert view["score"] <= -6.0
    assert view["last_action"]["kind"] == "hedge"
    assert view["last_action"]["status"] == "done"
    info = view["trade_info"]
    hedge = world.broker.position(info["hedge_ticket"])
    assert hedge is not None and hedge.direction == "sell"  # the hedge is at the broker
    assert info["deadlines"]["flat"] is not None
    main = world.broker.position(ticket)
    assert main is not None and main.volume == info["volume"] == 0.5  # partial close

    history = (await (await client.get(f"/dtms/actions?ticket={ticket}")).json())["actions"]
    actions = [e["kind"] for e in history if e["type"] == "action"]
    changes = [e["to"] for e in history if e["type"] == "state_change"]
    assert actions == ["tighten_sl", "partial_close", "hedge"]  # each once
    assert changes == ["WARNING_L1", "WARNING_L2", "HEDGED"]

    batch = await (await client.get(f"/dtms/trades?tickets={ticket}")).json()
    assert batch["trades"][str(ticket)]["state"] == "HEDGED"
    status = await (await client.get("/dtms/status")).json()
    assert status["states"]["HEDGED"] == 1
    assert status["engine"]["strategy"] == "local"
    # this world's bars carry volume and enough history, but no spread
    scoring = status["scoring"]
    assert scoring["scorings"] > 0 and scoring["missing_signals"] == {}
    assert scoring["hedges_without_spread"] == 1
    assert scoring["note"] == (
        "sent 1 hedge(s) or re-add(s) on XAUUSD that the spread rail could not judge (the M5 "
        "bars carry no spread)"
    )


async def test_unregister_makes_the_engine_forget_the_trade(make_client: Any) -> None:
    base = wavy_path(2000.0, 1000)
    world = World({"XAUUSD": base + falling_path(base[-1], 200, step=1.5)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    ticket = open_position(world)
    body = registration(ticket, entry=world.price("XAUUSD"))
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    assert (await client.delete(f"/dtms/trade/{ticket}")).status == 200
    for _ in range(15):  # the adverse path would have moved it; the engine must not
        world.step()
        await service_of(client).run_cycle()
    assert (await client.get(f"/dtms/trade/{ticket}")).status == 404
    assert world.broker.calls == [("open", world.broker.calls[0][1])]  # nothing acted on it


async def test_a_batch_is_one_store_transaction_with_an_outcome_each(make_client: Any) -> None:
    base = wavy_path(2000.0, 1000)
    world = World({"XAUUSD": base}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    tickets = [open_position(world) for _ in range(30)]
    entry = world.price("XAUUSD")
    first = await client.post("/dtms/trade/enable", json=registration(tickets[0], entry=entry))
    assert first.status == 201
    service = service_of(client)
    statements: list[str] = []

    async def trace(on: bool) -> None:  # the engine thread's own SQLite connection
        callback = statements.append if on else None
        service.store._cache._con.set_trace_callback(callback)

    await service.engine.run(trace(True))
    items = [registration(t, entry=entry) for t in tickets]  # the first: registered already
    items.append(registration(tickets[1], entry=entry))  # twice in one batch
    items.append(registration(tickets[0], entry=entry, direction="sell"))  # a conflict
    items.append(registration(999_999, entry=entry, symbol="NOPE"))  # a symbol not traded
    resp = await client.post("/dtms/trades", json={"trades": items})
    await service.engine.run(trace(False))
    assert resp.status == 200
    body = await resp.json()
    outcomes = [(r["outcome"], r["status"]) for r in body["results"]]
    assert outcomes == [
        ("already_registered", 200),
        *[("registered", 201)] * 29,
        ("already_registered", 200),
        ("refused", 409),
        ("refused", 400),
    ]
    assert (body["results"][31]["field"], body["results"][32]["field"]) == ("direction", "symbol")
    # every record and state of the batch written in one transaction
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    for ticket in tickets:
        view = await (await client.get(f"/dtms/trade/{ticket}")).json()
        assert view["state"] == "HEALTHY"
    registered = [t for t in tickets if t in service.strategy.records]
    assert registered == tickets


async def test_health_says_which_symbols_trades_wait_and_why(
    make_client: Any, monkeypatch: Any
) -> None:
    """A server whose trades cannot be evaluated (no bars for their symbol) answered
    "healthy" and nothing else; it is still healthy (a weekend stops every FX symbol's
    bars), but /health says what waits."""
    base = wavy_path(2000.0, 1000)
    world = World({"XAUUSD": base, "EURUSD": wavy_path(1.1, 1000)}, visible=1000)
    full = world.bars
    monkeypatch.setattr(world, "bars", lambda s, tf, n: [] if s == "EURUSD" else full(s, tf, n))
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    service = service_of(client)
    for symbol in ("XAUUSD", "EURUSD"):
        ticket = open_position(world, symbol)
        entry = world.price(symbol)
        body = registration(ticket, symbol=symbol, entry=entry, stop_loss=entry * 0.99)
        assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    await service.run_cycle()
    resp = await client.get("/health")
    body = await resp.json()
    assert (resp.status, body["status"]) == (200, "healthy")
    assert body["waiting"] == ["no closed M5 bar of EURUSD yet: its trades are not evaluated"]
    monkeypatch.setattr(world, "bars", full)  # its bars come: nothing waits
    await service.run_cycle()
    assert (await (await client.get("/health")).json())["waiting"] == []


async def test_a_trade_keeps_its_magic_number_and_its_close_price(make_client: Any) -> None:
    """Which program opened a trade (its magic number) was accepted and dropped by the
    engine; a closed trade keeps its price (its result in R on the dashboard)."""
    world = World({"XAUUSD": wavy_path(2000.0, 1000)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    body = registration(ticket, entry=entry, stop_loss=entry - 20.0, magic=240617)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert info["magic"] == 240617
    closed = {"reason": "tp", "profit": 12.5, "close_price": entry + 10.0}
    assert (await client.post(f"/dtms/trade/{ticket}/closed", json=closed)).status == 200
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert (info["close_price"], info["realised_profit"]) == (entry + 10.0, 12.5)
