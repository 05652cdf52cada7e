"""Registration and queries against a real server on loopback (docs/architecture.md §9)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import (
    ScriptedStrategy,
    World,
    open_position,
    registration,
    service_of,
)

Client = TestClient[web.Request, web.Application]


async def test_first_registration_is_201_then_200_already_registered(client: Client) -> None:
    first = await client.post("/dtms/trade/enable", json=registration(7))
    assert first.status == 201
    body = await first.json()
    assert {k: body[k] for k in ("ticket", "registered", "already_registered", "state")} == {
        "ticket": 7,
        "registered": True,
        "already_registered": False,
        "state": "HEALTHY",
    }
    assert body["success"] is True
    assert body["summary"] == "DTMS protection enabled for ticket 7"
    assert body["trade_info"]["state"] == "HEALTHY"
    again = await client.post("/dtms/trade/enable", json=registration(7))
    assert again.status == 200
    body = await again.json()
    assert body["already_registered"] is True
    assert body["registered"] is True
    assert body["success"] is True
    assert body["summary"] == "Trade 7 already registered with DTMS"


async def test_string_and_int_tickets_are_one_trade(client: Client) -> None:
    first = await client.post("/dtms/trade/enable", json=registration("7"))
    assert first.status == 201
    assert (await first.json())["ticket"] == 7
    second = await client.post("/dtms/trade/enable", json=registration(7))
    assert second.status == 200
    strategy = service_of(client).strategy
    assert isinstance(strategy, ScriptedStrategy)
    assert [t.ticket for t in strategy.executed] == [7]  # the engine saw it once


async def test_direction_any_case_and_entry_price_alias(client: Client) -> None:
    body = registration(8, direction=" SELL ")
    del body["entry"]
    body["entry_price"] = 2001.5
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201
    info = (await (await client.get("/dtms/trade/8")).json())["trade_info"]
    assert info["direction"] == "sell"
    assert info["entry_price"] == 2001.5


async def test_zero_or_null_levels_mean_none(client: Client) -> None:
    resp = await client.post(
        "/dtms/trade/enable", json=registration(9, stop_loss=0, take_profit=None)
    )
    assert resp.status == 201
    info = (await (await client.get("/dtms/trade/9")).json())["trade_info"]
    assert info["stop_loss"] is None
    assert info["take_profit"] is None


async def test_opened_at_defaults_to_the_server_clock(client: Client, world: World) -> None:
    await client.post("/dtms/trade/enable", json=registration(10))
    await client.post("/dtms/trade/enable", json=registration(11, opened_at="2026-01-05T10:00:00Z"))
    strategy = service_of(client).strategy
    assert isinstance(strategy, ScriptedStrategy)
    opened = {t.ticket: t.opened_at.isoformat() for t in strategy.executed}
    assert opened == {10: world.now().isoformat(), 11: "2026-01-05T10:00:00+00:00"}


async def test_concurrent_duplicate_posts_register_once(client: Client) -> None:
    import asyncio

    responses = await asyncio.gather(
        *(client.post("/dtms/trade/enable", json=registration(t)) for t in (12, "12", 12, "12"))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 200, 200, 201]


async def test_get_trade_shape(client: Client) -> None:
    await client.post("/dtms/trade/enable", json=registration(7))
    resp = await client.get("/dtms/trade/7")
    assert resp.status == 200
    body = await resp.json()
    assert body["ticket"] == 7
    assert body["state"] == "HEALTHY"
    assert body["defensive"] is False
    assert body["last_action"] is None
    assert body["warnings"] == []
    info = body["trade_info"]
    assert (info["symbol"], info["direction"], info["entry_price"], info["volume"]) == (
        "XAUUSD",
        "buy",
        2000.0,
        1.0,
    )
    assert (info["stop_loss"], info["take_profit"]) == (1990.0, 2020.0)


async def test_unknown_trade_is_404_with_json(client: Client) -> None:
    resp = await client.get("/dtms/trade/77")
    assert resp.status == 404
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert (body["error"], body["ticket"], body["success"]) == ("trade not found", 77, False)


async def test_batch_returns_known_and_unknown(client: Client) -> None:
    for ticket in (1, 2):
        await client.post("/dtms/trade/enable", json=registration(ticket))
    resp = await client.get("/dtms/trades", params={"tickets": "1,2,3"})
    assert resp.status == 200
    body = await resp.json()
    assert set(body["trades"]) == {"1", "2"}
    assert body["unknown"] == [3]
    one = body["trades"]["1"]
    assert one["ticket"] == 1
    assert one["state"] == "HEALTHY"
    assert one["defensive"] is False
    # the original's keys, and the mark of the trade's history (docs/dtms.md §9)
    assert set(one) == {"ticket", "state", "defensive", "score", "updated_at", "history_mark"}


@pytest.mark.parametrize("tickets", ["1,x", "1,-2", "0", "1.5", ",,,", "1+x"])
async def test_batch_with_a_bad_ticket_list_is_400_naming_tickets(
    client: Client, tickets: str
) -> None:
    resp = await client.get("/dtms/trades", params={"tickets": tickets})
    assert resp.status == 400
    assert (await resp.json())["field"] == "tickets"


async def test_batch_over_the_limit_is_400(make_client: object) -> None:
    client = await make_client(max_batch_tickets=3)  # type: ignore[operator]
    resp = await client.get("/dtms/trades", params={"tickets": "1,2,3,4"})
    assert resp.status == 400
    assert "at most 3" in (await resp.json())["message"]


async def test_delete_unregisters(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    await client.post("/dtms/trade/enable", json=registration(7))
    with caplog.at_level("INFO", logger="dtms_plugin.server"):
        resp = await client.delete("/dtms/trade/7")
    assert "ticket 7 unregistered (DELETE): no longer managed" in caplog.messages
    assert resp.status == 200
    assert await resp.json() == {"ticket": 7, "unregistered": True, "success": True}
    assert (await client.get("/dtms/trade/7")).status == 404
    assert (await client.delete("/dtms/trade/7")).status == 404
    strategy = service_of(client).strategy
    assert isinstance(strategy, ScriptedStrategy)
    assert strategy.unregistered == [7]
    # registering again is a first registration
    assert (await client.post("/dtms/trade/enable", json=registration(7))).status == 201


async def test_status_counts_per_state(client: Client, world: World) -> None:
    await client.post("/dtms/trade/enable", json=registration(1))
    await client.post("/dtms/trade/enable", json=registration(2))
    body = await (await client.get("/dtms/status")).json()
    assert body["trades"] == 2
    assert body["states"]["HEALTHY"] == 2
    assert body["states"]["HEDGED"] == 0
    assert body["engine"]["running"] is True
    assert body["engine"]["strategy"] == "scripted"
    assert body["engine"]["engine_time"] == world.now().isoformat()


async def test_health_is_200_while_the_engine_runs(client: Client) -> None:
    resp = await client.get("/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "healthy"
    assert body["engine_running"] is True
    assert body["monitor"]["cycles"] >= 1


async def test_engine_moves_a_trade_and_the_api_shows_it(client: Client, world: World) -> None:
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    await client.post("/dtms/trade/enable", json=registration(ticket, entry=entry))
    assert (await (await client.get(f"/dtms/trade/{ticket}")).json())["state"] == "HEALTHY"

    world.broker.set_price("XAUUSD", entry - 10.0)  # adverse move
    await service_of(client).run_cycle()

    body = await (await client.get(f"/dtms/trade/{ticket}")).json()
    assert body["state"] == "WARNING_L2"
    assert body["defensive"] is True
    assert body["score"] == -5.0
    assert body["last_action"]["kind"] == "tighten_sl"
    assert body["last_action"]["status"] == "done"
    assert body["updated_at"] == world.now().isoformat()
    assert body["trade_info"]["deadlines"] == {"flat": None, "recovery": None}
    position = world.broker.position(ticket)
    assert position is not None
    assert position.stop_loss == pytest.approx(entry - 11.0)

    batch = await (await client.get("/dtms/trades", params={"tickets": str(ticket)})).json()
    assert batch["trades"][str(ticket)]["defensive"] is True
    history = await (await client.get("/dtms/actions", params={"ticket": str(ticket)})).json()
    kinds = [(e["type"], e.get("kind") or e.get("to")) for e in history["actions"]]
    assert kinds == [("action", "tighten_sl"), ("state_change", "WARNING_L2")]
    status = await (await client.get("/dtms/status")).json()
    assert status["states"]["WARNING_L2"] == 1


async def test_actions_limit_and_filter(client: Client, world: World) -> None:
    tickets = [open_position(world) for _ in range(3)]
    for t in tickets:
        await client.post("/dtms/trade/enable", json=registration(t, entry=world.price("XAUUSD")))
    world.broker.set_price("XAUUSD", world.price("XAUUSD") - 10.0)
    await service_of(client).run_cycle()
    everything = await (await client.get("/dtms/actions")).json()
    assert everything["ticket"] is None
    assert len(everything["actions"]) == 6
    last_two = await (await client.get("/dtms/actions", params={"limit": "2"})).json()
    assert last_two["actions"] == everything["actions"][-2:]
    bad = await client.get("/dtms/actions", params={"limit": "0"})
    assert bad.status == 400
    assert (await bad.json())["field"] == "limit"
    bad_ticket = await client.get("/dtms/actions", params={"ticket": "abc"})
    assert (await bad_ticket.json())["field"] == "ticket"


async def test_account_defensive_mode_makes_every_open_trade_defensive(
    client: Client, world: World
) -> None:
    from datetime import timedelta

    await client.post("/dtms/trade/enable", json=registration(1))
    batch = await (await client.get("/dtms/trades", params={"tickets": "1"})).json()
    assert batch["account_mode"] is None
    assert batch["trades"]["1"]["defensive"] is False

    until = world.now() + timedelta(hours=1)
    service_of(client).store.put_account_mode(until, "daily loss limit")
    batch = await (await client.get("/dtms/trades", params={"tickets": "1"})).json()
    mode = {"defensive": True, "until": until.isoformat(), "reason": "daily loss limit"}
    assert batch["account_mode"] == mode
    assert batch["trades"]["1"] == {**batch["trades"]["1"], "state": "HEALTHY", "defensive": True}
    single = await (await client.get("/dtms/trade/1")).json()
    assert single["defensive"] is True
    status = await (await client.get("/dtms/status")).json()
    assert status["account_mode"]["defensive"] is True

    service_of(client).store.put_account_mode(world.now(), "expired")  # until == now: over
    batch = await (await client.get("/dtms/trades", params={"tickets": "1"})).json()
    assert batch["account_mode"] is None
    assert batch["trades"]["1"]["defensive"] is False


async def test_another_direction_or_symbol_for_a_live_trade_is_409_naming_the_field(
    client: Client,
) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(30))).status == 201
    for field, value in (("direction", "sell"), ("symbol", "EURUSD")):
        resp = await client.post("/dtms/trade/enable", json=registration(30, **{field: value}))
        assert resp.status == 409
        body = await resp.json()
        assert body["error"] == "conflicting registration"
        assert body["field"] == field
        assert "ticket 30" in body["message"]
    stored = service_of(client).store.get_record(30)
    assert stored["direction"] == "buy" and stored["symbol"] == "XAUUSD"
    # the same trade again is still simply already registered
    assert (await client.post("/dtms/trade/enable", json=registration(30))).status == 200


async def test_a_closed_ticket_registered_for_a_new_position_is_a_new_trade(
    client: Client,
) -> None:
    opened = "2026-01-05T10:00:00Z"
    assert (
        await client.post("/dtms/trade/enable", json=registration(31, opened_at=opened))
    ).status == 201
    store = service_of(client).store
    closed = {**store.get_record(31), "state": "CLOSED"}
    store.put_record(31, closed)
    # the same closed trade registered again: not a new one, and not defended either
    same = await client.post("/dtms/trade/enable", json=registration(31, opened_at=opened))
    assert same.status == 409 and (await same.json())["state"] == "CLOSED"
    assert store.get_record(31) == closed
    # a closed trade is not live: another direction is a new position, not a conflict
    later = "2026-02-01T09:00:00Z"
    again = await client.post(
        "/dtms/trade/enable", json=registration(31, opened_at=later, direction="sell")
    )
    assert again.status == 201
    body = await again.json()
    assert body["already_registered"] is False and body["state"] == "HEALTHY"
    assert store.get_record(31)["opened_at"] == "2026-02-01T09:00:00+00:00"
    assert store.archived(31) == [closed]
    # another entry price alone (no opening time sent) is a new position too
    store.put_record(31, {**store.get_record(31), "state": "CLOSED"})
    third = await client.post("/dtms/trade/enable", json=registration(31, entry=2100.0))
    assert third.status == 201
    assert len(store.archived(31)) == 2


async def test_another_direction_alone_is_another_position(client: Client) -> None:
    """Same ticket, entry and opening time, the other side: a new trade (the engine used
    to take it for the closed one and keep no record: 422, and the old record gone)."""
    opened = "2026-01-05T10:00:00Z"
    buy = registration(32, opened_at=opened)
    assert (await client.post("/dtms/trade/enable", json=buy)).status == 201
    report = {"reason": "take_profit", "profit": 5.0}
    assert (await client.post("/dtms/trade/32/closed", json=report)).status == 200
    store = service_of(client).store
    closed = store.get_record(32)
    assert closed["state"] == "CLOSED"
    sell = registration(32, opened_at=opened, direction="sell", stop_loss=2010.0)
    again = await client.post("/dtms/trade/enable", json=sell)
    assert again.status == 201, await again.text()
    assert store.get_record(32)["direction"] == "sell"
    assert [r["direction"] for r in store.archived(32)] == ["buy"]
    got = await client.get("/dtms/trade/32")
    assert got.status == 200 and (await got.json())["state"] == "HEALTHY"
