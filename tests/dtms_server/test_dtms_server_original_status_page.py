"""The original DTMS's status page (its main API's ``/dtms/status`` page, which fetches
``/dtms/status`` and ``/dtms/engine`` of this server every ten seconds) over the real
local engine, on a real server on loopback: its scripts are emulated here, as a browser
runs them.

``loadActiveTrades`` draws one card per key of ``engine_info.last_fast_check`` (its
``Object.keys``) and shows ``new Date(value * 1000)``: an ISO text there drew one card per
character. ``loadDTMSStatus`` shows ``performance.fast_checks_total``,
``deep_checks_total``, ``actions_executed`` and ``state_transitions`` (``|| 0``): absent,
they read 0 however busy the engine was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import (
    World,
    falling_path,
    open_position,
    registration,
    service_of,
    wavy_path,
)

from dtms_plugin.server.openapi import document
from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]


def _js_number(value: Any) -> float:
    """JavaScript's ``(value ? value : 0) * 1000 / 1000``: a falsy value is 0, a text is
    read as a number ("2" is 2)."""
    if not value:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def active_trade_cards(engine_info: dict[str, Any]) -> list[tuple[str, float, float]]:
    """``loadActiveTrades``: each card's ticket, its "Last Fast Check" and "Last Deep
    Check" (Unix seconds, as the page passes them to ``new Date(… * 1000)``)."""
    fast = engine_info.get("last_fast_check") or {}
    deep = engine_info.get("last_deep_check") or {}
    # JavaScript's Object.keys: a map's keys, a text's indices
    keys = list(fast) if isinstance(fast, dict) else [str(i) for i in range(len(fast))]

    def at(checks: Any, key: str) -> Any:
        return checks.get(key) if isinstance(checks, dict) else checks[int(key)]

    return [(key, _js_number(at(fast, key)), _js_number(at(deep, key))) for key in keys]


def performance_shown(dtms_status: dict[str, Any]) -> dict[str, Any]:
    """``loadDTMSStatus``: the four figures of its "Performance Metrics" card."""
    perf = dtms_status.get("performance") or {}
    names = ("fast_checks_total", "deep_checks_total", "actions_executed", "state_transitions")
    return {name: perf.get(name) or 0 for name in names}


async def _get(client: Client, path: str) -> Any:
    """The body of a 200, checked against the OpenAPI document's schema for it."""
    resp = await client.get(path, headers={"Origin": "http://localhost:8000"})
    assert resp.status == 200, path
    body = await resp.json()
    doc = document()
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    assert errors(body, schema["schema"], doc) == [], (path, body)
    return body


async def test_the_status_page_shows_each_trade_and_the_engines_work(make_client: Any) -> None:
    base = wavy_path(2000.0, 1000)  # enough M15 bars for the engine's warm-up
    world = World({"XAUUSD": base + falling_path(base[-1], 200, step=1.5)}, visible=1000)
    client: Client = await make_client(
        world=world,
        strategy_factory=default_strategy_factory,
        cors_origins=("http://localhost:8000",),
    )
    service = service_of(client)
    ticket = open_position(world)
    entry = world.price("XAUUSD")
    body = registration(ticket, entry=entry, stop_loss=entry - 20.0, take_profit=None)
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    cycles = 0
    for _ in range(40):  # down the ladder: actions and state changes
        world.step()
        await service.run_cycle()
        cycles += 1
        view = await (await client.get(f"/dtms/trade/{ticket}")).json()
        if view["state"] == "HEDGED":
            break
    assert view["state"] == "HEDGED"
    # a trade registered since the last cycle: on the page, not checked yet; a closed one:
    # not on it
    late = open_position(world)
    assert (await client.post("/dtms/trade/enable", json=registration(late))).status == 201
    gone = open_position(world)
    assert (await client.post("/dtms/trade/enable", json=registration(gone))).status == 201
    assert (await client.post(f"/dtms/trade/{gone}/closed", json={"reason": "tp"})).ok

    engine = (await _get(client, "/dtms/engine"))["engine_info"]
    now = world.now().timestamp()  # the engine's clock: the world's
    cards = active_trade_cards(engine)
    assert [c[0] for c in cards] == [str(ticket), str(late)]
    (_, fast, deep), (_, late_fast, late_deep) = cards
    assert fast == now and 0 < deep <= fast  # scored on a closed bar of this run
    assert (late_fast, late_deep) == (0, 0)  # null: the page shows no time yet
    assert engine["active_trades_count"] == len(cards)

    status = (await _get(client, "/dtms/status"))["dtms_status"]
    history = (await (await client.get("/dtms/actions?limit=1000")).json())["actions"]
    actions = [e for e in history if e["type"] == "action"]
    changes = [e for e in history if e["type"] == "state_change"]
    shown = performance_shown(status)
    assert shown["fast_checks_total"] == cycles  # one evaluation of the trade per cycle
    assert 0 < shown["deep_checks_total"] <= cycles
    # the ladder's three actions and three steps down, and the reported close
    assert (shown["actions_executed"], len(actions)) == (3, 3)
    assert (shown["state_transitions"], len(changes)) == (4, 4)
    perf = status["performance"]
    uptime_hours = (datetime.now(UTC) - service.started_at).total_seconds() / 3600
    assert perf["fast_checks_per_hour"] >= round(cycles / uptime_hours, 2) > 0
    assert perf["deep_checks_per_hour"] <= perf["fast_checks_per_hour"]
