"""The original DTMS server's clients work unchanged (docs/dtms.md §9): each test sends what
one of them sends and reads what it reads, against a real server on loopback."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, open_position, registration, service_of

Client = TestClient[web.Request, web.Application]


async def test_the_bots_poller_body_with_an_action_key_and_null_levels(client: Client) -> None:
    body = {
        "action": "enable",
        "ticket": 4101,
        "symbol": "XAUUSD",
        "direction": "buy",
        "entry": 2000.0,
        "volume": 0.1,
        "stop_loss": None,
        "take_profit": None,
    }
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201
    answer = await resp.json()
    assert answer["success"] is True  # the poller's test before it marks the trade done
    assert answer["summary"] == "DTMS protection enabled for ticket 4101"
    assert answer["already_registered"] is False
    info = answer["trade_info"]
    assert (info["stop_loss"], info["take_profit"], info["state"]) == (None, None, "HEALTHY")
    again = await (await client.post("/dtms/trade/enable", json=body)).json()
    assert (again["success"], again["already_registered"]) == (True, True)
    assert again["summary"] == "Trade 4101 already registered with DTMS"


async def test_the_phase_3_helpers_payload(client: Client) -> None:
    payload = {
        "ticket": 4102,
        "symbol": "XAUUSD",
        "direction": "SELL",
        "entry_price": 2001.5,
        "volume": 0.25,
        "stop_loss": 2011.5,
        "take_profit": 1981.5,
    }
    resp = await client.post("/dtms/trade/enable", json=payload)
    assert resp.status == 201
    answer = await resp.json()
    assert answer["success"] is True
    assert answer["trade_info"]["direction"] == "sell"
    assert answer["trade_info"]["entry_price"] == 2001.5


async def test_a_digit_string_ticket_is_the_same_trade(client: Client) -> None:
    first = await client.post("/dtms/trade/enable", json=registration("4103"))
    assert (first.status, (await first.json())["ticket"]) == (201, 4103)
    second = await (await client.post("/dtms/trade/enable", json=registration(4103))).json()
    assert second["already_registered"] is True
    assert (await (await client.get("/dtms/trade/4103")).json())["ticket"] == 4103


async def test_the_exit_manager_reads_top_level_state_and_defensive(
    client: Client, world: World
) -> None:
    await client.post("/dtms/trade/enable", json=registration(4104))
    body = await (await client.get("/dtms/trade/4104")).json()
    assert (body["success"], body["state"], body["defensive"]) == (True, "HEALTHY", False)
    assert body["summary"] == "Trade 4104 is in HEALTHY state with score n/a"
    world.broker.set_price("XAUUSD", 1990.0)  # 10 against: the scripted engine warns
    await service_of(client).run_cycle()
    body = await (await client.get("/dtms/trade/4104")).json()
    assert (body["state"], body["defensive"]) == ("WARNING_L2", True)
    assert body["summary"] == "Trade 4104 is in WARNING_L2 state with score -5"


async def test_the_api_proxy_reads_trade_info(client: Client, world: World) -> None:
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    await client.post("/dtms/trade/enable", json=registration(ticket, entry=entry))
    world.broker.set_price("XAUUSD", entry - 10.0)
    await service_of(client).run_cycle()
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert info["state"] == "WARNING_L2"
    assert info["current_score"] == -5.0
    assert info["warnings"] == ["price against the trade"]
    assert [a["kind"] for a in info["actions_taken"]] == ["tighten_sl"]


async def test_success_is_in_every_answer(client: Client) -> None:
    await client.post("/dtms/trade/enable", json=registration(4106))
    calls: list[tuple[str, str, dict[str, Any] | None, bool]] = [
        ("GET", "/health", None, True),
        ("GET", "/dtms/status", None, True),
        ("GET", "/dtms/trades", None, True),
        ("GET", "/dtms/trades?tickets=4106,9", None, True),
        ("GET", "/dtms/actions", None, True),
        ("GET", "/dtms/trade/4106", None, True),
        ("GET", "/dtms/trade/9", None, False),
        ("GET", "/dtms/trade/x", None, False),
        ("POST", "/dtms/trade/enable", {"ticket": 1}, False),
        ("PUT", "/dtms/status", None, False),
        ("GET", "/nowhere", None, False),
        ("DELETE", "/dtms/trade/4106", None, True),
    ]
    for method, path, body, ok in calls:
        resp = await client.request(method, path, json=body)
        assert (await resp.json())["success"] is ok, (method, path)
    bad = await client.post(
        "/dtms/trade/enable", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert (await bad.json())["success"] is False


async def test_the_status_tool_reads_dtms_status(client: Client) -> None:
    for ticket in (4201, 4202, 4203):
        await client.post("/dtms/trade/enable", json=registration(ticket))
    await client.post("/dtms/trade/4203/closed", json={"reason": "tp", "profit": 5.0})
    body = await (await client.get("/dtms/status")).json()
    assert (body["success"], body["summary"]) == (
        True,
        "DTMS system is active with 2 trades monitored",
    )
    status = body["dtms_status"]
    assert (status["system_active"], status["active_trades"]) == (True, 2)
    assert (status["trades_by_state"]["HEALTHY"], status["trades_by_state"]["CLOSED"]) == (2, 1)
    assert status["uptime"].endswith("s") and status["performance"]["cycles"] >= 1
    assert status["last_check"] == body["monitor"]["last_cycle_at"]


async def test_the_action_history_tool_reads_action_history(client: Client, world: World) -> None:
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    await client.post("/dtms/trade/enable", json=registration(ticket, entry=entry))
    world.broker.set_price("XAUUSD", entry - 10.0)
    await service_of(client).run_cycle()
    body = await (await client.get("/dtms/actions")).json()
    history = body["action_history"]
    assert body["total_actions"] == len(history) == len(body["actions"]) >= 2
    n = len(history)
    assert body["summary"] == f"Retrieved {n} recent DTMS actions from {n} total actions"
    moved = next(h for h in history if h["action_type"] == "tighten_sl")
    assert (moved["ticket"], moved["symbol"], moved["success"]) == (ticket, "XAUUSD", True)
    assert moved["timestamp"] and moved["details"]["code"] == "ok"
    change = next(h for h in history if h["action_type"] == "state_change")
    assert (change["details"]["from"], change["details"]["to"]) == ("HEALTHY", "WARNING_L2")
    empty = await (await client.get("/dtms/actions?ticket=999")).json()
    assert (empty["action_history"], empty["total_actions"]) == ([], 0)
    assert empty["summary"] == "No DTMS actions found in history"


async def test_the_action_history_tool_and_page_get_the_newest_ten_of_the_whole(
    client: Client, world: World
) -> None:
    """The chat tool and the status page ask ``GET /dtms/actions`` with no parameter, as
    the original answered it: its newest 10 entries, ``total_actions`` counting the whole
    history, and a summary saying both (``total_actions`` was the entries of the answer,
    and the default 100 entries: a chat tool's whole context)."""
    tickets = [open_position(world) for _ in range(7)]
    entry = world.price("XAUUSD")
    for ticket in tickets:
        await client.post("/dtms/trade/enable", json=registration(ticket, entry=entry))
    world.broker.set_price("XAUUSD", entry - 10.0)
    await service_of(client).run_cycle()  # each trade: a tighten_sl and a state change
    resp = await client.get("/dtms/actions")
    assert resp.status == 200  # the tool reads the body only then
    body = await resp.json()
    everything = (await (await client.get("/dtms/actions?limit=1000")).json())["actions"]
    assert len(everything) == 14
    assert (len(body["action_history"]), body["total_actions"]) == (10, 14)
    assert body["summary"] == "Retrieved 10 recent DTMS actions from 14 total actions"
    assert body["actions"] == everything[-10:]  # the newest, oldest first
    two = await (await client.get("/dtms/actions?limit=2")).json()
    assert (len(two["action_history"]), two["total_actions"]) == (2, 14)
    one = await (await client.get(f"/dtms/actions?ticket={tickets[0]}&limit=1")).json()
    assert (len(one["action_history"]), one["total_actions"]) == (1, 2)
    assert one["summary"] == "Retrieved 1 recent DTMS actions from 2 total actions"


async def test_the_health_check_reads_healthy(client: Client) -> None:
    body = await (await client.get("/health")).json()
    assert (body["status"], body["dtms_initialized"], body["dtms_available"]) == (
        "healthy",
        True,
        True,
    )
    assert body["timestamp"]


async def test_the_trade_info_tool_reads_the_original_keys(client: Client, world: World) -> None:
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    levels = {"stop_loss": entry + 10, "take_profit": entry - 20}
    body = registration(ticket, entry=entry, direction="SELL", **levels)
    await client.post("/dtms/trade/enable", json=body)
    await service_of(client).run_cycle()
    info = (await (await client.get(f"/dtms/trade/{ticket}")).json())["trade_info"]
    assert (info["ticket"], info["symbol"], info["type"]) == (ticket, "XAUUSD", "SELL")
    assert (info["open_price"], info["sl"], info["tp"]) == (entry, entry + 10, entry - 20)
    assert (info["profit"], info["protection_active"]) == (None, True)
    assert info["state_entry_time"] is not None and "pnl_r" in info["performance"]
    assert "current_price" in info  # the last evaluation's price (this engine keeps none)
    closed = await client.post(f"/dtms/trade/{ticket}/closed", json={"reason": "sl", "profit": -7})
    info = (await closed.json())["trade_info"]
    assert (info["profit"], info["protection_active"]) == (-7, False)


async def test_an_unregistration_in_the_history_names_its_symbol(client: Client) -> None:
    """The trade's record is gone once unregistered, so its ``action_history`` entry had
    ``symbol: null``: the entry carries the symbol itself."""
    assert (await client.post("/dtms/trade/enable", json=registration(61))).status == 201
    assert (await client.delete("/dtms/trade/61")).status == 200
    body = await (await client.get("/dtms/actions?ticket=61")).json()
    (gone,) = [e for e in body["action_history"] if e["action_type"] == "unregistered"]
    assert (gone["ticket"], gone["symbol"]) == (61, "XAUUSD")
    every = await (await client.get("/dtms/actions")).json()
    assert all(e["symbol"] == "XAUUSD" for e in every["action_history"] if e["ticket"] == 61)
