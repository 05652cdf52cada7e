"""``[plugin.dtms] created_status``: a first registration is a 201 by default, and a 200
when set so, as the original DTMS answered it. Several of the original's clients test for
a 200 before they read ``success``: its bot's poller (``auto_enable_dtms_protection_async``)
logs "DTMS API returned status 201" and leaves the trade untracked, to register it again
on its next pass, and its test scripts fail the registration. Each test sends what such a
client sends, against a real server on loopback, and checks the answer against the
OpenAPI document, which states both codes.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors

from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]

#: what the bot's poller sends for an open position (its JSON body, levels 0 -> None)
POLLED = {
    "symbol": "XAUUSD",
    "direction": "BUY",
    "entry": 2000.0,
    "stop_loss": 1990.0,
    "take_profit": None,
    "volume": 0.1,
    "ticket": 5101,
    "action": "enable",
}


async def poll_once(client: Client, body: dict[str, Any], tracked: set[int]) -> str:
    """One pass of the bot's poller over one position: tracked on a 200 whose body says
    ``success``; any other status is a warning, and the position is tried again."""
    resp = await client.post("/dtms/trade/enable", json=body)
    answer = await resp.json()
    doc = document()
    responses = doc["paths"]["/dtms/trade/enable"]["post"]["responses"]
    schema = responses[str(resp.status)]["content"]["application/json"]["schema"]
    assert errors(answer, schema, doc) == [], answer
    if resp.status == 200:
        if answer.get("success"):
            tracked.add(body["ticket"])
            return "tracked"
        return f"success=False: {answer.get('error', 'Unknown error')}"
    return f"DTMS API returned status {resp.status}"


async def test_the_bots_poller_tracks_a_first_registration_with_created_status_200(
    make_client: Any,
) -> None:
    client: Client = await make_client(created_status=200)
    tracked: set[int] = set()
    assert await poll_once(client, POLLED, tracked) == "tracked"
    first = await (await client.get("/dtms/trade/5101")).json()
    assert first["state"] == "HEALTHY"
    resp = await client.post("/dtms/trade/enable", json=POLLED)
    again = await resp.json()
    assert (resp.status, again["already_registered"], again["success"]) == (200, True, True)
    assert tracked == {5101}


async def test_by_default_the_poller_sees_a_201_and_does_not_track(make_client: Any) -> None:
    """Why the setting exists: the trade is registered, the poller believes it is not."""
    client: Client = await make_client()
    tracked: set[int] = set()
    assert await poll_once(client, POLLED, tracked) == "DTMS API returned status 201"
    assert tracked == set()
    assert (await client.get("/dtms/trade/5101")).status == 200  # registered all the same
    # its next pass: the repeat is a 200 already_registered, and then it tracks it
    assert await poll_once(client, POLLED, tracked) == "tracked"


async def test_the_phase_6_script_passes_with_created_status_200(make_client: Any) -> None:
    """The original's end-to-end script: registration (``status_code == 200``), success,
    idempotency, the trade queried back."""
    client: Client = await make_client(created_status=200)
    data = {
        "ticket": 999999999,
        "symbol": "XAUUSD",
        "direction": "BUY",
        "entry": 2500.0,
        "volume": 0.01,
        "stop_loss": 2490.0,
        "take_profit": 2510.0,
    }
    first = await client.post("/dtms/trade/enable", json=data)
    assert first.status == 200
    body = await first.json()
    assert (body["success"], body["already_registered"]) == (True, False)
    second = await client.post("/dtms/trade/enable", json=data)
    assert second.status == 200 and (await second.json())["already_registered"] is True
    info = await (await client.get("/dtms/trade/999999999")).json()
    assert info["success"] and not info.get("error") and info["trade_info"]["state"]


@pytest.mark.parametrize(("created_status", "expected"), [(201, 201), (200, 200)])
async def test_a_batch_items_status_is_the_same(
    make_client: Any, created_status: int, expected: int
) -> None:
    client: Client = await make_client(created_status=created_status)
    items = [{**POLLED, "ticket": 5201}, {**POLLED, "ticket": 5201}]
    body = await (await client.post("/dtms/trades", json={"trades": items})).json()
    statuses = [(r["outcome"], r["status"]) for r in body["results"]]
    assert statuses == [("registered", expected), ("already_registered", 200)]
